package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tornFixture writes a store of n notes with ~150-byte bodies and returns its
// data file and the offset where the last record starts.
func tornFixture(t *testing.T, n int) (data []byte, last int) {
	t.Helper()
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{})
	for i := 0; i < n; i++ {
		if _, err := c.Insert(context.Background(), note{Who: "w", Ref: fmt.Sprint(i), Body: strings.Repeat("b", 100+i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "chatd.db"))
	if err != nil {
		t.Fatal(err)
	}
	// Close records the exact sequence number last: drop that record so the
	// last record of the file is the last note.
	data = data[:bytes.LastIndex(data, []byte("*3\r\n$3\r\nset\r\n$"+fmt.Sprint(len("_meta:seq:notes"))+"\r\n_meta:seq:notes"))]
	return data, bytes.LastIndex(data, []byte("*3\r\n$3\r\nset\r\n$26\r\nnotes:"))
}

// openBytes opens a store whose file holds data and returns the number of
// notes loaded, or the error.
func openBytes(t *testing.T, data []byte) (int, []note, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "chatd.db"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(dir, Options{})
	if err != nil {
		return 0, nil, err
	}
	defer d.Close()
	c, err := NewCollection(d, noteSchema())
	if err != nil {
		return 0, nil, err
	}
	all, err := c.Find(Query{})
	return c.Count(), all, err
}

// TestTornAppendIsDropped cuts the last record at every byte, with and without
// the zero fill some file systems leave after a crash: the last note is
// dropped, every earlier one kept (unless only its line end is missing).
func TestTornAppendIsDropped(t *testing.T) {
	data, last := tornFixture(t, 5)
	for cut := last + 1; cut < len(data); cut++ {
		for _, fill := range []int{0, 1, 4096} {
			img := append(append([]byte(nil), data[:cut]...), make([]byte, fill)...)
			want := 4
			if cut >= len(data)-2 {
				want = 5 // only the CRLF is missing: the checksum proves the record whole; it is completed
			}
			res, err := scanFile(bytes.NewReader(img), int64(len(img)), nil)
			if err != nil || res.bad != "" || (want == 4) != (res.valid == int64(last)) {
				t.Fatalf("cut at %d of %d (+%d zero bytes): check says %+v, %v", cut-last, len(data)-last, fill, res, err)
			}
			if cut%16 != 0 && cut < len(data)-2 {
				continue // a sample is opened in full
			}
			n, _, err := openBytes(t, img)
			if err != nil || n != want {
				t.Fatalf("cut at %d of %d (+%d zero bytes): %d notes, %v; want %d", cut-last, len(data)-last, fill, n, err, want)
			}
		}
	}
	// A zero fill after a whole record is dropped alone.
	if n, _, err := openBytes(t, append(append([]byte(nil), data...), make([]byte, 512)...)); err != nil || n != 5 {
		t.Fatalf("zero fill after the last record: %d notes, %v", n, err)
	}
}

// TestDamagedLastRecordIsRefused changes each byte of the last record (and of
// the one before it) to a set of likely values: digits (a length that points
// past the end), CR, LF, NUL, record markers. Each file must be refused as
// corrupt, or load every note unchanged (e.g. "set" -> "sEt"); never may the
// damaged record be dropped as torn.
func TestDamagedLastRecordIsRefused(t *testing.T) {
	data, last := tornFixture(t, 5)
	prev := bytes.LastIndex(data[:last], []byte("*3\r\n"))
	_, want, err := openBytes(t, data)
	if err != nil || len(want) != 5 {
		t.Fatalf("fixture: %d notes, %v", len(want), err)
	}
	repl := []byte("0123456789\r\n\x00*$ xS")
	refused, equal := 0, 0
	for at := prev; at < len(data); at++ {
		for _, r := range repl {
			if data[at] == r {
				continue
			}
			img := append([]byte(nil), data...)
			img[at] = r
			// The file check decides; a full open confirms what it lets through.
			res, err := scanFile(bytes.NewReader(img), int64(len(img)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.bad != "" {
				refused++
				continue
			}
			n, got, err := openBytes(t, img)
			switch {
			case errors.Is(err, ErrCorrupt):
				refused++
			case err == nil && n == 5 && fmt.Sprint(got) == fmt.Sprint(want):
				equal++
			default:
				t.Fatalf("byte %d of the last record %q -> %q: %d notes, %v; want refused as corrupt",
					at-last, data[at], r, n, err)
			}
		}
	}
	t.Logf("%d damaged files refused, %d equivalent files loaded", refused, equal)
}

// TestDamagedLengthsOfTheIssue: the reported "$149" -> "$949" of the last
// record, and lengths pointing past the end with whole records after them.
func TestDamagedLengthsOfTheIssue(t *testing.T) {
	data, last := tornFixture(t, 5)
	lastRec := data[last:]
	valLen := bytes.LastIndex(lastRec, []byte("\r\n$")) + 3 // first digit of the value's length
	keyLen := bytes.Index(lastRec[4:], []byte("$26")) + 4 + 1
	prev := bytes.LastIndex(data[:last], []byte("\r\n$")) + 3 // the value length of the record before
	for _, tc := range []struct {
		name string
		at   int
		to   byte
	}{
		{"value length of the last record, first digit to 9", last + valLen, '9'},
		{"value length of the last record, last digit up", last + valLen + 2, data[last+valLen+2] + 1},
		{"key length of the last record", last + keyLen, '9'},
		{"value length of the record before, past the end", prev, '9'},
		{"record count of the last record", last + 1, '9'},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := append([]byte(nil), data...)
			img[tc.at] = tc.to
			if _, _, err := openBytes(t, img); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "at byte") {
				t.Fatalf("damaged length accepted: %v", err)
			}
		})
	}
}

// TestDamagedLastDelIsRefused: a del has no checksum, so a commit ending
// with one gets a checksummed record after it; a damaged length in that del
// is then refused like any other damage, while a torn one is still dropped.
func TestDamagedLastDelIsRefused(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{})
	fill(t, c, 3)
	if err := c.Remove(context.Background(), SeqID(2)); err != nil {
		t.Fatal(err)
	}
	d.Close()
	data, _ := os.ReadFile(filepath.Join(dir, "chatd.db"))
	data = data[:bytes.LastIndex(data, []byte("*3\r\n$3\r\nset\r\n$15\r\n_meta:seq:notes"))] // Close's record
	del := bytes.LastIndex(data, []byte("*2\r\n$3\r\ndel\r\n"))
	if del < 0 || !bytes.Contains(data[del:], []byte(endKey)) {
		t.Fatalf("no end marker after the last del: %q", data[del:])
	}
	keyLen := del + len("*2\r\n$3\r\ndel\r\n$")
	for _, to := range []byte("3456789") {
		img := append([]byte(nil), data...)
		img[keyLen] = to
		if _, _, err := openBytes(t, img); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("del key length %q: %v, want refused", to, err)
		}
	}
	// Torn inside the del: dropped, note 2 is back (its delete was never acknowledged).
	if n, _, err := openBytes(t, data[:del+20]); err != nil || n != 3 {
		t.Fatalf("torn del: %d notes, %v", n, err)
	}
}
