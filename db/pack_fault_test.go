package db

import (
	"errors"
	"sync/atomic"
	"syscall"
	"testing"
)

// TestFailedPackingLeavesDocumentsReadable makes every append fail while
// documents are packed into blocks (a full disk, an I/O error), then lets
// writes succeed again: the failed packing commits changed nothing a reader
// sees, in memory or in the file; packing then completes; the file loads
// with the same documents and index entries.
func TestFailedPackingLeavesDocumentsReadable(t *testing.T) {
	for _, errno := range []error{syscall.ENOSPC, syscall.EIO} {
		t.Run(errno.Error(), func(t *testing.T) {
			dir := t.TempDir()
			var failing atomic.Bool
			opts := Options{Faults: &Faults{Write: func(int) error {
				if failing.Load() {
					return errno
				}
				return nil
			}}}
			d, err := Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewCollection(d, packedNoteSchema())
			if err != nil {
				t.Fatal(err)
			}
			c.stopWork()    // no background packing: this test packs, step by step
			fill(t, c, 200) // about 10 blocks of 512 bytes
			failing.Store(true)
			before, size := state(t, c), fileSize(t, d.Path())
			if err := c.foldAll(); !errors.Is(err, errno) {
				t.Fatalf("packing during the fault: %v, want %v", err, errno)
			}
			if got := state(t, c); got != before {
				t.Fatalf("memory changed by failed packing:\n%s\nwant\n%s", got, before)
			}
			if got := fileSize(t, d.Path()); got != size {
				t.Fatalf("file is %d bytes after failed packing, want %d", got, size)
			}
			failing.Store(false)
			settle(t, c)
			if blocks, _ := records(c); blocks == 0 {
				t.Fatal("nothing packed once writes succeed again")
			}
			if got := state(t, c); got != before {
				t.Fatalf("after packing:\n%s\nwant\n%s", got, before)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			d, c = openPacked(t, dir)
			defer d.Close()
			if got := state(t, c); got != before {
				t.Fatalf("after reopening:\n%s\nwant\n%s", got, before)
			}
		})
	}
}
