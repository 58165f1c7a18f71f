package db

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A data file removed, moved or replaced while the store has it open stops
// the store: under "always" the very next commit is refused (its fsync went
// to a file the path no longer names), under "1s" within the next tick.
// Writers are told their writes failed instead of being told they were
// stored in a file the next start will not read. A compaction, which
// renames its own new file over the path, is not mistaken for this.
func TestDataFileNotInPlaceStopsWrites(t *testing.T) {
	moves := []struct {
		name string
		move func(t *testing.T, path string)
	}{
		{"removed", func(t *testing.T, path string) { must(t, os.Remove(path)) }},
		{"renamed away", func(t *testing.T, path string) { must(t, os.Rename(path, path+".old")) }},
		{"replaced by a copy", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			must(t, err)
			must(t, os.WriteFile(path+".new", b, 0o600))
			must(t, os.Rename(path+".new", path))
		}},
		{"directory moved", func(t *testing.T, path string) {
			dir := filepath.Dir(path)
			must(t, os.Rename(dir, dir+".moved"))
			t.Cleanup(func() { os.Rename(dir+".moved", dir) })
		}},
	}
	for _, policy := range []string{"always", "1s"} {
		for _, m := range moves {
			t.Run(policy+"/"+m.name, func(t *testing.T) {
				p, iv, _ := ParseSyncPolicy(policy)
				dir := filepath.Join(t.TempDir(), "data")
				d, c := openNotes(t, dir, Options{Sync: p, Interval: iv})
				defer d.Close()
				fill(t, c, 3)
				must(t, d.Shrink()) // a compaction's rename is no move
				if _, err := c.Insert(context.Background(), note{Who: "w", Ref: "compacted"}); err != nil {
					t.Fatal(err)
				}
				if h := d.Health(); !h.OK {
					t.Fatalf("unhealthy after a compaction: %+v", h)
				}
				m.move(t, d.Path())
				if policy == "1s" {
					deadline := time.Now().Add(10 * time.Second)
					for d.Health().OK && time.Now().Before(deadline) {
						time.Sleep(20 * time.Millisecond)
					}
				}
				_, err := c.Insert(context.Background(), note{Who: "w", Ref: "after"})
				if !errors.Is(err, ErrFailed) && !errors.Is(err, errNotInPlace) {
					t.Fatalf("insert after the data file was %s: %v, want it refused", m.name, err)
				}
				h := d.Health()
				if h.OK || !strings.Contains(h.Reason, "the data file was removed or replaced") {
					t.Fatalf("health %+v, want the reason named", h)
				}
				if _, err := c.Insert(context.Background(), note{Who: "w", Ref: "later"}); !errors.Is(err, ErrFailed) {
					t.Fatalf("a later insert: %v, want ErrFailed", err)
				}
			})
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
