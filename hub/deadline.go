package hub

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// sharedDeadline hands out contexts that end between wait and wait+slack
// after they were asked for: one context (one runtime timer) serves every
// call made during a slack-long period. context.WithTimeout per call made a
// timer for every stored message and stopped it again, 7-8% of the CPU of a
// flood (docs/performance.md); a store call only needs its wait bounded, not
// to the nanosecond. The contexts are never cancelled early: each ends when
// its deadline passes, which also releases its timer.
type sharedDeadline struct {
	wait, slack time.Duration
	cur         atomic.Pointer[deadlineCtx]
	mu          sync.Mutex // one renewal at a time
}

type deadlineCtx struct {
	ctx   context.Context
	until time.Time // handed out until then
}

// get returns a context whose deadline is wait to wait+slack from now.
func (s *sharedDeadline) get() context.Context {
	now := time.Now()
	if d := s.cur.Load(); d != nil && now.Before(d.until) {
		return d.ctx
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.cur.Load(); d != nil && now.Before(d.until) {
		return d.ctx
	}
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(s.wait+s.slack))
	context.AfterFunc(ctx, cancel) // releases the context's resources once it has ended
	s.cur.Store(&deadlineCtx{ctx: ctx, until: now.Add(s.slack)})
	return ctx
}
