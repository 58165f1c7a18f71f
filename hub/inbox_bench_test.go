package hub

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/pctl"
	"github.com/chatd/chatd/store"
)

// BenchmarkPortalOpen100k measures what opening the portal costs the server
// with 100,000 visitors (every tenth wrote): admin:add until admin:counts,
// i.e. the first page of the list (500 visitors), the newest 1,000 messages
// and the counts. CHATD_BENCH_VISITORS changes the number of visitors.
func BenchmarkPortalOpen100k(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("CHATD_BENCH_VISITORS")); err == nil && v > 0 {
		n = v
	}
	ts := startServer(b, Config{})
	ctx := b.Context()
	for i := 0; i < n; i++ {
		v, _, err := ts.st.CreateVisitor(ctx, fmt.Sprintf("Visitor %d", i), map[string]string{"page": "https://shop.example/p"})
		if err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if _, _, err := ts.st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: "c", Text: "hello, is anyone there?"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	var ds []time.Duration
	for i := 0; i < b.N; i++ {
		for _, filter := range []string{"", "open", "unassigned"} {
			start := time.Now()
			w := ts.dial("a", "/ws/admin", nil)
			w.watch(evAdminCounts)
			w.send(evAdminAdd, map[string]any{"token": adminToken, "after": 0, "filter": filter})
			var list []listRow
			w.expect(evAdminList, &list)
			w.replayAll(evAdminMessages, evAdminReplayed)
			w.expect(evAdminCounts, nil)
			ds = append(ds, time.Since(start))
			if len(list) != listMax {
				b.Fatalf("filter %q: %d rows", filter, len(list))
			}
			w.close()
		}
	}
	b.StopTimer()
	pctl.Report(b, ds)
	b.ReportMetric(0, "ns/op")
}
