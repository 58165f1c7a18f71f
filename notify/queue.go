package notify

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// QueueConfig configures a Queue. Only Channel is required.
type QueueConfig struct {
	// Channel names the channel in metrics and logs: "email", "push", "webhook".
	Channel string
	// Size is how many items may wait (default 256). Offer drops beyond it.
	Size int
	// Workers deliver concurrently (default 1: in order). A worker waiting
	// out a backoff holds its slot, so a dead receiver costs at most Workers
	// goroutines and Size queued items, never the caller.
	Workers int
	// Backoff bounds the attempts of one item.
	Backoff Backoff
	// Metrics counts every outcome (default: Nop).
	Metrics Metrics
	Logger  zerolog.Logger
}

// Handler makes one delivery attempt of item; attempt counts from 1. The
// context is cancelled when the queue stops. Return nil when delivered, an
// error wrapped by Permanent to give up, by RetryAfter to choose the delay,
// and any other error to retry with the backoff. Errors are logged: they
// must not contain secrets or message text.
type Handler[T any] func(ctx context.Context, item T, attempt int) error

// Done is told once how each item ended: err is nil when delivered, the last
// attempt's error when given up, ErrDropped when never attempted, or
// ErrStopped when the queue stopped while it waited to be retried.
type Done[T any] func(item T, attempts int, err error)

// Errors passed to Done.
var (
	ErrDropped = errors.New("dropped: queue full")
	ErrStopped = errors.New("stopped before delivery")
)

// Queue delivers items with a fixed set of workers, retrying each with
// exponential backoff. Offer never blocks: when Size items already wait, the
// new one is dropped and counted. Safe for concurrent use.
type Queue[T any] struct {
	cfg  QueueConfig
	h    Handler[T]
	done Done[T]
	ch   chan T

	mu      sync.RWMutex // Offer holds it shared; stopping holds it alone
	stopped bool
	dropLog zerolog.Logger // sampled: a flood of drops logs once per 10 s
}

// NewQueue returns a queue that calls h for each item once Run runs; done
// may be nil.
func NewQueue[T any](cfg QueueConfig, h Handler[T], done Done[T]) *Queue[T] {
	if cfg.Size <= 0 {
		cfg.Size = 256
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Metrics == nil {
		cfg.Metrics = Nop{}
	}
	cfg.Backoff = cfg.Backoff.withDefaults()
	cfg.Logger = cfg.Logger.With().Str("channel", cfg.Channel).Logger()
	return &Queue[T]{cfg: cfg, h: h, done: done, ch: make(chan T, cfg.Size),
		dropLog: cfg.Logger.Sample(&zerolog.BurstSampler{Burst: 1, Period: 10 * time.Second})}
}

// Offer queues item without blocking. It returns false, counts Dropped and
// tells Done ErrDropped when the queue is full or has stopped.
func (q *Queue[T]) Offer(item T) bool {
	q.mu.RLock()
	ok := false
	if !q.stopped {
		select {
		case q.ch <- item:
			ok = true
		default:
		}
	}
	q.mu.RUnlock()
	if !ok {
		q.cfg.Metrics.Count(q.cfg.Channel, Dropped)
		q.dropLog.Warn().Int("queued", len(q.ch)).Msg("notification dropped: queue full or stopped")
		if q.done != nil {
			q.done(item, 0, ErrDropped)
		}
	}
	return ok
}

// Len is the number of items waiting (not those being attempted).
func (q *Queue[T]) Len() int { return len(q.ch) }

// Run delivers until ctx is done, then returns once every worker has
// returned. Items still waiting are counted Dropped and told ErrStopped;
// later Offers drop. Call Run once.
func (q *Queue[T]) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range q.cfg.Workers {
		wg.Go(func() { q.work(ctx) })
	}
	wg.Wait()
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	for {
		select {
		case item := <-q.ch:
			q.cfg.Metrics.Count(q.cfg.Channel, Dropped)
			if q.done != nil {
				q.done(item, 0, ErrStopped)
			}
		default:
			return
		}
	}
}

func (q *Queue[T]) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case item := <-q.ch:
			if ctx.Err() != nil { // both were ready: stopping wins, Run reports the item
				q.cfg.Metrics.Count(q.cfg.Channel, Dropped)
				q.finish(item, 0, ErrStopped)
				return
			}
			q.deliver(ctx, item)
		}
	}
}

func (q *Queue[T]) deliver(ctx context.Context, item T) {
	b := q.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := q.h(ctx, item, attempt)
		if err == nil {
			q.cfg.Metrics.Count(q.cfg.Channel, Sent)
			q.finish(item, attempt, nil)
			return
		}
		if ctx.Err() != nil {
			q.cfg.Metrics.Count(q.cfg.Channel, Dropped)
			q.finish(item, attempt, ErrStopped)
			return
		}
		if IsGone(err) {
			q.cfg.Metrics.Count(q.cfg.Channel, Gone)
			q.cfg.Logger.Info().Err(err).Int("attempts", attempt).Msg("notification receiver gone, removed")
			q.finish(item, attempt, err)
			return
		}
		if IsRefused(err) {
			q.cfg.Metrics.Count(q.cfg.Channel, Refused)
			q.cfg.Logger.Warn().Err(err).Int("attempts", attempt).Msg("notification refused: receiver address not allowed")
			q.finish(item, attempt, err)
			return
		}
		if IsPermanent(err) || attempt >= b.Attempts {
			q.cfg.Metrics.Count(q.cfg.Channel, Failed)
			q.cfg.Logger.Warn().Err(err).Int("attempts", attempt).Bool("permanent", IsPermanent(err)).Msg("notification failed")
			q.finish(item, attempt, err)
			return
		}
		q.cfg.Metrics.Count(q.cfg.Channel, Retried)
		wait := b.Delay(attempt)
		var ra retryAfter
		if errors.As(err, &ra) && ra.d > 0 {
			wait = min(ra.d, b.Max)
		}
		// One line per retry, so a receiver that is down shows in the log at
		// once, not only after the last attempt (minutes later). The error
		// carries no message text or secret (see Handler).
		q.cfg.Logger.Warn().Err(err).Int("attempt", attempt).Int("attempts", b.Attempts).Dur("retry_in_ms", wait).Msg("notification attempt failed, retrying")
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			q.cfg.Metrics.Count(q.cfg.Channel, Dropped)
			q.finish(item, attempt, ErrStopped)
			return
		case <-t.C:
		}
	}
}

func (q *Queue[T]) finish(item T, attempts int, err error) {
	if q.done != nil {
		q.done(item, attempts, err)
	}
}
