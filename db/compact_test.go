package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// churn writes n notes and updates each of them rounds times: most of the
// file is then superseded records.
func churn(t *testing.T, c *Collection[note], n, rounds int) {
	t.Helper()
	ctx := context.Background()
	fill(t, c, n)
	for r := 0; r < rounds; r++ {
		for i := 1; i <= n; i++ {
			if _, err := c.Modify(ctx, SeqID(uint64(i)), func(d *note, found bool) error {
				d.Body = fmt.Sprint("round ", r, strings.Repeat(".", 50))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCompactionWhileWriting compacts while writers insert and update: every
// write made before, during and after it is in the new file, and the file
// shrank.
func TestCompactionWhileWriting(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{Sync: SyncNever})
	churn(t, c, 300, 5)
	before := d.Stats().FileSize
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var wrote atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Insert(context.Background(), note{Who: fmt.Sprint("cw", w), Ref: fmt.Sprint(i)}); err != nil {
					t.Error(err)
					return
				}
				if _, err := c.Modify(context.Background(), SeqID(uint64(1+i%300)), func(d *note, _ bool) error {
					d.Ref = fmt.Sprint(d.Ref, "+")
					return nil
				}); err != nil {
					t.Error(err)
					return
				}
				wrote.Add(1)
			}
		}()
	}
	waitFor(t, func() bool { return wrote.Load() > 50 })
	if err := d.Shrink(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return wrote.Load() > 200 })
	close(stop)
	wg.Wait()
	want := state(t, c)
	if st := d.Stats(); st.Shrinks != 1 {
		t.Fatalf("shrinks %d", st.Shrinks)
	}
	// The versions superseded before the compaction began are gone.
	if data, _ := os.ReadFile(d.Path()); strings.Contains(string(data), "round 0") || !strings.Contains(string(data), "round 4") {
		t.Fatalf("compacted file (%d bytes, %d before) still holds superseded versions", len(data), before)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, c = openNotes(t, dir, Options{})
	defer d.Close()
	if got := state(t, c); got != want {
		t.Fatalf("after compaction and reopening:\n%s\nwant\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "chatd.db.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temp file left: %v", err)
	}
}

// TestCommitsGoOnDuringCompaction holds a compaction in the middle of
// writing its new file: commits, under every policy, still complete.
func TestCommitsGoOnDuringCompaction(t *testing.T) {
	for _, policy := range []string{"always", "1s"} {
		t.Run(policy, func(t *testing.T) {
			p, iv, _ := ParseSyncPolicy(policy)
			inside, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			d, c := openNotes(t, t.TempDir(), Options{Sync: p, Interval: iv, Faults: &Faults{Compact: func(n int) error {
				once.Do(func() { close(inside); <-release })
				return nil
			}}})
			defer d.Close()
			churn(t, c, 200, 2)
			done := make(chan error, 1)
			go func() { done <- d.Shrink() }()
			<-inside
			for i := 0; i < 20; i++ {
				if _, err := c.Insert(context.Background(), note{Who: "during", Ref: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if ns, _ := c.Find(Query{Index: "who", Values: []string{"during"}}); len(ns) != 20 {
				t.Fatalf("%d notes written during the compaction", len(ns))
			}
		})
	}
}

// TestCompactionRunsAfterRestart: the decision to compact comes from the
// file's size against its live records, computed at Open, so a store
// restarted often still compacts.
func TestCompactionRunsAfterRestart(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{ShrinkMinSize: 1 << 40})
	churn(t, c, 200, 4)
	d.Close()
	for i := 0; i < 3; i++ { // restarts that do not compact (threshold not met)
		d, _ = openNotes(t, dir, Options{ShrinkMinSize: 1 << 40})
		d.Close()
	}
	d, _ = openNotes(t, dir, Options{ShrinkMinSize: 1})
	defer d.Close()
	st := d.Stats()
	if st.FileSize < 2*st.LiveSize {
		t.Fatalf("fixture: file %d, live %d", st.FileSize, st.LiveSize)
	}
	waitFor(t, func() bool { return d.Stats().Shrinks == 1 })
	if st := d.Stats(); st.FileSize > st.LiveSize+st.LiveSize/4 {
		t.Fatalf("after compaction: file %d, live %d", st.FileSize, st.LiveSize)
	}
}

// TestCompactionFailureBacksOff: a compaction that fails (full disk, a panic
// inside) leaves the data file as it was and the store writable, and the
// next automatic attempt waits (1 min, doubling).
func TestCompactionFailureBacksOff(t *testing.T) {
	for _, fault := range []string{"enospc", "panic"} {
		t.Run(fault, func(t *testing.T) {
			dir := t.TempDir()
			var failing atomic.Bool
			failing.Store(true)
			d, c := openNotes(t, dir, Options{Faults: &Faults{Compact: func(n int) error {
				if !failing.Load() {
					return nil
				}
				if fault == "panic" {
					panic("injected")
				}
				return syscall.ENOSPC
			}}})
			defer d.Close()
			churn(t, c, 100, 3)
			before, _ := os.ReadFile(d.Path())
			err := d.Shrink()
			if err == nil || (fault == "panic") != strings.Contains(err.Error(), "panic: injected") {
				t.Fatalf("shrink: %v", err)
			}
			after, _ := os.ReadFile(d.Path())
			if string(after) != string(before) {
				t.Fatal("a failed compaction changed the data file")
			}
			if _, err := os.Stat(d.Path() + ".tmp"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("temp file left: %v", err)
			}
			if wait := time.Until(time.Unix(0, d.compact.notBefore.Load())); wait < 50*time.Second {
				t.Fatalf("next automatic compaction in %v, want a back-off of a minute", wait)
			}
			if err := d.Shrink(); err == nil {
				t.Fatal("second attempt passed while failing")
			}
			if d.compact.backoff != 2*compactBackoffMin {
				t.Fatalf("back-off %v after two failures", d.compact.backoff)
			}
			if _, err := c.Insert(context.Background(), note{Who: "x", Ref: "after"}); err != nil || !d.Health().OK {
				t.Fatalf("store after a failed compaction: %v %+v", err, d.Health())
			}
			failing.Store(false)
			if err := d.Shrink(); err != nil || d.compact.backoff != 0 || d.Stats().ShrinkErrors != 2 {
				t.Fatalf("shrink once the disk has room: %v, back-off %v, %+v", err, d.compact.backoff, d.Stats())
			}
		})
	}
}

// TestCompactionLastFsyncFailure: outside "always" the new file's last fsync
// runs after the switch, with commits going on; if it fails the store stops
// like after any failed fsync, and what was committed is in the file.
func TestCompactionLastFsyncFailure(t *testing.T) {
	count := func() int { // compaction file operations for this data set
		d, c := openNotes(t, t.TempDir(), Options{})
		defer d.Close()
		churn(t, c, 100, 2)
		if err := d.Shrink(); err != nil {
			t.Fatal(err)
		}
		return d.compact.n
	}
	last := count()
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{Faults: &Faults{Compact: failOnce(last, syscall.EIO)}})
	churn(t, c, 100, 2)
	want := state(t, c)
	if err := d.Shrink(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("shrink: %v", err)
	}
	if h := d.Health(); h.OK || !strings.Contains(h.Reason, "fsync failed") {
		t.Fatalf("health: %+v", h)
	}
	if _, err := c.Insert(context.Background(), note{Who: "x", Ref: "y"}); !errors.Is(err, ErrFailed) {
		t.Fatalf("write after the failure: %v", err)
	}
	d.Close()
	d, c = openNotes(t, dir, Options{})
	defer d.Close()
	// The sequence continues from its reservation (a failed store does not
	// record the exact number at Close): compare the documents.
	noSeq := func(s string) string { return s[:strings.LastIndex(s, " seq=")] }
	if got := state(t, c); noSeq(got) != noSeq(want) || c.Seq() < 100 {
		t.Fatalf("after reopening:\n%s\nwant\n%s", got, want)
	}
}

// TestCompactionNeedsRoom: on a nearly full disk a compaction does not start
// (it would fill the disk and fail): no temp file is written, the attempt is
// backed off like a failure, writes go on.
func TestCompactionNeedsRoom(t *testing.T) {
	created := false
	d, c := openNotes(t, t.TempDir(), Options{Faults: &Faults{
		FreeSpace: func() int64 { return 1 << 20 },
		Compact:   func(int) error { created = true; return nil },
	}})
	defer d.Close()
	churn(t, c, 100, 3)
	err := d.Shrink()
	if err == nil || !strings.Contains(err.Error(), "not enough free space") || created {
		t.Fatalf("shrink on a full disk: %v (temp file written: %v)", err, created)
	}
	if time.Until(time.Unix(0, d.compact.notBefore.Load())) < 50*time.Second {
		t.Fatal("no back-off after a compaction refused for lack of space")
	}
	if _, err := c.Insert(context.Background(), note{Who: "x", Ref: "y"}); err != nil {
		t.Fatal(err)
	}
}
