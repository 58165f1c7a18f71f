package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/internal/pctl"
)

// chatVocabulary makes n pseudo-words (syllables), ranked: word i is the
// (i+1)-th most frequent, following Zipf's law as natural text does.
func chatVocabulary(n int) []string {
	syl := []string{"ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "da", "ve", "shi", "ro", "gu", "fe", "bo", "an", "el", "or", "um", "ix"}
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var b strings.Builder
		for k := 1 + r.IntN(4); k > 0; k-- {
			b.WriteString(syl[r.IntN(len(syl))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// searchFixture fills a store with msgs chat-like messages (3 to 15 words of
// a 20,000-word Zipf vocabulary, one in ten with an order number) from
// msgs/100 visitors, through AddMessage.
func searchFixture(b *testing.B, msgs int) (*Store, []string) {
	b.Helper()
	s, err := Open(b.TempDir(), db.Options{Sync: db.SyncNever})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	vocab := chatVocabulary(20000)
	ctx := context.Background()
	nv := max(msgs/100, 1)
	ids := make([]string, nv)
	for i := range ids {
		v, _, err := s.CreateVisitor(ctx, fmt.Sprintf("Visitor %d", i), nil)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = v.ID
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			zipf := rand.NewZipf(rand.New(rand.NewPCG(uint64(w), 9)), 1.1, 1, uint64(len(vocab)-1))
			var t strings.Builder
			for {
				n := int(next.Add(1)) - 1
				if n >= msgs {
					return
				}
				t.Reset()
				for k := 3 + r.IntN(13); k > 0; k-- {
					t.WriteString(vocab[zipf.Uint64()])
					t.WriteByte(' ')
				}
				if n%10 == 0 {
					t.WriteString("order " + strconv.Itoa(10000+n))
				}
				m := NewMessage{Client: ids[n%nv], From: FromClient, CID: "c" + strconv.Itoa(n), Text: t.String()}
				if _, _, err := s.AddMessage(ctx, m); err != nil {
					failed.Store(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return s, vocab
}

// BenchmarkSearch1M searches 1,000,000 messages with queries of every kind
// (common, middling and rare words, two words, an order number, a word no
// message has, a visitor's name) and reports the latency percentiles over
// all of them, and the index's size.
func BenchmarkSearch1M(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("CHATD_SEARCH_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	s, vocab := searchFixture(b, n)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st := s.SearchStats()
	r := rand.New(rand.NewPCG(3, 4))
	var queries []string
	for i := 0; i < 100; i++ {
		queries = append(queries,
			vocab[r.IntN(20)],                              // among the most common words
			vocab[100+r.IntN(1900)],                        // middling
			vocab[5000+r.IntN(15000)],                      // rare
			vocab[r.IntN(200)]+" "+vocab[200+r.IntN(2000)], // two words
			"order "+strconv.Itoa(10000+10*r.IntN(n/10)),   // an order number
			"zzqx"+strconv.Itoa(i),                         // no message has it
			"visitor "+strconv.Itoa(r.IntN(max(n/100, 1))), // a name, and words
		)
	}
	kinds := []string{"common", "middling", "rare", "two words", "order number", "absent", "name"}
	ctx := context.Background()
	b.ResetTimer()
	var ds []time.Duration
	byKind := make([][]time.Duration, len(kinds))
	for i := 0; i < b.N; i++ {
		for j, q := range queries {
			start := time.Now()
			if _, _, err := s.Search(ctx, q, 20); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			ds = append(ds, d)
			byKind[j%len(kinds)] = append(byKind[j%len(kinds)], d)
		}
	}
	b.StopTimer()
	pctl.Report(b, ds)
	for k, d := range byKind {
		slices.Sort(d)
		b.Logf("%-12s p50 %6.2f ms  p99 %6.2f ms", kinds[k], float64(d[len(d)/2])/1e6, float64(d[len(d)*99/100])/1e6)
	}
	b.ReportMetric(float64(st.Postings), "postings")
	b.ReportMetric(float64(st.Bytes)/(1<<20), "index-MiB")
	b.ReportMetric(float64(st.Bytes)/float64(st.Postings), "B/posting")
	b.ReportMetric(float64(st.Bytes+searchBuckets*32)/float64(n), "B/message")
	b.ReportMetric(0, "ns/op")
}
