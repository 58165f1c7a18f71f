package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Typing load (steady --typing): a fraction of the visitors send
// client:typing while the others chat, as visitors typing in the widget do:
// each typing visitor sends typingRate events a second, four "typing" with
// the text so far for one "stopped". The server throttles and fans them out
// to the admin sockets; the steady report's delivery percentiles show what
// that costs the messages.

// typeLoad sends typing events from the first frac of vs at rate events per
// second each, until d has passed or ctx ends, and returns how many it sent.
func typeLoad(ctx context.Context, vs []*visitor, frac, rate float64, d time.Duration) uint64 {
	n := int(frac * float64(len(vs)))
	if n < 1 || rate <= 0 {
		return 0
	}
	typers := vs[:n]
	var sent atomic.Uint64
	interval := time.Duration(float64(time.Second) / (rate * float64(n)))
	start := time.Now()
	end := start.Add(d)
	timer := time.NewTimer(0)
	defer timer.Stop()
	frames := [][]byte{
		[]byte(`{"type":"client:typing","data":{"typing":true,"text":"Do you"}}`),
		[]byte(`{"type":"client:typing","data":{"typing":true,"text":"Do you ship"}}`),
		[]byte(`{"type":"client:typing","data":{"typing":true,"text":"Do you ship to"}}`),
		[]byte(`{"type":"client:typing","data":{"typing":true,"text":"Do you ship to Norway"}}`),
		[]byte(`{"type":"client:typing","data":{"typing":false}}`),
	}
	for k := 0; ; k++ {
		due := start.Add(interval * time.Duration(k))
		if !due.Before(end) {
			return sent.Load()
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return sent.Load()
			case <-timer.C:
			}
		}
		v := typers[k%n]
		f := frames[(k/n)%len(frames)]
		v.wmu.Lock()
		v.c.SetWriteDeadline(time.Now().Add(v.b.cfg.timeout))
		err := v.c.WriteMessage(websocket.TextMessage, f)
		v.wmu.Unlock()
		if err == nil {
			sent.Add(1)
		}
	}
}
