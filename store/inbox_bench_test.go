package store

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
)

// inboxFixture fills a store with n visitors; every tenth wrote a message,
// and a third of those were resolved.
func inboxFixture(b *testing.B, n int) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), db.Options{Sync: db.SyncNever})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	for i := 0; i < n; i++ {
		v, _, err := s.CreateVisitor(ctx, fmt.Sprintf("Visitor %d", i), map[string]string{"page": "https://shop.example/p"})
		if err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if _, _, err := s.AddMessage(ctx, NewMessage{Client: v.ID, From: FromClient, CID: "c", Text: "hello"}); err != nil {
				b.Fatal(err)
			}
			if i%30 == 0 {
				s.SetStatus(ctx, v.ID, StatusResolved, time.Time{})
			}
		}
	}
	return s
}

// BenchmarkConversationsPage100k reads the first page (500 visitors) of
// each filter over 100,000 visitors, as admin:add does.
func BenchmarkConversationsPage100k(b *testing.B) {
	s := inboxFixture(b, 100_000)
	for _, f := range []string{FilterAll, FilterOpen, FilterResolved, FilterMine} {
		b.Run(f, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				page, _, _, err := s.ConversationsPage(Filter{Kind: f, Me: "alice"}, "", 500)
				if err != nil || (f != FilterMine && len(page) != 500) {
					b.Fatal(len(page), err)
				}
			}
		})
	}
}

// BenchmarkInboxIndexHeap reports the heap the inbox index takes per visitor.
func BenchmarkInboxIndexHeap(b *testing.B) {
	const n = 100_000
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		x := newInbox()
		for j := 0; j < n; j++ {
			id := fmt.Sprintf("%016x", j)
			x.change(id, true, func(e *inboxEntry) {
				e.seen = int64(j)
				if j%10 == 0 {
					e.last = uint64(j)
				}
			})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/visitor")
		runtime.KeepAlive(x)
	}
}
