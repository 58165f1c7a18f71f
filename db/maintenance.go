package db

import (
	"github.com/rs/zerolog"

	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// This file holds what the operator commands (backup, restore) need from a
// data file without serving it: the directory lock on its own, a read-only
// snapshot, a salvaging scan for the highest sequence number, and a durable
// floor for a collection's sequence.

// Lock is a data directory lock held outside Open (by a restore).
type Lock struct{ f *os.File }

// LockDir takes the lock Open takes on directory dir for data file name
// (default "chatd"): ErrLocked while a chatd serves dir.
func LockDir(dir, name string) (*Lock, error) {
	if name == "" {
		name = "chatd"
	}
	f, err := lockDir(filepath.Join(dir, name+".lock"), zerolog.Nop())
	if err != nil {
		return nil, err
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() { unlockDir(l.f) }

// Locked reports whether a process holds directory dir's lock for data file
// name. It writes nothing: a missing lock file means no one holds it, and the
// probe's shared lock is released at once, so a chatd starting at the same
// moment is not refused.
func Locked(dir, name string) (bool, error) {
	if name == "" {
		name = "chatd"
	}
	path := filepath.Join(dir, name+".lock")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open lock %s: %w", path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return true, nil
		}
		return false, fmt.Errorf("probe lock %s: %w", path, err)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, nil
}

// Snapshot copies the whole, verified records of the data file at path to w
// without writing to path or its directory. A torn last record (a crash in
// the middle of a write) is left out and its size returned as torn; any other
// damage is ErrCorrupt and nothing is written to w. The file is read through
// one descriptor, so a compaction renaming a new file into place meanwhile
// does not mix two files.
func Snapshot(path string, w io.Writer) (copied, torn int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err // an *fs.PathError: names the file and the cause
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return 0, 0, fmt.Errorf("%s is not a regular file", path)
	}
	res, err := scanFile(f, fi.Size(), nil)
	if err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", path, err)
	}
	if res.bad != "" {
		return 0, 0, fmt.Errorf("%w: %s at byte %d of %d: %s", ErrCorrupt, path, res.valid, res.size, res.bad)
	}
	n, err := io.Copy(w, io.NewSectionReader(f, 0, res.valid))
	if err != nil {
		return n, 0, fmt.Errorf("copy %s: %w", path, err)
	}
	return n, res.size - res.valid, nil
}

// CheckFile verifies every record of the data file at path, read-only: nil
// for a whole file, else an error naming the byte position and the damage
// (a torn last record included, since a copy meant to be restored must be whole).
func CheckFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err // an *fs.PathError: names the file and the cause
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	res, err := scanFile(f, fi.Size(), nil)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case res.bad != "":
		return fmt.Errorf("%w: %s at byte %d of %d: %s", ErrCorrupt, path, res.valid, res.size, res.bad)
	case res.valid < res.size:
		return fmt.Errorf("%w: %s ends with %d bytes of an incomplete record (at byte %d of %d): the copy was cut short",
			ErrCorrupt, path, res.size-res.valid, res.valid, res.size)
	}
	return nil
}

// SeqReport is what ScanSeq could read of a data file.
type SeqReport struct {
	Size     int64  // bytes in the file
	Records  int    // whole, verified records read
	Skipped  int64  // bytes that could not be read as verified records
	Damaged  int    // separate damaged regions (a torn tail counts as one)
	MaxID    uint64 // highest sequence number among the collection's document ids
	Reserved uint64 // highest sequence reservation recorded for the collection
}

// Max is the highest sequence number the file's writer may have handed out.
func (r SeqReport) Max() uint64 { return max(r.MaxID, r.Reserved) }

// scanChunk is how much ScanSeq reads at a time; an unreadable chunk is skipped.
const scanChunk = 1 << 20

// recordStarts are the headers a record written by buntdb begins with.
var recordStarts = [][]byte{
	[]byte("*3\r\n$3\r\nset\r\n"), []byte("*5\r\n$3\r\nset\r\n"), []byte("*2\r\n$3\r\ndel\r\n"),
}

