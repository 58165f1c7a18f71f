package main

import (
	"bytes"
	"context"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// syncBuffer is a log sink the returner's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func released() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var keep [][]byte

func TestWorthReturning(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name                         string
		quiet                        bool
		free, objects, live, minFree uint64
		want                         bool
	}{
		{"quiet after a burst: free pages", true, 40 * mib, 100 * mib, 100 * mib, 32 * mib, true},
		{"quiet after a burst: garbage since the last collection", true, 0, 140 * mib, 100 * mib, 32 * mib, true},
		{"free pages and garbage together", true, 20 * mib, 115 * mib, 100 * mib, 32 * mib, true},
		{"collections running", false, 40 * mib, 100 * mib, 100 * mib, 32 * mib, false},
		{"too little to gain", true, 20 * mib, 110 * mib, 100 * mib, 32 * mib, false},
		{"small next to the heap", true, 40 * mib, 200 * mib, 200 * mib, 32 * mib, false},
		{"live above objects (freed since)", true, 31 * mib, 90 * mib, 100 * mib, 32 * mib, false},
		{"exactly the thresholds", true, 32 * mib, 128 * mib, 128 * mib, 32 * mib, true},
	} {
		if got := worthReturning(tc.quiet, tc.free, tc.objects, tc.live, tc.minFree); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestMemoryReturner: after a burst of garbage, with live memory keeping the
// runtime's own goal above the free pages (so the runtime alone keeps them),
// a quiet process gets its free pages returned.
func TestMemoryReturner(t *testing.T) {
	const mib = 1 << 20
	for i := 0; i < 24; i++ {
		keep = append(keep, make([]byte, mib))
	}
	defer func() { keep = nil }()
	garbage := make([][]byte, 0, 16)
	for i := 0; i < 16; i++ {
		garbage = append(garbage, make([]byte, mib))
	}
	for i := range garbage {
		garbage[i][0] = 1
	}
	garbage = nil
	runtime.GC()
	before := released()
	var logs syncBuffer
	log := zerolog.New(&logs).Level(zerolog.DebugLevel)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); runMemoryReturner(ctx, 20*time.Millisecond, 4*mib, log) }()
	end := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "returned free heap pages") {
		if time.Now().After(end) {
			t.Fatal("free pages were not returned within 10 s of quiet")
		}
		time.Sleep(10 * time.Millisecond) // polling the log, bounded by the deadline
	}
	if got := released(); got < before+8*mib {
		t.Fatalf("released %d bytes more, want at least 8 MiB", got-before)
	}
	cancel()
	<-done
}
