package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/rs/zerolog"
)

// The Go runtime keeps the heap's free pages after a burst (a few thousand
// visitors connecting at once, a reconnect storm, a large replay) and returns
// them to the OS only down to its heap goal, which after a burst lies above
// what the process holds: the pages stay resident while nothing uses them
// (3.3 KiB per idle visitor socket after 10,000 connected, docs/performance.md).
// memoryReturner watches the runtime's metrics and, once the process is quiet
// (no collection ran during the last period, so little is being allocated)
// and the free pages are many, hands them back with debug.FreeOSMemory. Under
// steady load collections keep running and it does nothing.

const (
	memoryCheckEvery = 5 * time.Second
	// memoryFreeMin is how many free, unreturned heap bytes make a return
	// worth its cost (a full collection: tens of milliseconds of CPU).
	memoryFreeMin = 32 << 20
)

// memorySample names the runtime/metrics values memoryReturner reads.
var memorySample = []string{
	"/memory/classes/heap/free:bytes",     // free pages not yet returned to the OS
	"/memory/classes/heap/released:bytes", // free pages returned
	"/memory/classes/heap/objects:bytes",  // pages of objects, live or not yet swept
	"/gc/cycles/total:gc-cycles",
}

// worthReturning decides: no collection ran during the last period (quiet),
// and the free pages are at least minFree bytes and a quarter of the pages
// holding objects.
func worthReturning(quiet bool, free, objects, minFree uint64) bool {
	return quiet && free >= minFree && free >= objects/4
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
	cycles := s[3].Value.Uint64()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(s)
		free, objects, now := s[0].Value.Uint64(), s[2].Value.Uint64(), s[3].Value.Uint64()
		quiet := now == cycles
		cycles = now
		if !worthReturning(quiet, free, objects, minFree) {
			continue
		}
		start := time.Now()
		debug.FreeOSMemory()
		metrics.Read(s)
		cycles = s[3].Value.Uint64()
		log.Debug().Uint64("free_bytes", free).Uint64("released_bytes", s[1].Value.Uint64()).
			Dur("took", time.Since(start)).Msg("returned free heap pages to the OS")
	}
}
