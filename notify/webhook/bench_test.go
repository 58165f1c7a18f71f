package webhook

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/pctl"
)

// BenchmarkWebhookLatency measures MessageCreated -> the receiver on
// 127.0.0.1 has read the signed body, one event at a time.
func BenchmarkWebhookLatency(b *testing.B) {
	r := newReceiver(b)
	n, _ := start(b, Config{Endpoints: []Endpoint{{URL: r.URL, Secret: secret}}})
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		begin := time.Now()
		n.MessageCreated(Message{Offset: 1, Client: "v1", From: "client", CID: "c", Text: "Do you ship to Norway?", At: begin}, ann)
		h := r.next(b)
		lat = append(lat, h.At.Sub(begin))
	}
	b.StopTimer()
	pctl.Report(b, lat)
}
