package notify

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Attempts: 6, Initial: 100 * time.Millisecond, Max: time.Second}
	for _, tc := range []struct {
		n        int
		min, max time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 200 * time.Millisecond, 400 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{5, 500 * time.Millisecond, time.Second}, // capped at Max
		{50, 500 * time.Millisecond, time.Second},
	} {
		for range 200 {
			if d := b.Delay(tc.n); d < tc.min || d > tc.max {
				t.Fatalf("Delay(%d) = %v, want within [%v, %v]", tc.n, d, tc.min, tc.max)
			}
		}
	}
	if d := (Backoff{}).Delay(1); d < 500*time.Millisecond || d > time.Second {
		t.Fatalf("default Delay(1) = %v, want 0.5s..1s", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{"120", 2 * time.Minute},
		{"-3", 0},
		{"1.5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := ParseRetryAfter("99999999999999999999", now); got <= 0 {
		t.Errorf("a huge Retry-After must stay positive (the queue caps it), got %v", got)
	}
}

func TestHostAndStripURLHideThePath(t *testing.T) {
	secret := "T000/B000/XXXXsecretXXXX"
	raw := "https://hooks.example:8443/services/" + secret + "?token=abc"
	if got := Host(raw); got != "https://hooks.example:8443" {
		t.Fatalf("Host = %q", got)
	}
	if got := Host("::not a url"); got != "(invalid url)" {
		t.Fatalf("Host(bad) = %q", got)
	}
	// A real *url.Error from net/http, to a port nothing listens on.
	req, _ := http.NewRequest("POST", "http://127.0.0.1:1/services/"+secret+"?token=abc", nil)
	_, err := http.DefaultClient.Do(req)
	if err == nil {
		t.Skip("something listens on 127.0.0.1:1")
	}
	if !strings.Contains(err.Error(), secret) {
		t.Fatalf("premise: net/http's error carries the URL, got %v", err)
	}
	s := StripURL(err)
	if strings.Contains(s.Error(), secret) || strings.Contains(s.Error(), "token=") {
		t.Fatalf("StripURL kept the path: %v", s)
	}
	if !strings.Contains(s.Error(), "http://127.0.0.1:1") {
		t.Fatalf("StripURL lost the host: %v", s)
	}
	plain := errors.New("plain")
	if StripURL(plain) != plain {
		t.Fatal("StripURL changed an error without a URL")
	}
}

func TestPermanentAndRetryAfterWrap(t *testing.T) {
	base := errors.New("boom")
	if !IsPermanent(Permanent(base)) || IsPermanent(base) || Permanent(nil) != nil {
		t.Fatal("Permanent/IsPermanent disagree")
	}
	if !errors.Is(Permanent(base), base) || !errors.Is(RetryAfter(base, time.Second), base) {
		t.Fatal("wrappers must keep the cause for errors.Is")
	}
	if RetryAfter(nil, time.Second) != nil {
		t.Fatal("RetryAfter(nil) must be nil")
	}
}

// result is what Done told about one item.
type result struct {
	item     int
	attempts int
	err      error
}

func startQueue(t *testing.T, cfg QueueConfig, h Handler[int]) (*Queue[int], chan result, context.CancelFunc, *sync.WaitGroup) {
	t.Helper()
	res := make(chan result, 100)
	q := NewQueue(cfg, h, func(item, attempts int, err error) { res <- result{item, attempts, err} })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { q.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return q, res, cancel, &wg
}

func next(t *testing.T, res chan result) result {
	t.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no result within 10s")
		return result{}
	}
}

func TestQueueRetriesThenDelivers(t *testing.T) {
	var c Counters
	fails := map[int]int{1: 0, 2: 2, 3: 9} // item -> failing attempts before success
	var mu sync.Mutex
	seen := map[int]int{}
	h := func(ctx context.Context, item, attempt int) error {
		mu.Lock()
		defer mu.Unlock()
		seen[item]++
		if seen[item] != attempt {
			t.Errorf("item %d: attempt %d, handler called %d times", item, attempt, seen[item])
		}
		if attempt <= fails[item] {
			return errors.New("receiver down")
		}
		return nil
	}
	q, res, _, _ := startQueue(t, QueueConfig{Channel: "test", Metrics: &c,
		Backoff: Backoff{Attempts: 4, Initial: time.Millisecond, Max: 2 * time.Millisecond}}, h)
	for i := 1; i <= 3; i++ {
		if !q.Offer(i) {
			t.Fatalf("Offer(%d) refused", i)
		}
	}
	want := map[int]result{1: {1, 1, nil}, 2: {2, 3, nil}, 3: {3, 4, errors.New("receiver down")}}
	for range 3 {
		r := next(t, res)
		w := want[r.item]
		if r.attempts != w.attempts || (r.err == nil) != (w.err == nil) {
			t.Errorf("item %d: attempts %d err %v, want attempts %d err %v", r.item, r.attempts, r.err, w.attempts, w.err)
		}
	}
	if s, f, r := c.Get("test", Sent), c.Get("test", Failed), c.Get("test", Retried); s != 2 || f != 1 || r != 2+3 {
		t.Fatalf("counts sent %d failed %d retried %d, want 2 1 5", s, f, r)
	}
}

func TestQueuePermanentErrorIsNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		is    func(error) bool
		count Outcome
	}{
		{"permanent", Permanent(errors.New("550 no such user")), IsPermanent, Failed},
		{"refused", RefusedErr(errors.New("endpoint not on a public address")), IsRefused, Refused},
		{"refused, wrapped", fmt.Errorf("attempt: %w", RefusedErr(errors.New("not public"))), IsRefused, Refused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Counters
			calls := 0
			q, res, _, _ := startQueue(t, QueueConfig{Channel: "p", Metrics: &c, Backoff: Backoff{Attempts: 5, Initial: time.Millisecond}},
				func(ctx context.Context, item, attempt int) error {
					calls++
					return tc.err
				})
			q.Offer(1)
			r := next(t, res)
			if r.attempts != 1 || !tc.is(r.err) || calls != 1 {
				t.Fatalf("attempts %d err %v calls %d, want one attempt given up", r.attempts, r.err, calls)
			}
			want := map[Outcome]uint64{tc.count: 1}
			if got := c.Snapshot()["p"]; !maps.Equal(got, want) {
				t.Fatalf("counts %v, want %v", got, want)
			}
		})
	}
}

