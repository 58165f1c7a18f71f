package db

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/chatd/chatd/internal/atomicfile"
)

// Compaction rewrites the data file without superseded records. It is done
// here rather than by buntdb's Shrink, which holds the lock of every read and
// write while it copies what was written during the rewrite, leaves the fsync
// of the new file to the caller (which must then hold the commit lock for a
// whole-file fsync), and panics when its rename fails.
//
// While commits go on, the live records are written to <name>.db.tmp (from
// buntdb's tree, in chunks under its read lock), then the records appended
// since the rewrite started are copied after them, and the new file is
// fsynced; only the last few records, one fsync of them, the rename and a
// directory fsync happen under the commit lock. Any key the snapshot saw
// changed after the rewrite started is written again by the copied records,
// which come later in the file, so loading the new file gives the same
// data. A crash at any point leaves the old file whole or the new one whole
// (a leftover temp file is removed at the next Open).

// compactState is the compaction's bookkeeping.
type compactState struct {
	mu        sync.Mutex   // held while a compaction runs
	notBefore atomic.Int64 // unix nanoseconds: no automatic compaction before (backoff)
	backoff   time.Duration
	n         int // writes and fsyncs of compaction files, for Faults; guarded by mu
}

// Backoff after a failed compaction: doubled on each failure, up to the maximum.
const (
	compactBackoffMin = time.Minute
	compactBackoffMax = time.Hour
)

var (
	errCompacting = errors.New("a compaction is already running")
	errStopped    = errors.New("compaction stopped: the store is closing")
)

// maybeCompact compacts when the file is at least ShrinkMinSize and at least
// half of it is superseded records, unless a failure is being backed off.
// The live size is computed at Open and kept up to date by every commit, so
// the decision does not depend on how often the store was restarted.
func (d *DB) maybeCompact() {
	size, live := d.size.Load(), d.live.Load()
	if size < d.opts.ShrinkMinSize || size < 2*live || time.Now().UnixNano() < d.compact.notBefore.Load() {
		return
	}
	_ = d.Shrink() // logs its outcome
}

// Shrink compacts the data file now, while reads and writes go on (see the
// comment at the top of compact.go). On failure the data file is unchanged,
// the error is logged and automatic compaction backs off (1 min, doubling
// up to 1 h); a panic inside is recovered and reported as an error.
func (d *DB) Shrink() (err error) {
	if d.closed.Load() {
		return ErrClosed
	}
	if !d.compact.mu.TryLock() {
		return errCompacting
	}
	defer d.compact.mu.Unlock()
	start := time.Now()
	before := d.size.Load()
	var held time.Duration
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("compact %s: panic: %v", d.path, r)
		}
		c := &d.compact
		switch {
		case err == nil:
			c.backoff = 0
			c.notBefore.Store(0)
			d.stats.shrinks.Add(1)
			d.log.Info().Int64("before", before).Int64("bytes", d.size.Load()).Dur("took_ms", time.Since(start)).
				Dur("commits_paused_ms", held).Msg("compacted data file")
		case errors.Is(err, errStopped) || d.failed() != nil: // a failure logs itself
		default:
			c.backoff = min(max(2*c.backoff, compactBackoffMin), compactBackoffMax)
			c.notBefore.Store(time.Now().Add(c.backoff).UnixNano())
			d.stats.shrinkErrors.Add(1)
			d.log.Error().Err(err).Dur("retry_in_ms", c.backoff).Msg("compaction failed; the data file is unchanged")
		}
	}()
	return d.rewrite(&held)
}

// roomFor checks that the data directory's file system has room for a
// compacted file of about live bytes (plus what is appended meanwhile).
func (d *DB) roomFor(live int64) error {
	var free int64
	if f := d.opts.Faults; f != nil && f.FreeSpace != nil {
		free = f.FreeSpace()
	} else {
		var st syscall.Statfs_t
		if err := syscall.Statfs(d.dir, &st); err != nil {
			return nil // cannot tell: try
		}
		free = int64(st.Bavail) * int64(st.Bsize)
	}
	if need := live + live/8 + 16<<20; free < need {
		return fmt.Errorf("compact %s: not enough free space: %d bytes free, about %d needed", d.path, free, need)
	}
	return nil
}

func (d *DB) stopping() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

// compactFile is the new file being written, with the Faults hook.
type compactFile struct {
	d    *DB
	f    *os.File
	size int64
}

func (w *compactFile) fault() error {
	w.d.compact.n++
	if f := w.d.opts.Faults; f != nil && f.Compact != nil {
		return f.Compact(w.d.compact.n)
	}
	return nil
}

