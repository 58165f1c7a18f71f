package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// failOnce returns a Faults function that fails call n with err, once.
func failOnce(n int, err error) func(int) error {
	return func(i int) error {
		if i == n {
			return err
		}
		return nil
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// state is what a test can see of a collection: documents, index entries, sequence.
func state(t *testing.T, c *Collection[note]) string {
	t.Helper()
	all, err := c.Find(Query{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, n := range all {
		got, err := c.FindOne("ref", n.Who, n.Ref)
		fmt.Fprintf(&b, "%d/%s/%s/%v ", n.N, n.Who, n.Ref, err == nil && got.N == n.N)
		if id, ok := c.LastID("who", n.Who); !ok || id < SeqID(n.N) {
			fmt.Fprintf(&b, "(who index misses %d) ", n.N)
		}
	}
	fmt.Fprintf(&b, "count=%d seq=%d", c.Count(), c.Seq())
	return b.String()
}

// TestFailedWriteLeavesNoTrace makes the append of one commit fail (after
// writing half of it, as a full disk does), under each fsync policy, then
// lets writes succeed again: the failed insert left nothing in the file,
// buntdb, the indices or the sequence; the store recovers without a restart;
// the retry stores exactly one copy; the file loads.
func TestFailedWriteLeavesNoTrace(t *testing.T) {
	for _, policy := range []string{"always", "1s", "never"} {
		for _, errno := range []error{syscall.ENOSPC, syscall.EIO} {
			t.Run(policy+"/"+errno.Error(), func(t *testing.T) {
				dir := t.TempDir()
				p, iv, _ := ParseSyncPolicy(policy)
				var failing sync.Mutex // guards fail
				fail := 0
				opts := Options{Sync: p, Interval: iv, Faults: &Faults{Write: func(n int) error {
					failing.Lock()
					defer failing.Unlock()
					if n == fail {
						return errno
					}
					return nil
				}}}
				d, c := openNotes(t, dir, opts)
				ctx := context.Background()
				fill(t, c, 5)
				before, size := state(t, c), fileSize(t, d.Path())

				failing.Lock()
				fail = d.nwrite + 1
				failing.Unlock()
				_, err := c.Insert(ctx, note{Who: "w1", Ref: "x", Body: "lost?"})
				if !errors.Is(err, errno) {
					t.Fatalf("insert during the fault: %v, want %v", err, errno)
				}
				if got := state(t, c); got != before {
					t.Fatalf("memory changed by a failed commit:\n%s\nwant\n%s", got, before)
				}
				if got := fileSize(t, d.Path()); got != size {
					t.Fatalf("file is %d bytes after a failed commit, want %d", got, size)
				}
				if h := d.Health(); h.OK || !strings.Contains(h.Reason, "write failed: "+errno.Error()) {
					t.Fatalf("health during the fault: %+v", h)
				}
				got, err := c.Insert(ctx, note{Who: "w1", Ref: "x", Body: "retry"})
				if err != nil || got.N != 6 {
					t.Fatalf("retry after the fault: %+v, %v", got, err)
				}
				if h := d.Health(); !h.OK {
					t.Fatalf("health after a good write: %+v", h)
				}
				want := state(t, c)
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
				d, c = openNotes(t, dir, Options{})
				defer d.Close()
				if got := state(t, c); got != want {
					t.Fatalf("after reopening:\n%s\nwant\n%s", got, want)
				}
			})
		}
	}
}

// TestFailedFsyncStopsWrites makes the fsync of one commit fail: the writer
// is told, nothing of the commit stays in memory or in the file, the store
// refuses every later write (and says why in Health) until it is reopened,
// and after reopening the retry stores exactly one copy.
func TestFailedFsyncStopsWrites(t *testing.T) {
	for _, policy := range []string{"always", "never"} { // never: the fsync of a reservation
		t.Run(policy, func(t *testing.T) {
			dir := t.TempDir()
			p, _, _ := ParseSyncPolicy(policy)
			var mu sync.Mutex
			fail := 0
			opts := Options{Sync: p, Faults: &Faults{Sync: func(n int) error {
				mu.Lock()
				defer mu.Unlock()
				if n == fail {
					return syscall.EIO
				}
				return nil
			}}}
			d, c := openNotes(t, dir, opts)
			ctx := context.Background()
			if policy == "always" {
				fill(t, c, 5)
			}
			before, size := state(t, c), fileSize(t, d.Path())
			mu.Lock()
			fail = d.nsync + 1
			mu.Unlock()
			_, err := c.Insert(ctx, note{Who: "w1", Ref: "x", Body: "lost?"})
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("insert during the fault: %v", err)
			}
			if got := state(t, c); got != before {
				t.Fatalf("memory changed by a failed commit:\n%s\nwant\n%s", got, before)
			}
			if got := fileSize(t, d.Path()); got != size {
				t.Fatalf("file is %d bytes after a failed commit, want %d", got, size)
			}
			if _, err := c.Insert(ctx, note{Who: "w1", Ref: "x", Body: "retry"}); !errors.Is(err, ErrFailed) {
				t.Fatalf("write after a failed fsync: %v, want ErrFailed", err)
			}
			if h := d.Health(); h.OK || h.Reason != "stopped writing after fsync failed: input/output error; restart needed" {
				t.Fatalf("health: %+v", h)
			}
			if err := d.Close(); !errors.Is(err, ErrFailed) {
				t.Fatalf("close of a failed store: %v", err)
			}
			d, c = openNotes(t, dir, Options{Sync: p})
			defer d.Close()
			got, err := c.Insert(ctx, note{Who: "w1", Ref: "x", Body: "retry"})
			if err != nil {
				t.Fatal(err)
			}
			copies := 0
			ns, _ := c.Find(Query{Index: "who", Values: []string{"w1"}})
			for _, n := range ns {
				if n.Ref == "x" {
					copies++
				}
			}
			if copies != 1 || ns[len(ns)-1].N != got.N {
				t.Fatalf("after reopening and retrying: %+v", ns)
			}
		})
	}
}

// TestFailedCutKeepsRecordFindable: when even the cut of a failed commit
// fails, its records stay in the file and the store stops; after reopening,
// the record is there once and a retry with the same unique key finds it
// instead of storing a second copy (the sender's "failed" was not a lie about
// a duplicate: the retry gets the stored one).
func TestFailedCutKeepsRecordFindable(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	fail := 0
	d, c := openNotes(t, dir, Options{Sync: SyncAlways, Faults: &Faults{
		Sync:     func(n int) error { mu.Lock(); defer mu.Unlock(); return when(n == fail, syscall.EIO) },
		Truncate: failOnce(1, syscall.EIO),
	}})
	ctx := context.Background()
	fill(t, c, 3)
	mu.Lock()
	fail = d.nsync + 1
	mu.Unlock()
	if _, err := c.Insert(ctx, note{Who: "w1", Ref: "x"}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("insert: %v", err)
	}
	if _, err := c.FindOne("ref", "w1", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("failed insert visible in memory: %v", err)
	}
	if h := d.Health(); h.OK {
		t.Fatal("healthy after a failed fsync and cut")
	}
	d.Close()
	d, c = openNotes(t, dir, Options{})
	defer d.Close()
	if _, err := c.Insert(ctx, note{Who: "w1", Ref: "x"}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("retry after reopening: %v, want the stored record found (ErrDuplicate)", err)
	}
	if ns, _ := c.Find(Query{Index: "who", Values: []string{"w1"}}); len(ns) != 2 || ns[1].Ref != "x" {
		t.Fatalf("w1's notes: %+v, want refs 1 and x", ns)
	}
}

func when(b bool, err error) error {
	if b {
		return err
	}
	return nil
}

// TestBackgroundFsyncFailureStopsWrites: under the interval policy a failed
// background fsync stops the store like an inline one.
func TestBackgroundFsyncFailureStopsWrites(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{Sync: SyncInterval, Interval: 10 * 1e6, Faults: &Faults{Sync: func(n int) error {
		return when(n >= 2, syscall.EIO) // 1 is the first reservation's
	}}})
	defer d.Close()
	fill(t, c, 3)
	waitFor(t, func() bool { return !d.Health().OK })
	if _, err := c.Insert(context.Background(), note{Who: "x", Ref: "y"}); !errors.Is(err, ErrFailed) {
		t.Fatalf("write after a failed background fsync: %v", err)
	}
	if n, err := c.Get(SeqID(3)); err != nil || n.N != 3 {
		t.Fatalf("reads must go on: %v", err)
	}
}

// TestReservationIsDurableAfterFailedCommit is issue 10 item 3: the commit
// carrying the reservation of the next block fails (full disk), then space is
// freed and inserts go on under a policy that does not fsync them; a power
// loss keeps only what was fsynced. No number handed out may come back.
func TestReservationIsDurableAfterFailedCommit(t *testing.T) {
	for _, policy := range []string{"never", "1s"} {
		for _, fault := range []string{"write", "sync"} {
			t.Run(policy+"/"+fault, func(t *testing.T) {
				dir := t.TempDir()
				p, iv, _ := ParseSyncPolicy(policy)
				var mu sync.Mutex
				var durable int64 // file size at the last fsync: what survives a power loss
				failAt := -1
				path := filepath.Join(dir, "chatd.db")
				faults := &Faults{
					Write: func(n int) error {
						mu.Lock()
						defer mu.Unlock()
						return when(fault == "write" && n == failAt, syscall.ENOSPC)
					},
					Sync: func(n int) error {
						mu.Lock()
						defer mu.Unlock()
						if fault == "sync" && n == failAt {
							return syscall.EIO
						}
						fi, _ := os.Stat(path)
						durable = fi.Size()
						return nil
					},
				}
				d, c := openNotes(t, dir, Options{Sync: p, Interval: iv * 3600, Faults: faults})
				d.seqBlock = 100
				ctx := context.Background()
				var handed uint64
				for c.Seq() < d.seqBlock {
					n, err := c.Insert(ctx, note{Who: "w", Ref: fmt.Sprint(c.Seq())})
					if err != nil {
						t.Fatal(err)
					}
					handed = n.N
				}
				mu.Lock()
				if fault == "write" {
					failAt = d.nwrite + 1
				} else {
					failAt = d.nsync + 1
				}
				mu.Unlock()
				if _, err := c.Insert(ctx, note{Who: "w", Ref: "fails"}); err == nil {
					t.Fatal("the insert carrying the reservation did not fail")
				}
				if fault == "sync" { // the store stopped: reopen it, as an operator would
					d.Close()
					mu.Lock()
					durable = fileSize(t, path)
					mu.Unlock()
					d, c = openNotes(t, dir, Options{Sync: p, Interval: iv * 3600, Faults: faults})
					d.seqBlock = 100
				}
				for i := 0; i < 3; i++ {
					n, err := c.Insert(ctx, note{Who: "w", Ref: fmt.Sprint("after", i)})
					if err != nil {
						t.Fatal(err)
					}
					handed = n.N
				}
				// Power loss: the disk holds what was fsynced.
				mu.Lock()
				img, err := os.ReadFile(path)
				cut := durable
				mu.Unlock()
				if err != nil {
					t.Fatal(err)
				}
				d.Close()
				lost := t.TempDir()
				if err := os.WriteFile(filepath.Join(lost, "chatd.db"), img[:cut], 0o600); err != nil {
					t.Fatal(err)
				}
				d2, c2 := openNotes(t, lost, Options{})
				defer d2.Close()
				n, err := c2.Insert(ctx, note{Who: "w", Ref: "after power loss"})
				if err != nil || n.N <= handed {
					t.Fatalf("after the power loss got %d (%v); numbers up to %d were handed out", n.N, err, handed)
				}
			})
		}
	}
}

// TestFailedOpLeavesNothing: an op that fails after changing the
// transaction (a unique key taken, after its sequence reservation was set)
// is undone alone; the other ops of its commit are kept.
func TestFailedOpLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{})
	defer d.Close()
	ctx := context.Background()
	if _, err := c.Insert(ctx, note{Who: "a", Ref: "1"}); err != nil {
		t.Fatal(err)
	}
	before, size := state(t, c), d.Stats().FileSize
	// Exhaust nothing; just a duplicate: reserve is a no-op here, the claim fails.
	if _, err := c.Insert(ctx, note{Who: "a", Ref: "1"}); !errors.Is(err, ErrDuplicate) {
		t.Fatal(err)
	}
	n1, _ := c.FindOne("ref", "a", "1")
	n1.Ref = "1" // unchanged update: writes the same document
	if got := state(t, c); got != before || d.Stats().FileSize != size {
		t.Fatalf("a refused insert changed the store: %s (size %d) want %s (size %d)", got, d.Stats().FileSize, before, size)
	}
	// Concurrent writers, one of which fails in the same commit as others.
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := fmt.Sprint("c", i)
			if i == 7 {
				ref = "1"
			}
			_, errs[i] = c.Insert(ctx, note{Who: "a", Ref: ref})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7) != errors.Is(err, ErrDuplicate) || (i != 7 && err != nil) {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if c.Count() != 16 {
		t.Fatalf("count %d, want 16", c.Count())
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
