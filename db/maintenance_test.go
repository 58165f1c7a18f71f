package db

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScanSeqReadsPastDamage: the highest id is found behind damage of every
// kind, and the report counts what was skipped.
func TestScanSeqReadsPastDamage(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{})
	fill(t, c, 60)
	d.Close()
	path := filepath.Join(dir, "chatd.db")
	orig, _ := os.ReadFile(path)

	whole, err := ScanSeq(path, "notes")
	if err != nil || whole.MaxID != 60 || whole.Skipped != 0 || whole.Damaged != 0 || whole.Max() < 60 {
		t.Fatalf("whole file: %+v, %v", whole, err)
	}
	mid := len(orig) / 2
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"value byte", func(b []byte) []byte { i := bytes.Index(b[mid:], []byte("hello")) + mid; b[i] = 'j'; return b }},
		{"length digit", func(b []byte) []byte { i := bytes.Index(b[mid:], []byte("\r\n$")) + mid + 3; b[i] = '9'; return b }},
		{"zeroed block", func(b []byte) []byte { clear(b[mid : mid+300]); return b }},
		{"garbage inserted", func(b []byte) []byte {
			return append(append(append([]byte(nil), b[:mid]...), []byte("\x00\xffgarbage*3\r\n$3\r\nset\r\n$2")...), b[mid:]...)
		}},
		{"torn tail", func(b []byte) []byte { return append(b, "*3\r\n$3\r\nset\r\n$26\r\nnotes:000000"...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := tc.damage(append([]byte(nil), orig...))
			os.WriteFile(path, bad, 0o600)
			rep, err := ScanSeq(path, "notes")
			if err != nil {
				t.Fatal(err)
			}
			if rep.MaxID != 60 || rep.Damaged != 1 || rep.Skipped == 0 || rep.Records < 50 {
				t.Fatalf("report %+v: want max id 60 found behind one damaged region", rep)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, bad) {
				t.Fatal("ScanSeq modified the file")
			}
		})
	}
	if _, err := ScanSeq(filepath.Join(dir, "missing.db"), "notes"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestRaiseSeqIsDurableAndMonotonic: after a floor, inserts continue above
// it, also after a reopen; a lower floor changes nothing.
func TestRaiseSeqIsDurableAndMonotonic(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{Sync: SyncNever})
	fill(t, c, 3)
	if err := c.RaiseSeq(ctx, 500); err != nil {
		t.Fatal(err)
	}
	n, _ := c.Insert(ctx, note{Who: "a", Ref: "x"})
	if n.N != 501 {
		t.Fatalf("after floor 500: %d", n.N)
	}
	if err := c.RaiseSeq(ctx, 100); err != nil || c.Seq() != 501 {
		t.Fatalf("lower floor: seq %d, %v", c.Seq(), err)
	}
	if err := c.RaiseSeq(ctx, 20_000); err != nil {
		t.Fatal(err)
	}
	// No clean close: the floor must already be on disk.
	rep, err := ScanSeq(filepath.Join(dir, "chatd.db"), "notes")
	if err != nil || rep.Max() < 20_000 {
		t.Fatalf("floor not written before RaiseSeq returned: %+v, %v", rep, err)
	}
	d.Close()
	d, c = openNotes(t, dir, Options{})
	defer d.Close()
	if n, _ := c.Insert(ctx, note{Who: "a", Ref: "y"}); n.N <= 20_000 {
		t.Fatalf("after reopen: %d", n.N)
	}
	other, err := NewCollection(d, Schema[note]{Name: "plain", ID: func(n *note) string { return n.Ref }})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.RaiseSeq(ctx, 5); err == nil {
		t.Fatal("RaiseSeq on a collection without a sequence")
	}
}

func TestSnapshotCheckFileAndLocked(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{})
	fill(t, c, 20)
	if locked, err := Locked(dir, ""); err != nil || !locked {
		t.Fatalf("Locked while open = %v, %v", locked, err)
	}
	if _, err := LockDir(dir, ""); !errors.Is(err, ErrLocked) {
		t.Fatalf("LockDir while open: %v", err)
	}
	d.Close()
	if locked, err := Locked(dir, ""); err != nil || locked {
		t.Fatalf("Locked after close = %v, %v", locked, err)
	}
	if locked, err := Locked(t.TempDir(), ""); err != nil || locked {
		t.Fatalf("Locked on an empty dir = %v, %v", locked, err)
	}
	path := filepath.Join(dir, "chatd.db")
	orig, _ := os.ReadFile(path)
	if err := CheckFile(path); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	n, torn, err := Snapshot(path, &out)
	if err != nil || torn != 0 || n != int64(len(orig)) || !bytes.Equal(out.Bytes(), orig) {
		t.Fatalf("snapshot: %d bytes, torn %d, %v", n, torn, err)
	}
	// A torn tail is left out of the copy (and the file is not touched).
	tail := "*3\r\n$3\r\nset\r\n$26\r\nnotes:0000"
	os.WriteFile(path, append(append([]byte(nil), orig...), tail...), 0o600)
	out.Reset()
	if _, torn, err := Snapshot(path, &out); err != nil || torn != int64(len(tail)) || !bytes.Equal(out.Bytes(), orig) {
		t.Fatalf("snapshot of a torn file: torn %d, %v", torn, err)
	}
	if err := CheckFile(path); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "incomplete record") {
		t.Fatalf("CheckFile of a torn copy: %v", err)
	}
	// Damage mid-file: nothing copied.
	bad := append([]byte(nil), orig...)
	bad[len(bad)/2] ^= 0x20
	os.WriteFile(path, bad, 0o600)
	out.Reset()
	if _, _, err := Snapshot(path, &out); !errors.Is(err, ErrCorrupt) || out.Len() != 0 {
		t.Fatalf("snapshot of a damaged file: %v, %d bytes written", err, out.Len())
	}
	if err := CheckFile(path); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("CheckFile of a damaged file: %v", err)
	}
	if err := CheckFile(dir); err == nil {
		t.Fatal("CheckFile accepted a directory")
	}
}
