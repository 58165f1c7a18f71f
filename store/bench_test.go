package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
)

// writeFixture writes a data file holding visitors and msgs messages spread
// over them round-robin, in the store's own format, without going through a
// running store (so the benchmark process does not carry the writer's memory).
func writeFixture(tb testing.TB, dir string, visitors, msgs int) (ids []string) {
	tb.Helper()
	// Let the store create the schema record, then append records to its file.
	s, err := Open(dir, db.Options{Sync: db.SyncNever})
	if err != nil {
		tb.Fatal(err)
	}
	s.Close()
	f, err := os.OpenFile(filepath.Join(dir, "chatd.db"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	put := func(key string, v any) {
		raw, _ := json.Marshal(v)
		val := db.WrapValueForTest(key, string(raw))
		fmt.Fprintf(w, "*3\r\n$3\r\nset\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(key), key, len(val), val)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := 0; i < visitors; i++ {
		id := fmt.Sprintf("%016x", i+1)
		ids = append(ids, id)
		put("visitors:"+id, Visitor{ID: id, Name: "Visitor " + strconv.Itoa(i), TokenHash: HashToken(id), Created: now, LastSeen: now})
	}
	text := strings.Repeat("hello there ", 6)
	for n := 1; n <= msgs; n++ {
		m := Message{Offset: uint64(n), Client: ids[n%visitors], From: FromClient, CID: "c" + strconv.Itoa(n), Text: text, At: now}
		put("messages:"+db.SeqID(uint64(n)), m)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
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

// BenchmarkOpen1M opens a store holding 1M messages from 10k visitors and
// reports the time, the heap, and the process's resident memory against the file size.
func BenchmarkOpen1M(b *testing.B) {
	dir := b.TempDir()
	writeFixture(b, dir, 10000, 1_000_000)
	fi, _ := os.Stat(filepath.Join(dir, "chatd.db"))
	runtime.GC()
	debug.FreeOSMemory()
	base := rssKiB()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		s, err := Open(dir, db.Options{})
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss := rssKiB() - base
		b.ReportMetric(el.Seconds(), "s/open")
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(rss)/1024, "rss-MiB")
		b.ReportMetric(float64(rss*1024)/float64(fi.Size()), "rss/file")
		if s.MessageCount() != 1_000_000 {
			b.Fatalf("count %d", s.MessageCount())
		}
		s.Close()
	}
}

// BenchmarkMessagesOf reads the last messages of one visitor among 100k
// visitors (1M messages), as a reconnecting widget does.
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
		if err != nil || len(ms) != 5 {
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
