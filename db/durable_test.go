package db

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
)

// TestDurableWriteFailsWhole: under the policies that do not fsync each
// commit, a write with a Durable context is fsynced before it returns (a
// plain one is not), and when that fsync fails the write is undone whole:
// its writer gets the error and neither memory nor the file keeps it, so a
// restart does not bring back what the writer was told failed.
func TestDurableWriteFailsWhole(t *testing.T) {
	for _, policy := range []string{"1s", "never"} {
		t.Run(policy, func(t *testing.T) {
			dir := t.TempDir()
			p, iv, _ := ParseSyncPolicy(policy)
			var mu sync.Mutex
			syncs, fail := 0, false
			opts := Options{Sync: p, Interval: iv, Faults: &Faults{Sync: func(int) error {
				mu.Lock()
				defer mu.Unlock()
				syncs++
				return when(fail, syscall.EIO)
			}}}
			d, c := openNotes(t, dir, opts)
			ctx := context.Background()
			fill(t, c, 3)
			if err := d.Sync(); err != nil { // what fill wrote, on disk
				t.Fatal(err)
			}
			mu.Lock()
			n := syncs
			mu.Unlock()
			if _, err := c.Insert(Durable(ctx), note{Who: "w1", Ref: "d"}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			if syncs == n {
				t.Errorf("a durable insert returned without an fsync")
			}
			fail = true
			mu.Unlock()
			before, size := state(t, c), fileSize(t, d.Path())
			_, err := c.Insert(Durable(ctx), note{Who: "w1", Ref: "x", Body: "lost?"})
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("durable insert with a failing fsync: %v, want EIO", err)
			}
			if got := state(t, c); got != before {
				t.Fatalf("memory changed by a durable write whose fsync failed:\n%s\nwant\n%s", got, before)
			}
			if got := fileSize(t, d.Path()); got != size {
				t.Fatalf("file is %d bytes after a durable write whose fsync failed, want %d", got, size)
			}
			d.Close()
			d, c = openNotes(t, dir, Options{})
			defer d.Close()
			if _, err := c.FindOne("ref", "w1", "x"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("after reopening, the failed durable write is there: %v", err)
			}
			if _, err := c.FindOne("ref", "w1", "d"); err != nil {
				t.Fatalf("after reopening, the good durable write: %v", err)
			}
		})
	}
}
