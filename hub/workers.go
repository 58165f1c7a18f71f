package hub

import (
	"sync"
	"sync/atomic"
	"time"
)

// workerIdle is how long a handler goroutine waits for the next frame before
// it ends (and its grown stack is freed).
const workerIdle = 5 * time.Second

// maxIdleWorkers bounds the handler goroutines kept waiting: after a burst
// (thousands of visitors connecting at once) the rest end at once instead of
// holding their stacks for workerIdle.
const maxIdleWorkers = 256

// workers runs the hub's frame handlers on goroutines that are kept between
// frames while frames keep coming.
//
// A socket's read goroutine (melody's readPump) must not run the handler
// itself: the store calls go deep, and a stack grown by them would stay with
// the idle socket for its whole life (8 KiB instead of 4 KiB per socket). A
// fresh goroutine per frame avoids that, but starts with a small stack that
// the runtime grows by copying, several times per frame: 9% of chatd's CPU
// under `chatbench flood`. A kept worker has its stack grown already; one
// that found no frame for workerIdle ends, so an idle hub holds none.
//
// The read goroutine waits for its frame's handler (run returns when fn
// has), so a socket's frames are still handled one at a time, in order.
type workers struct {
	work chan func()  // unbuffered: a send succeeds only to an idle worker
	idle atomic.Int64 // workers waiting for a task
	mu   sync.Mutex
	stop chan struct{}
	done bool
}

func newWorkers() *workers {
	return &workers{work: make(chan func()), stop: make(chan struct{})}
}

// run calls fn on an idle worker, or on a new one, and returns once fn has
// returned.
func (w *workers) run(fn func()) {
	done := make(chan struct{})
	task := func() {
		defer close(done)
		fn()
	}
	select {
	case w.work <- task:
	default:
		w.mu.Lock()
		if w.done {
			w.mu.Unlock()
			go task() // stopping: no worker is kept
			<-done
			return
		}
		w.mu.Unlock()
		go w.loop(task)
	}
	<-done
}

// loop runs task, then further tasks until none came for workerIdle, enough
// other workers wait, or the pool is closed.
func (w *workers) loop(task func()) {
	task()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		if w.idle.Add(1) > maxIdleWorkers {
			w.idle.Add(-1)
			return
		}
		select {
		case task = <-w.work:
			w.idle.Add(-1)
			task()
			idle.Reset(workerIdle)
		case <-idle.C:
			w.idle.Add(-1)
			return
		case <-w.stop:
			w.idle.Add(-1)
			return
		}
	}
}

// close ends the idle workers; a worker running a task ends after it. Later
// run calls use a goroutine each.
func (w *workers) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.done = true
		close(w.stop)
	}
}
