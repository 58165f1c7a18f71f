package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Latency histogram: log-linear buckets over microseconds, 128 sub-buckets per
// power of two (relative error < 1%), recorded with atomics only so thousands
// of reader goroutines can record without a lock or an allocation.
const (
	subBits    = 7
	subCount   = 1 << subBits
	histPowers = 40
	histSize   = subCount + histPowers*subCount
)

// hist counts durations; the zero value is ready to use.
type hist struct {
	counts [histSize]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

func bucketOf(us uint64) int {
	if us < subCount {
		return int(us)
	}
	e := bits.Len64(us) - (subBits + 1)
	i := subCount + e*subCount + int(us>>uint(e)) - subCount
	if i >= histSize {
		return histSize - 1
	}
	return i
}

// bucketValue is the middle of bucket i, in microseconds.
func bucketValue(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := (i - subCount) / subCount
	sub := uint64((i-subCount)%subCount + subCount)
	return sub<<uint(e) + (uint64(1)<<uint(e))/2
}

// record adds one duration.
func (h *hist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d/time.Microsecond))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// quantile returns the q-quantile (0 < q <= 1); 0 when nothing was recorded.
func (h *hist) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			d := time.Duration(bucketValue(i)) * time.Microsecond
			if m := time.Duration(h.max.Load()); d > m {
				d = m
			}
			return d
		}
	}
	return time.Duration(h.max.Load())
}

// Latency is a percentile summary, in milliseconds, of one histogram.
type Latency struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// summary returns the percentile summary of h.
func (h *hist) summary() Latency {
	return Latency{
		Count: h.n.Load(),
		P50:   ms(h.quantile(0.50)),
		P90:   ms(h.quantile(0.90)),
		P99:   ms(h.quantile(0.99)),
		Max:   ms(time.Duration(h.max.Load())),
	}
}
