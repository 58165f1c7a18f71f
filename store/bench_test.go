package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
)

// writeFixture fills a store in dir with visitors and msgs messages shaped
// like the seed peer's generator (../shared/seed-peer/gen-db.js): message m of
// visitor c has text "lg <time>000000 <m>" and cid "c<c>-<m>"; messages go to
// the visitors round-robin. It writes through the store itself, as chatd
// does, then compacts the file, so the file is what chatd keeps at rest.
func writeFixture(tb testing.TB, dir string, visitors, msgs int) (ids []string) {
	tb.Helper()
	s, err := Open(dir, db.Options{Sync: db.SyncNever})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < visitors; i++ {
		v, _, err := s.CreateVisitor(ctx, "v"+strconv.Itoa(i), nil)
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	perVisitor := (msgs + visitors - 1) / visitors
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).UnixMilli()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := int(next.Add(1)) - 1
				if n >= msgs {
					return
				}
				c, m := n%visitors, n/visitors+1
				t := now - int64(perVisitor-m)*1000
				text := fmt.Sprintf("lg %d000000 %d", t, m)
				if _, _, err := s.AddMessage(ctx, NewMessage{Client: ids[c], From: FromClient, CID: fmt.Sprintf("c%d-%d", c, m), Text: text}); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatal(err)
	}
	if err := s.d.Shrink(); err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	return ids
}

func rssKiB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return n
		}
	}
	return 0
}

// openReport is what a child process measured when opening a store.
type openReport struct {
	OpenS    float64 `json:"open_s"`
	CPUS     float64 `json:"cpu_s"` // user + system CPU time of the process until open returned
	Messages int     `json:"messages"`
	RSSMiB   float64 `json:"rss_mib"`
	HeapMiB  float64 `json:"heap_mib"`
	// After the search index, which Open builds in the background, is ready:
	// time since Open began, the process's CPU time, RSS and heap in use.
	SearchS       float64 `json:"search_s"`
	SearchCPUS    float64 `json:"search_cpu_s"`
	SearchRSSMiB  float64 `json:"search_rss_mib"`
	SearchHeapMiB float64 `json:"search_heap_mib"`
}

// TestMain runs the open measurement as a child process (a fresh process
// carries nothing of the fixture writer, like the seed peer's load-db.js).
func TestMain(m *testing.M) {
	if dir := os.Getenv("CHATD_OPEN_CHILD"); dir != "" {
		os.Exit(openChild(dir))
	}
	os.Exit(m.Run())
}

func openChild(dir string) int {
	if p := os.Getenv("CHATD_OPEN_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	start := time.Now()
	s, err := Open(dir, db.Options{})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	el := time.Since(start)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r := openReport{OpenS: el.Seconds(), CPUS: cpu.Seconds(), Messages: s.MessageCount(), RSSMiB: float64(rssKiB()) / 1024, HeapMiB: float64(ms.HeapInuse) / (1 << 20)}
	<-s.search.ready
	r.SearchS = time.Since(start).Seconds()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	r.SearchCPUS = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	r.SearchRSSMiB, r.SearchHeapMiB = float64(rssKiB())/1024, float64(ms.HeapInuse)/(1<<20)
	json.NewEncoder(os.Stdout).Encode(r)
	if p := os.Getenv("CHATD_OPEN_HEAPPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	s.Close()
	return 0
}

// benchOpen writes a store of msgs messages from visitors visitors (kept in
// $CHATD_BENCH_FIXTURES when set, so later runs reuse it), then opens it b.N
// times, each in a fresh process, and reports the median open time, the
// process's resident memory after open, and the file size.
func benchOpen(b *testing.B, visitors, msgs int) {
	dir := b.TempDir()
	if cache := os.Getenv("CHATD_BENCH_FIXTURES"); cache != "" {
		dir = filepath.Join(cache, fmt.Sprintf("v%d-%dx%d", schemaVersion, visitors, msgs))
	}
	if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
		os.RemoveAll(dir)
		writeFixture(b, dir, visitors, msgs)
		os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600)
	}
	fi, err := os.Stat(filepath.Join(dir, "chatd.db"))
	if err != nil {
		b.Fatal(err)
	}
	debug.FreeOSMemory()
	b.ResetTimer()
	var reps []openReport
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CHATD_OPEN_CHILD="+dir)
		out, err := cmd.Output()
		var r openReport
		if err != nil || json.Unmarshal(out, &r) != nil {
			b.Fatalf("child: %v: %s", err, out)
		}
		if r.Messages != msgs {
			b.Fatalf("opened %d messages, want %d", r.Messages, msgs)
		}
		reps = append(reps, r)
	}
	b.StopTimer()
	med := func(f func(openReport) float64) float64 {
		v := make([]float64, len(reps))
		for i, r := range reps {
			v[i] = f(r)
		}
		for i := range v {
			for j := i + 1; j < len(v); j++ {
				if v[j] < v[i] {
					v[i], v[j] = v[j], v[i]
				}
			}
		}
		return v[len(v)/2]
	}
	b.ReportMetric(med(func(r openReport) float64 { return r.OpenS }), "s/open")
	b.ReportMetric(med(func(r openReport) float64 { return r.CPUS }), "cpu-s/open")
	b.ReportMetric(med(func(r openReport) float64 { return r.RSSMiB }), "rss-MiB")
	b.ReportMetric(med(func(r openReport) float64 { return r.HeapMiB }), "heap-MiB")
	b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkOpen1M opens a store holding 1M messages from 10k visitors (the
// seed peer's "gen-db.js ... 10000 100").
func BenchmarkOpen1M(b *testing.B) { benchOpen(b, 10_000, 1_000_000) }

// BenchmarkOpen100k and BenchmarkOpen10M show how opening grows with the history.
func BenchmarkOpen100k(b *testing.B) { benchOpen(b, 1_000, 100_000) }

func BenchmarkOpen10M(b *testing.B) { benchOpen(b, 100_000, 10_000_000) }

// BenchmarkMessagesOf reads the messages after offset 500,000 of one visitor
// among 100k visitors (1M messages, about 5 each), as a reconnecting widget does.
func BenchmarkMessagesOf(b *testing.B) {
	dir := b.TempDir()
	ids := writeFixture(b, dir, 100_000, 1_000_000)
	s, err := Open(dir, db.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := ids[i%len(ids)]
		ms, err := s.MessagesOf(id, 500_000, 0)
		// About 5: the fixture's writers run concurrently, so offsets near
		// 500,000 are not in the order the messages were made.
		if err != nil || len(ms) < 4 || len(ms) > 6 || ms[0].Offset <= 500_000 || ms[0].Client != id {
			b.Fatalf("%d messages, %v", len(ms), err)
		}
	}
}

// BenchmarkAddMessage is the chat-level durable insert with the default policy.
func BenchmarkAddMessage(b *testing.B) {
	s, err := Open(b.TempDir(), db.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	v, _, _ := s.CreateVisitor(context.Background(), "Ann", nil)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			cid := fmt.Sprintf("%p-%d", pb, i)
			if _, _, err := s.AddMessage(context.Background(), NewMessage{Client: v.ID, From: FromClient, CID: cid, Text: "hello"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
