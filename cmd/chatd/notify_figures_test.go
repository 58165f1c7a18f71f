package main

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// TestNotifyLatencyFigures measures, through a chatd child, the time from a
// visitor's send to the SMTP server reading the alert digest's DATA and to
// the push service receiving the (encrypted) push, one message at a time,
// with --alert-after, --alert-window and --push-gap at 1ms. It asserts no
// time; it prints the figures of docs/notifications.md#latency. Run it with
// CHATD_FIGURES=1 go test -run TestNotifyLatencyFigures -v ./cmd/chatd
func TestNotifyLatencyFigures(t *testing.T) {
	if os.Getenv("CHATD_FIGURES") != "1" {
		t.Skip("figures only: set CHATD_FIGURES=1")
	}
	n := 300
	r := startNotifyRig(t, "--msg-rate", "1000", "--msg-burst", "1000", "--push-gap", "1ms")
	r.subscribe(t, "bench")
	vis, _, _ := visitor(t, r.url(), "Ann")
	var mailLat, pushLat []time.Duration
	for i := range n {
		start := time.Now()
		vis.send("client:message", map[string]any{"cid": fmt.Sprint("c", i), "text": "Do you ship to Norway?"})
		vis.expect("client:message", nil)
		m := r.smtp.Next(t)
		r.smtp.Next(t) // the second recipient's copy
		p := r.push.Next(t)
		mailLat = append(mailLat, m.At.Sub(start))
		pushLat = append(pushLat, p.At.Sub(start))
		time.Sleep(2 * time.Millisecond) // the next message must come after the 1ms alert window (pacing, not synchronisation)
	}
	for _, f := range []struct {
		name string
		d    []time.Duration
	}{{"message -> alert digest DATA read", mailLat}, {"message -> push received", pushLat}} {
		s := slices.Clone(f.d)
		slices.Sort(s)
		at := func(p float64) time.Duration { return s[min(int(p*float64(len(s))), len(s)-1)] }
		t.Logf("%-36s n=%d p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms", f.name, len(s),
			ms(at(0.5)), ms(at(0.9)), ms(at(0.99)), ms(s[len(s)-1]))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
