package store

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
)

// TestWriteCompactionFixture writes, into the directory named by
// CHATD_COMPACTION_FIXTURE, a data file that is mostly superseded records,
// for measuring chatd while it compacts (docs/performance.md):
// 10k visitors and 200k messages live (about 55 MiB), and each visitor
// rewritten 5 times with 2 KB of meta before its last version (about
// 115 MiB of garbage). Skipped without the variable.
func TestWriteCompactionFixture(t *testing.T) {
	dir := os.Getenv("CHATD_COMPACTION_FIXTURE")
	if dir == "" {
		t.Skip("set CHATD_COMPACTION_FIXTURE=DIR to write the fixture")
	}
	ids := writeFixture(t, dir, 10_000, 200_000)
	f, err := os.OpenFile(filepath.Join(dir, "chatd.db"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	put := func(v Visitor) {
		key := "visitors:" + v.ID
		raw, _ := json.Marshal(v)
		val := db.WrapValueForTest(key, string(raw))
		fmt.Fprintf(w, "*3\r\n$3\r\nset\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(key), key, len(val), val)
	}
	big := strings.Repeat("x", 2048)
	for round := 0; round <= 5; round++ {
		for i, id := range ids {
			v := Visitor{ID: id, Name: "Visitor " + strconv.Itoa(i), TokenHash: HashToken(id), Created: now, LastSeen: now}
			if round < 5 {
				v.Meta = map[string]string{"page": big}
			}
			put(v)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(filepath.Join(dir, "chatd.db"))
	t.Logf("wrote %s: %d bytes", filepath.Join(dir, "chatd.db"), fi.Size())
}
