package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/rs/zerolog"
)

// After a burst (a few thousand visitors connecting at once, a reconnect
// storm, a large replay) the Go runtime holds memory nothing uses: free heap
// pages, which it returns to the OS only down to its heap goal (after a burst
// the goal lies above what it holds), and the garbage made since its last
// collection, which waits for the next one (an idle process makes none).
// Both stay resident (up to 3.3 KiB per idle visitor socket after 10,000
// connected, docs/performance.md). memoryReturner watches the runtime's
// metrics and, once the process is quiet (no collection ran during the last
// period, so little is being allocated) and there is much to gain, collects
// and hands the pages back with debug.FreeOSMemory. Under steady load
// collections keep running and it does nothing.

const (
	memoryCheckEvery = 5 * time.Second
	// memoryFreeMin is how many reclaimable heap bytes make a return worth
	// its cost (a full collection: tens of milliseconds of CPU).
	memoryFreeMin = 32 << 20
)

// memorySample names the runtime/metrics values memoryReturner reads.
var memorySample = []string{
	"/memory/classes/heap/free:bytes",     // free pages not yet returned to the OS
	"/memory/classes/heap/released:bytes", // free pages returned
	"/memory/classes/heap/objects:bytes",  // objects, live or not yet found dead
	"/gc/heap/live:bytes",                 // objects the last collection found live
	"/gc/cycles/total:gc-cycles",
}

// worthReturning decides: no collection ran during the last period (quiet),
// and the free pages plus what was allocated since the last collection
// (objects - live) are at least minFree bytes and a quarter of the objects.
func worthReturning(quiet bool, free, objects, live, minFree uint64) bool {
	gain := free
	if objects > live {
		gain += objects - live
	}
	return quiet && gain >= minFree && gain >= objects/4
}

// runMemoryReturner checks every period until ctx ends and returns the free
// pages when worthReturning says so; it returns when ctx ends.
func runMemoryReturner(ctx context.Context, every time.Duration, minFree uint64, log zerolog.Logger) {
	s := make([]metrics.Sample, len(memorySample))
	for i, n := range memorySample {
		s[i].Name = n
	}
	t := time.NewTicker(every)
	defer t.Stop()
	metrics.Read(s)
	cycles := s[4].Value.Uint64()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(s)
		free, objects, live, now := s[0].Value.Uint64(), s[2].Value.Uint64(), s[3].Value.Uint64(), s[4].Value.Uint64()
		quiet := now == cycles
		cycles = now
		if !worthReturning(quiet, free, objects, live, minFree) {
			continue
		}
		start := time.Now()
		debug.FreeOSMemory()
		metrics.Read(s)
		cycles = s[4].Value.Uint64()
		log.Debug().Uint64("free_bytes", free).Uint64("allocated_since_gc_bytes", objects-min(live, objects)).
			Uint64("released_bytes", s[1].Value.Uint64()).Dur("took_ms", time.Since(start)).
			Msg("returned free heap pages to the OS")
	}
}
