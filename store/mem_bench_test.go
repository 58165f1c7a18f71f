package store

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/chatd/chatd/db"
)

// BenchmarkHeapPerMessage reports the live heap one stored message costs
// (document, index entries, buntdb's item), by text size: the figure behind
// "memory grows with history" in docs/operations.md. Run with -benchtime=1x.
func BenchmarkHeapPerMessage(b *testing.B) {
	const n = 20000
	for _, size := range []int{10, 100, 1000, 4096} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			for range b.N {
				s, err := Open(b.TempDir(), db.Options{Sync: db.SyncNever})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				var ids []string
				for i := range 100 {
					v, _, _ := s.CreateVisitor(ctx, fmt.Sprint("v", i), nil)
					ids = append(ids, v.ID)
				}
				heap := func() uint64 {
					runtime.GC()
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					return m.HeapAlloc
				}
				before := heap()
				text := strings.Repeat("x", size)
				for i := range n {
					m := NewMessage{Client: ids[i%len(ids)], From: FromClient, CID: fmt.Sprintf("c%08d", i), Text: text}
					if _, _, err := s.AddMessage(ctx, m); err != nil {
						b.Fatal(err)
					}
				}
				grew := heap() - before
				b.ReportMetric(float64(grew)/n, "heapB/msg")
				b.ReportMetric(float64(grew)/n-float64(size), "overheadB/msg")
				s.Close()
			}
		})
	}
}