// ScanSeq reads the data file at path read-only, as far as it can be read,
// and returns the highest sequence number of collection it finds (document
// ids and sequence reservations, deleted documents included). Unlike Open it
// does not stop at damage: unreadable chunks and records that fail their
// checksum are skipped, and reading resumes at the next whole, verified
// record, so a damaged file still yields every number its readable parts hold.
func ScanSeq(path, collection string) (SeqReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return SeqReport{}, err // an *fs.PathError: names the file and the cause
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return SeqReport{}, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return SeqReport{}, fmt.Errorf("%s is not a regular file", path)
	}
	rep := SeqReport{Size: fi.Size()}
	buf := make([]byte, fi.Size())
	for off := int64(0); off < fi.Size(); off += scanChunk {
		end := min(off+scanChunk, fi.Size())
		if _, err := f.ReadAt(buf[off:end], off); err != nil && !errors.Is(err, io.EOF) {
			clear(buf[off:end]) // unreadable (a bad sector): zeros never parse as records
		}
	}
	prefix := []byte(collection + ":")
	seqKey := []byte(metaPrefix + "seq:" + collection)
	p := newRecordParser(buf)
	pos := 0
	damaged := false // inside a damaged region
	for pos < len(buf) {
		n, ok := p.parseAt(pos)
		if !ok {
			next := p.nextRecord(pos + 1)
			if !damaged {
				rep.Damaged++
			}
			damaged = true
			rep.Skipped += int64(next - pos)
			pos = next
			continue
		}
		damaged = false
		rep.Records++
		key, cmd := p.parts[1], strings.ToLower(string(p.parts[0]))
		switch {
		case cmd == "set" && bytes.Equal(key, seqKey):
			if v, err := strconv.ParseUint(unwrapValue(string(p.parts[2])), 10, 64); err == nil {
				rep.Reserved = max(rep.Reserved, v)
			}
		case (cmd == "set" || cmd == "del") && bytes.HasPrefix(key, prefix):
			if v, err := strconv.ParseUint(string(key[len(prefix):]), 10, 64); err == nil {
				rep.MaxID = max(rep.MaxID, v)
			}
		}
		pos += n
	}
	return rep, nil
}

// recordParser reads records straight out of a byte slice.
type recordParser struct {
	buf   []byte
	parts [3][]byte
}

func newRecordParser(buf []byte) *recordParser { return &recordParser{buf: buf} }

// headerLine returns the "*N" or "$N" line at b (without its CRLF) and N.
func headerLine(b []byte, mark byte) (int, int, bool) {
	end := bytes.IndexByte(b[:min(len(b), 24)], '\n')
	if end < 2 || b[0] != mark || b[end-1] != '\r' {
		return 0, 0, false
	}
	n, err := strconv.Atoi(string(b[1 : end-1]))
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return end + 1, n, true
}

// parseAt reads one whole, verified record at buf[pos:] into p.parts and
// returns its length.
func (p *recordParser) parseAt(pos int) (int, bool) {
	b := p.buf[pos:]
	n, count, ok := headerLine(b, '*')
	if !ok || count < 1 || count > 16 {
		return 0, false
	}
	for i := 0; i < count; i++ {
		h, l, ok := headerLine(b[n:], '$')
		if !ok || l > 1<<30 {
			return 0, false
		}
		n += h
		if n+l+2 > len(b) || b[n+l] != '\r' || b[n+l+1] != '\n' {
			return 0, false
		}
		if i < 3 {
			p.parts[i] = b[n : n+l]
		}
		n += l + 2
	}
	switch cmd := strings.ToLower(string(p.parts[0])); {
	case cmd == "set" && count >= 3:
		if !checkValue(p.parts[1], p.parts[2]) {
			return 0, false
		}
	case cmd == "del" && count == 2, cmd == "flushdb" && count == 1:
	default:
		return 0, false
	}
	return n, true
}

// nextRecord returns the position of the next whole, verified record at or
// after from, or len(buf).
func (p *recordParser) nextRecord(from int) int {
	buf := p.buf
	for from < len(buf) {
		best := -1
		for _, m := range recordStarts {
			if i := bytes.Index(buf[from:], m); i >= 0 && (best < 0 || i < best) {
				best = i
			}
		}
		if best < 0 {
			return len(buf)
		}
		at := from + best
		if _, ok := p.parseAt(at); ok {
			return at
		}
		from = at + 1
	}
	return len(buf)
}

// RaiseSeq makes every sequence number the collection hands out from now on
// greater than n, also after a crash or power loss: the floor is written and
// fsynced before RaiseSeq returns, whatever the fsync policy. A floor at or
// below the current sequence changes nothing. Used by a restore, which must
// continue above the numbers an older file handed out.
func (c *Collection[T]) RaiseSeq(ctx context.Context, n uint64) error {
	if c.s.Seq == nil {
		return fmt.Errorf("raise sequence of %s: the collection has no sequence", c.s.Name)
	}
	return c.d.exec(ctx, func(b *batch) error {
		if n <= c.seq {
			return nil
		}
		r := max(n, c.reserved)
		if err := b.set(c.seqKey, wrapValue(c.seqKey, strconv.FormatUint(r, 10))); err != nil {
			return err
		}
		b.mustSync = true
		prevSeq, prevReserved := c.seq, c.reserved
		c.seq, c.reserved = n, r // an Insert later in this batch reserves its block above n
		b.onFail(func() { c.seq, c.reserved = prevSeq, prevReserved })
		return nil
	})
}
