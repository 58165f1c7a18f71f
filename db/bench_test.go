package db

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkInsert measures acknowledged inserts per second for each fsync
// policy and number of concurrent writers (-benchtime sets inserts in total).
func BenchmarkInsert(b *testing.B) {
	body := strings.Repeat("m", 80)
	who := make([]string, 1000)
	for i := range who {
		who[i] = "v" + strconv.Itoa(i)
	}
	for _, policy := range []string{"1s", "always", "never"} {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("fsync=%s/writers=%d", policy, writers), func(b *testing.B) {
				p, iv, _ := ParseSyncPolicy(policy)
				d, c := openNotes(b, b.TempDir(), Options{Sync: p, Interval: iv})
				defer d.Close()
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for w := 0; w < writers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							if _, err := c.Insert(context.Background(), note{Who: who[i%1000], Ref: strconv.FormatInt(i, 10), Body: body}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
				st := d.Stats()
				b.ReportMetric(float64(st.Ops)/float64(st.Commits), "docs/commit")
			})
		}
	}
}

// BenchmarkFindOne measures a lookup through a unique index.
func BenchmarkFindOne(b *testing.B) {
	d, c := openNotes(b, b.TempDir(), Options{Sync: SyncNever})
	defer d.Close()
	for i := 0; i < 10000; i++ {
		c.Insert(context.Background(), note{Who: fmt.Sprint("v", i%100), Ref: fmt.Sprint(i)})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.FindOne("ref", fmt.Sprint("v", i%100), fmt.Sprint(i%10000)); err != nil {
			b.Fatal(err)
		}
	}
}
