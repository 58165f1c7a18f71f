package mail

import (
	"context"
	"time"
)

// scheduler drives a timed state machine: flush(now) returns the mails due
// at now and when to look again (zero: only when woken). Events poke wake.
type scheduler struct {
	wake  chan struct{}
	flush func(now time.Time) ([]Message, time.Time)
	send  func(Message) bool
}

func newScheduler(flush func(time.Time) ([]Message, time.Time), send func(Message) bool) *scheduler {
	return &scheduler{wake: make(chan struct{}, 1), flush: flush, send: send}
}

// poke wakes run without blocking (one pending wake is enough).
func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *scheduler) run(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		msgs, next := s.flush(time.Now())
		for _, m := range msgs {
			s.send(m)
		}
		var tc <-chan time.Time
		if !next.IsZero() {
			t.Reset(time.Until(next))
			tc = t.C
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tc:
		}
		t.Stop()
	}
}