func (w *compactFile) Write(p []byte) (int, error) {
	if err := w.fault(); err != nil {
		return 0, &ioError{"write", w.f.Name(), err}
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	if err != nil {
		return n, &ioError{"write", w.f.Name(), err}
	}
	return n, nil
}

func (w *compactFile) sync() error {
	err := w.fault()
	if err == nil {
		err = w.f.Sync()
	}
	if err != nil {
		return &ioError{"fsync", w.f.Name(), err}
	}
	return nil
}

// copyRange appends bytes [from, to) of src to w.
func (w *compactFile) copyRange(src *os.File, from, to int64) error {
	if to <= from {
		return nil
	}
	_, err := io.Copy(w, io.NewSectionReader(src, from, to-from))
	return err
}

// catchUpMax is how much of the records appended during a rewrite may be left
// to copy under the commit lock.
const catchUpMax = 256 << 10

func (d *DB) rewrite(held *time.Duration) error {
	if err := d.roomFor(d.live.Load()); err != nil {
		return err
	}
	d.wmu.Lock()
	if err := d.failed(); err != nil {
		d.wmu.Unlock()
		return err
	}
	start, src := d.size.Load(), d.file
	d.wmu.Unlock()

	tmp := d.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, FileMode)
	if err != nil {
		return &ioError{"create", tmp, err}
	}
	w := &compactFile{d: d, f: f}
	placed := false
	defer func() {
		if !placed {
			f.Close()
			os.Remove(tmp)
		}
	}()

	// The live records, a chunk at a time under buntdb's read lock.
	var buf []byte
	pivot, skip := "", false
	for more := true; more; {
		if d.stopping() {
			return errStopped
		}
		more = false
		n := 0
		err := d.bdb.View(func(tx *buntdb.Tx) error {
			return tx.AscendGreaterOrEqual("", pivot, func(k, v string) bool {
				if skip && k == pivot {
					return true
				}
				if n >= 1000 || len(buf) >= 4<<20 {
					more = true
					return false
				}
				buf = appendSet(buf, k, v)
				pivot, skip = k, true
				n++
				return true
			})
		})
		if err != nil {
			return fmt.Errorf("compact %s: read: %w", d.path, err)
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
	}
	if err := w.sync(); err != nil {
		return err
	}

	// What was committed meanwhile, until little is left; the bytes up to
	// d.size are whole commits, never cut.
	copied := start
	for i := 0; i < 32 && !d.stopping(); i++ {
		end := d.size.Load()
		if end-copied <= catchUpMax {
			break
		}
		if err := w.copyRange(src, copied, end); err != nil {
			return err
		}
		copied = end
		if err := w.sync(); err != nil {
			return err
		}
	}
	if d.stopping() {
		return errStopped
	}

	// Under the commit lock: the last records, and the switch to the new
	// file. Under "always" every acknowledged record is on disk, so the new
	// file and its rename are made durable before commits resume; under the
	// other policies that is done right after, with commits going on.
	durable := d.opts.Sync == SyncAlways
	d.wmu.Lock()
	t := time.Now()
	old, err := d.placeCompacted(w, src, copied, tmp, durable)
	*held = time.Since(t)
	d.wmu.Unlock()
	if old != nil { // renamed: the new file is the data file now
		placed = true
		d.fileMu.Lock() // wait for an fsync of the old file in progress
		old.Close()
		d.fileMu.Unlock()
	}
	if err != nil {
		return err
	}
	if !durable {
		d.fileMu.RLock()
		err := w.sync()
		d.fileMu.RUnlock()
		if err != nil {
			d.fail(err)
			return err
		}
		if err := atomicfile.SyncDir(filepath.Dir(d.path)); err != nil {
			err = &ioError{"directory fsync", filepath.Dir(d.path), err}
			d.fail(err)
			return err
		}
	}
	return nil
}

// placeCompacted copies the records committed since copied, then renames the
// new file over the data file and makes commits append to it; durable: fsync
// it and the directory first. It returns the replaced file once the rename
// is done (nil before). Callers hold wmu.
func (d *DB) placeCompacted(w *compactFile, src *os.File, copied int64, tmp string, durable bool) (*os.File, error) {
	if err := d.failed(); err != nil {
		return nil, err
	}
	if err := w.copyRange(src, copied, d.size.Load()); err != nil {
		return nil, err
	}
	if durable {
		if err := w.sync(); err != nil {
			return nil, err
		}
	}
	if err := os.Rename(tmp, d.path); err != nil {
		return nil, &ioError{"rename", tmp, err}
	}
	// The new file is in place: from now on commits append to it.
	old := d.file
	d.file = w.f
	d.size.Store(w.size)
	d.dirty.Store(!durable)
	if durable {
		if err := atomicfile.SyncDir(filepath.Dir(d.path)); err != nil {
			// Until the rename is durable, a power loss could bring back the
			// old file, without what is appended to the new one.
			err = &ioError{"directory fsync", filepath.Dir(d.path), err}
			d.fail(err)
			return old, err
		}
	}
	return old, nil
}
