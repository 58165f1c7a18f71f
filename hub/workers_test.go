package hub

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitIdle waits until w has n idle workers, failing after a deadline.
func waitIdle(t *testing.T, w *workers, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.idle.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("idle workers %d, want %d", w.idle.Load(), n)
		}
		time.Sleep(time.Millisecond) // polling a counter, with a deadline
	}
}

// TestWorkers checks that run returns only after its function did, that a
// worker is reused, that at most maxIdleWorkers stay after a burst, and that
// close ends the idle ones.
func TestWorkers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		burst int
		idle  int64
	}{
		{"one at a time", 1, 1},
		{"burst below the cap", 40, 40},
		{"burst above the cap", maxIdleWorkers + 100, maxIdleWorkers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorkers()
			defer w.close()
			release := make(chan struct{})
			var started, finished sync.WaitGroup
			var done atomic.Int64
			started.Add(tc.burst)
			finished.Add(tc.burst)
			for i := 0; i < tc.burst; i++ {
				go func() {
					defer finished.Done()
					w.run(func() {
						started.Done()
						<-release
						done.Add(1)
					})
				}()
			}
			started.Wait() // every task runs at once: one worker each
			close(release)
			finished.Wait()
			if got := done.Load(); got != int64(tc.burst) {
				t.Fatalf("run returned before its function: %d of %d done", got, tc.burst)
			}
			waitIdle(t, w, tc.idle)
			// A later task goes to an idle worker: no new one is kept.
			ran := false
			w.run(func() { ran = true })
			if !ran {
				t.Fatal("run returned before its function")
			}
			waitIdle(t, w, tc.idle)
			w.close()
			waitIdle(t, w, 0)
			ran = false
			w.run(func() { ran = true }) // after close: still runs
			if !ran {
				t.Fatal("run after close did not run its function")
			}
		})
	}
}
