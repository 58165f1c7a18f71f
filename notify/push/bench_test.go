package push

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/internal/pctl"
)

// BenchmarkPushLatency measures Notify -> the push endpoint on 127.0.0.1
// has received the request (before it verifies and decrypts), one
// notification at a time to one subscription: store read, queue hand-off,
// RFC 8291 encryption, VAPID JWT signing and the HTTP POST.
func BenchmarkPushLatency(b *testing.B) {
	f := setup(b, Config{MinGap: time.Nanosecond})
	f.subscribe(b, "alice", notifytest.NewBrowser(b, "laptop"))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		f.s.Notify(Notification{Type: MessageCreated, Visitor: fmt.Sprint("v", i), Name: "Ann", Text: "Do you ship to Norway?"})
		d := f.svc.Next(b)
		lat = append(lat, d.At.Sub(start))
		f.ended(b)
	}
	b.StopTimer()
	pctl.Report(b, lat)
}