func TestQueueHonoursRetryAfterButCapsIt(t *testing.T) {
	// The backoff alone would wait an hour; the receiver's Retry-After of 1ms
	// is used instead, so the item is delivered before the test's deadline.
	q, res, _, _ := startQueue(t, QueueConfig{Channel: "r", Backoff: Backoff{Attempts: 3, Initial: time.Hour, Max: time.Hour}},
		func(ctx context.Context, item, attempt int) error {
			if attempt == 1 {
				return RetryAfter(errors.New("429"), time.Millisecond)
			}
			return nil
		})
	q.Offer(1)
	if r := next(t, res); r.err != nil || r.attempts != 2 {
		t.Fatalf("got %+v", r)
	}
	// And a Retry-After of a day is capped at Max (2ms here).
	q2, res2, _, _ := startQueue(t, QueueConfig{Channel: "r2", Backoff: Backoff{Attempts: 3, Initial: time.Millisecond, Max: 2 * time.Millisecond}},
		func(ctx context.Context, item, attempt int) error {
			if attempt == 1 {
				return RetryAfter(errors.New("429"), 24*time.Hour)
			}
			return nil
		})
	q2.Offer(1)
	if r := next(t, res2); r.err != nil || r.attempts != 2 {
		t.Fatalf("got %+v", r)
	}
}

func TestQueueFullDropsWithoutBlocking(t *testing.T) {
	var c Counters
	block := make(chan struct{})
	started := make(chan struct{}, 1)
	q, res, _, _ := startQueue(t, QueueConfig{Channel: "d", Size: 2, Metrics: &c},
		func(ctx context.Context, item, attempt int) error {
			select {
			case started <- struct{}{}:
			default:
			}
			select {
			case <-block:
			case <-ctx.Done():
			}
			return nil
		})
	q.Offer(1)
	<-started // the worker holds item 1; the queue is empty again
	if !q.Offer(2) || !q.Offer(3) {
		t.Fatal("the queue refused items below its size")
	}
	for i := 4; i <= 10; i++ {
		if q.Offer(i) {
			t.Fatalf("Offer(%d) accepted beyond the size", i)
		}
		if r := next(t, res); r.item != i || !errors.Is(r.err, ErrDropped) || r.attempts != 0 {
			t.Fatalf("drop of %d reported as %+v", i, r)
		}
	}
	if c.Get("d", Dropped) != 7 || q.Len() != 2 {
		t.Fatalf("dropped %d queued %d, want 7 and 2", c.Get("d", Dropped), q.Len())
	}
	close(block)
	for range 3 {
		if r := next(t, res); r.err != nil {
			t.Fatalf("item %d: %v", r.item, r.err)
		}
	}
}

func TestQueueStopReportsWaitingItemsAndRefusesNewOnes(t *testing.T) {
	var c Counters
	started := make(chan struct{}, 1)
	q, res, cancel, wg := startQueue(t, QueueConfig{Channel: "s", Size: 4, Metrics: &c,
		Backoff: Backoff{Attempts: 5, Initial: time.Hour, Max: time.Hour}},
		func(ctx context.Context, item, attempt int) error {
			if item == 1 {
				started <- struct{}{}
				return errors.New("down") // then waits an hour to retry
			}
			return nil
		})
	q.Offer(1)
	<-started
	q.Offer(2)
	q.Offer(3)
	cancel()
	wg.Wait() // Run returned although item 1 was waiting out an hour
	got := map[int]error{}
	for range 3 {
		r := next(t, res)
		got[r.item] = r.err
	}
	for i := 1; i <= 3; i++ {
		if !errors.Is(got[i], ErrStopped) {
			t.Errorf("item %d: %v, want ErrStopped", i, got[i])
		}
	}
	if q.Offer(4) {
		t.Fatal("Offer accepted after Run returned")
	}
	if r := next(t, res); !errors.Is(r.err, ErrDropped) {
		t.Fatalf("late offer: %+v", r)
	}
	if c.Get("s", Dropped) != 4 || c.Get("s", Retried) != 1 {
		t.Fatalf("counts %v", c.Snapshot())
	}
}
