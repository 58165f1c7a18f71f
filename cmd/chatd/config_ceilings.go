package main

// Ceilings of the numeric flags. Each value sizes something chatd allocates
// or computes with: a send buffer is a channel of that many slots made for
// every socket (melody's MessageBufferSize; --send-buffer 100000000000000
// made every visitor socket panic "makechan: size out of range", a little
// less asks the kernel for terabytes), a queue is a channel made at start,
// --max-frame is multiplied by hub.HardFrameFactor, --compact-min-mb shifted
// into bytes, the pong wait is twice --ping-period: past these ceilings the
// result overflows, fails at the first visitor or exhausts memory, so the
// value is refused at startup with the range instead. Each ceiling is far
// above any deployment's need (docs/performance.md ran with --sockets-per-ip
// 20000 and --msg-burst 100000).
import "time"

// countCeilings holds the largest value of each positive integer flag
// (--max-text and --max-name: the store's own, store.CeilMaxText and CeilMaxName).
var countCeilings = map[string]int{
	"max-frame":           16 << 20,
	"msg-burst":           1 << 20,
	"sockets-per-visitor": 1 << 20,
	"sockets-per-ip":      1 << 20,
	"new-visitors-per-ip": 1 << 24,
	"send-buffer":         1 << 16,
	"admin-send-buffer":   1 << 20,
	"quota-visitor":       1<<31 - 1, // bytes per 24 hours; an int on every platform
	"quota-address":       1<<31 - 1,
	"compact-min-mb":      1 << 20, // 1 TiB
	"email-queue":         1 << 20,
	"webhook-attempts":    100,
	"webhook-queue":       1 << 20,
	"webhook-log":         10000, // all of it is one GET /api/webhooks answer
}

// maxPingPeriod is the longest --ping-period.
const maxPingPeriod = 24 * time.Hour

// checkCount refuses a value of integer flag name that is not positive or is
// above its ceiling (countCeilings; a name without one has none).
func checkCount(bad func(string, ...any), name string, v int) {
	if v <= 0 {
		bad("--%s %d: must be a positive number", name, v)
		return
	}
	if ceil, ok := countCeilings[name]; ok && v > ceil {
		bad("--%s %d: must be at most %d", name, v, ceil)
	}
}
