// Package pctl reports latency percentiles from benchmarks: collect one
// duration per operation, then Report adds p50, p90, p99 and max (in
// milliseconds) to the benchmark's output.
package pctl

import (
	"slices"
	"testing"
	"time"
)

// Report sorts ds and reports its percentiles on b as p50-ms, p90-ms,
// p99-ms and max-ms (nearest-rank method).
func Report(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(at(0.50)), "p50-ms")
	b.ReportMetric(ms(at(0.90)), "p90-ms")
	b.ReportMetric(ms(at(0.99)), "p99-ms")
	b.ReportMetric(ms(s[len(s)-1]), "max-ms")
}
