// Package db is a small lokijs-like document store: typed collections of JSON
// documents with in-memory indices, group-committed appends to one file, and
// a choice of fsync policy. It knows nothing of chat.
//
// buntdb holds the data in memory (its ordered tree and transactions); this
// package owns the file: it writes each commit's records in one append,
// fsyncs, compacts, and checks the file before loading it. Every record
// carries a CRC-32C of its key and value: a torn last record (a crash in the
// middle of a write) is dropped with a warning, any other damage stops Open
// with an error naming the file, the byte position and the remedy.
//
// A commit whose write or fsync fails leaves no trace in memory or in the
// file. A failed write leaves the store usable (a full disk recovers once
// space is freed); a failed fsync stops all writes until the store is opened
// again, because after one the kernel may have dropped data it had accepted.
// Health reports both.
package db

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/tidwall/buntdb"
)

// SyncPolicy says when appended writes are fsynced to disk.
type SyncPolicy int

const (
	// SyncInterval fsyncs in the background every Options.Interval (default 1s).
	SyncInterval SyncPolicy = iota
	// SyncAlways fsyncs before a write returns; concurrent writers share one fsync.
	SyncAlways
	// SyncNever leaves flushing to the operating system.
	SyncNever
)

// String names the policy as ParseSyncPolicy reads it.
func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncNever:
		return "never"
	default:
		return "interval"
	}
}

// ParseSyncPolicy reads "always", "never" or an interval such as "1s".
func ParseSyncPolicy(s string) (SyncPolicy, time.Duration, error) {
	switch s {
	case "always":
		return SyncAlways, 0, nil
	case "never":
		return SyncNever, 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("fsync policy %q: want always, never or a positive interval such as 1s", s)
	}
	return SyncInterval, d, nil
}

// Errors callers check with errors.Is.
var (
	// ErrNotFound means no document has that id or index value.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate means an insert or update would break a unique index or reuse an id.
	ErrDuplicate = errors.New("duplicate")
	// ErrLocked means another process holds the data directory.
	ErrLocked = errors.New("data directory is in use by another process")
	// ErrCorrupt means the data file is damaged somewhere other than a torn last record.
	ErrCorrupt = errors.New("data file is corrupt")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("store is closed")
	// ErrFailed means the store stopped accepting writes after an fsync or
	// truncation failed; it serves reads until it is closed and opened again.
	ErrFailed = errors.New("store stopped writing after an I/O error")
)

// CommitStats describes one group commit, for metrics.
type CommitStats struct {
	Docs  int           // operations in the commit
	Write time.Duration // time to run the operations and append to the file
	Sync  time.Duration // time spent in fsync (0 when not synced inline)
	Err   error         // non-nil when the commit failed
}

// Faults makes the store's file operations fail, for tests of failure
// handling. Each function, when set, is called before the nth operation of
// its kind since Open (n counts from 1); a non-nil error makes that
// operation fail with it, and later ones succeed if the function says so.
type Faults struct {
	// Write fails the append of a commit after half of its bytes were
	// written, as a full disk does.
	Write func(n int) error
	// Sync fails an fsync of the data file (inline, background, at Close).
	Sync func(n int) error
	// Truncate fails the cut of a failed commit's records from the file.
	Truncate func(n int) error
	// Compact fails a write or fsync of a compaction's new file.
	Compact func(n int) error
	// FreeSpace, when set, replaces the free space of the data directory's
	// file system that a compaction checks before it starts.
	FreeSpace func() int64
}

// Options configures Open. The zero value is the default: fsync every second.
type Options struct {
	Sync     SyncPolicy
	Interval time.Duration // for SyncInterval; default 1s
	// Logger receives the store's log lines as is: the caller adds the fields
	// that name the component (the store adds none of its own context).
	Logger   zerolog.Logger
	OnCommit func(CommitStats) // optional observer, called after each commit

	// Name is the base name of the data file and lock file; default "chatd".
	Name string
	// Version is the schema version the caller expects; default 1.
	Version int
	// Migrate upgrades a file written at schema version from to from+1, inside
	// one transaction. Called for each step when the file is older than Version.
	Migrate func(from int, tx *Tx) error
	// ShrinkMinSize is the file size in bytes below which no compaction
	// happens; default 32 MiB. Above it, the file is compacted once at least
	// half of it is superseded records (file size >= 2x the live records).
	ShrinkMinSize int64
	// Faults injects I/O errors; tests only.
	Faults *Faults
}

const metaPrefix = "_meta:"

// DB is an open store in one data directory. It is safe for concurrent use.
type DB struct {
	dir  string
	path string
	opts Options
	log  zerolog.Logger
	bdb  *buntdb.DB // the data, in memory
	lock *os.File

	// group commit: writers queue ops, one leader at a time commits the queue.
	qmu   sync.Mutex
	queue []*op
	lead  chan struct{} // one token: the writer holding it commits the queue
	wmu   sync.Mutex    // held while committing, and by whatever must not overlap a commit
	imu   sync.RWMutex
	batch batch // the commit leader's scratch state, reused; guarded by wmu
	colls map[string]any
	hints map[string]int // records per key prefix seen by the file check, to size indices

	file   *os.File     // the data file; replaced by compaction under wmu
	fileMu sync.RWMutex // read-held by an fsync outside wmu: a replaced file is closed under its write lock
	size   atomic.Int64 // bytes of whole commits in file: its length; changed under wmu
	live   atomic.Int64 // bytes the live records take in a compacted file; changed under wmu
	nwrite int          // appends, fsyncs and cuts so far, for Faults; guarded by wmu
	nsync  int
	ncut   int
	// ncommit numbers the commits that needed an end marker (endKey); guarded by wmu
	ncommit uint64
	dirty   atomic.Bool // writes since the last fsync
	closed  atomic.Bool
	stop    chan struct{}
	bgDone  chan struct{}

	health      healthState
	damagedDocs damagedState // damaged.go
	compact     compactState
	seqBlock    uint64 // sequence numbers per reservation: seqBlock

	stats struct {
		commits, ops, syncs, syncErrors, writeErrors, shrinks, shrinkErrors atomic.Uint64
	}
}

// Stats are counters for metrics and tests.
type Stats struct {
	Commits, Ops, Syncs, SyncErrors, WriteErrors, Shrinks, ShrinkErrors uint64
	Damaged                                                             uint64 // damaged documents met (ErrDamaged)
	FileSize                                                            int64  // bytes of the data file
	LiveSize                                                            int64  // bytes the live records would take after a compaction
}

// Open opens or creates the store in directory dir (created 0700; a wider
// mode is narrowed). A second Open of the same directory, from this or
// another process, fails with ErrLocked. Every refusal names the file, the
// cause and what to do.
func Open(dir string, opts Options) (*DB, error) {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Name == "" {
		opts.Name = "chatd"
	}
	if opts.Version <= 0 {
		opts.Version = 1
	}
	if opts.ShrinkMinSize <= 0 {
		opts.ShrinkMinSize = 32 << 20
	}
	d := &DB{
		dir:   dir,
		path:  filepath.Join(dir, opts.Name+".db"),
		opts:  opts,
		log:   opts.Logger,
		colls: map[string]any{},
		hints: map[string]int{},
		stop:  make(chan struct{}),
		lead:  make(chan struct{}, 1),

		seqBlock: seqBlock,
	}
	if err := prepareDir(dir, d.log); err != nil {
		return nil, err
	}
	lock, err := lockDir(filepath.Join(dir, opts.Name+".lock"), d.log)
	if err != nil {
		return nil, err
	}
	d.lock = lock
	if err := d.open(); err != nil {
		if d.file != nil {
			d.file.Close()
		}
		if d.bdb != nil {
			d.bdb.Close()
		}
		unlockDir(lock)
		return nil, err
	}
	d.bgDone = make(chan struct{})
	go d.background()
	return d, nil
}

func (d *DB) open() error {
	// A compaction (or creation) that crashed before its rename leaves a
	// partial temp file; the data file itself is whole.
	tmp := d.path + ".tmp"
	if fi, err := os.Lstat(tmp); err == nil {
		if fi.IsDir() {
			return refusal(tmp, "a directory is where compaction writes its temp file", nil, "move it away")
		}
		d.log.Warn().Str("file", tmp).Int64("bytes", fi.Size()).Msg("removing the temp file of an interrupted compaction; the data file is intact")
		if err := os.Remove(tmp); err != nil {
			return refusal(tmp, "cannot remove the temp file of an interrupted compaction", err, accessRemedy(tmp, err))
		}
	}
	exists, err := inspectDataFile(d.path, d.log)
	if err != nil {
		return err
	}
	if !exists {
		key := metaPrefix + "schema"
		rec := appendSet(nil, key, wrapValue(key, strconv.Itoa(d.opts.Version)))
		if err := createFile(d.path, rec); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(d.path, os.O_RDWR, 0)
	if err != nil {
		return refusal(d.path, "cannot open the data file", err, accessRemedy(d.path, err))
	}
	d.file = f
	valid, err := d.check()
	if err != nil {
		return err
	}
	bdb, err := buntdb.Open(":memory:")
	if err != nil {
		return fmt.Errorf("load %s: %w", d.path, err)
	}
	d.bdb = bdb
	// buntdb wraps the reader in a bufio.Reader unless it already is one.
	if err := bdb.Load(bufio.NewReaderSize(io.NewSectionReader(f, 0, valid), 1<<20)); err != nil {
		return fmt.Errorf("load %s: %w", d.path, err)
	}
	d.size.Store(valid)
	var live int64
	_ = bdb.View(func(tx *buntdb.Tx) error {
		return tx.Ascend("", func(k, v string) bool {
			live += setSize(len(k), len(v))
			return true
		})
	})
	d.live.Store(live)
	return d.migrate()
}

// check validates the file before it is loaded: it truncates a torn tail with
// a warning and refuses any other damage. It returns the length to load.
func (d *DB) check() (int64, error) {
	fi, err := d.file.Stat()
	if err != nil {
		return 0, refusal(d.path, "cannot inspect the data file", err, accessRemedy(d.path, err))
	}
	res, err := scanFile(d.file, fi.Size(), d.hints)
	if err != nil {
		return 0, refusal(d.path, "cannot read the data file", err, accessRemedy(d.path, err))
	}
	if res.bad != "" {
		return 0, fmt.Errorf("%w: %s at byte %d of %d: %s; nothing was changed. "+
			"Stop chatd, restore the latest backup into this file (see docs/operations.md), "+
			"or move the file away to start empty", ErrCorrupt, d.path, res.valid, res.size, res.bad)
	}
	if res.fix != nil {
		d.log.Warn().Str("file", d.path).Int64("at", res.valid).Int("missing", len(res.fix)).
			Msg("completing the last record, whose line end is missing (a crash just before the end of a write); its checksum proves it whole")
		if err := d.file.Truncate(res.valid); err != nil {
			return 0, refusal(d.path, "cannot complete the last record", err, accessRemedy(d.path, err))
		}
		if _, err := d.file.WriteAt(res.fix, res.valid); err != nil {
			return 0, refusal(d.path, "cannot complete the last record", err, accessRemedy(d.path, err))
		}
		res.valid += int64(len(res.fix))
		res.size = res.valid
		if err := d.file.Sync(); err != nil {
			return 0, refusal(d.path, "cannot fsync after completing the last record", err, accessRemedy(d.path, err))
		}
	}
	if res.valid < res.size {
		torn := res.size - res.valid
		d.log.Warn().Str("file", d.path).Int64("bytes", torn).Int64("zero_bytes", res.zeros).Int64("at", res.valid).
			Msg("dropping a torn last record (a crash during a write): it holds no complete record; every complete record is kept")
		if err := d.file.Truncate(res.valid); err != nil {
			return 0, refusal(d.path, "cannot cut the torn tail", err, accessRemedy(d.path, err))
		}
		if err := d.file.Sync(); err != nil {
			return 0, refusal(d.path, "cannot fsync after cutting the torn tail", err, accessRemedy(d.path, err))
		}
	}
	return res.valid, nil
}

func (d *DB) migrate() error {
	key := metaPrefix + "schema"
	var cur int
	empty := true
	err := d.bdb.View(func(tx *buntdb.Tx) error {
		_ = tx.AscendKeys("*", func(k, v string) bool {
			empty = k == key
			return empty
		})
		v, err := tx.Get(key)
		if errors.Is(err, buntdb.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		cur, err = strconv.Atoi(unwrapValue(v))
		return err
	})
	if err != nil {
		return fmt.Errorf("read schema version of %s: %w", d.path, err)
	}
	if cur > d.opts.Version {
		return fmt.Errorf("%s has schema version %d but this chatd knows only up to %d: use a newer chatd", d.path, cur, d.opts.Version)
	}
	for from := cur; from < d.opts.Version; from++ {
		err := d.exec(bg, func(b *batch) error {
			if from > 0 || !empty {
				if d.opts.Migrate == nil {
					return fmt.Errorf("no migration from schema version %d", from)
				}
				if err := d.opts.Migrate(from, &Tx{b: b}); err != nil {
					return err
				}
			}
			b.mustSync = true
			return b.set(key, wrapValue(key, strconv.Itoa(from+1)))
		})
		if err != nil {
			return fmt.Errorf("migrate %s from schema version %d: %w", d.path, from, err)
		}
		if !empty {
			d.log.Info().Int("from", from).Int("to", from+1).Msg("migrated data file")
		}
	}
	return nil
}

// fsync flushes the data file; callers hold d.wmu. A failure stops the store
// (see ErrFailed): after a failed fsync the kernel may have dropped written
// pages while reporting later fsyncs as successful, so nothing written since
// the last good fsync can be trusted to be on disk.
func (d *DB) fsync() error {
	d.nsync++
	d.dirty.Store(false)
	return d.syncFile(d.file, d.nsync)
}

// syncFile fsyncs f, the data file of some moment (call n, for Faults).
func (d *DB) syncFile(f *os.File, n int) error {
	var err error
	if hook := d.opts.Faults; hook != nil && hook.Sync != nil {
		err = hook.Sync(n)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		d.dirty.Store(true)
		d.stats.syncErrors.Add(1)
		err = &ioError{"fsync", d.path, err}
		d.fail(err)
		return err
	}
	d.stats.syncs.Add(1)
	return nil
}

// Sync forces an fsync of everything written so far. Commits go on while it
// runs: it holds the commit lock only to learn which file to flush.
func (d *DB) Sync() error {
	if d.closed.Load() {
		return ErrClosed
	}
	d.wmu.Lock()
	if d.closed.Load() {
		d.wmu.Unlock()
		return ErrClosed
	}
	if err := d.failed(); err != nil {
		d.wmu.Unlock()
		return err
	}
	d.nsync++
	f, n := d.file, d.nsync
	d.dirty.Store(false) // a commit during the fsync sets it again
	d.fileMu.RLock()     // a compaction closes a replaced file only after this fsync
	d.wmu.Unlock()
	defer d.fileMu.RUnlock()
	return d.syncFile(f, n)
}

// background runs the interval fsync, the write probe of an unhealthy store
// and compaction.
func (d *DB) background() {
	defer close(d.bgDone)
	tick := time.Second // probe and compaction cadence
	if d.opts.Sync == SyncInterval {
		tick = min(tick, d.opts.Interval)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	lastSync := time.Now()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		if d.opts.Sync == SyncInterval && d.dirty.Load() && time.Since(lastSync) >= d.opts.Interval-tick/10 {
			lastSync = time.Now()
			_ = d.Sync() // a failure stops the store, which logs it
		}
		d.wmu.Lock()
		if d.failed() == nil {
			_ = d.checkInPlace() // a failure stops the store, which logs it
		}
		d.wmu.Unlock()
		d.probe()
		d.maybeCompact()
	}
}

// Backup writes a consistent snapshot to w while writes continue: the data
// file is append-only, so its prefix at a commit boundary is a whole store.
// The result is a valid data file; restore it by putting it in place of <name>.db.
func (d *DB) Backup(w io.Writer) error {
	if d.closed.Load() {
		return ErrClosed
	}
	d.wmu.Lock()
	f, err := os.Open(d.path) // the file of this moment, even if a compaction replaces it
	size := d.size.Load()
	d.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("backup %s: %w", d.path, err)
	}
	defer f.Close()
	if _, err := io.Copy(w, io.NewSectionReader(f, 0, size)); err != nil {
		return fmt.Errorf("backup %s: %w", d.path, err)
	}
	return nil
}

// Stats returns the store's counters.
func (d *DB) Stats() Stats {
	return Stats{
		Commits:      d.stats.commits.Load(),
		Ops:          d.stats.ops.Load(),
		Syncs:        d.stats.syncs.Load(),
		SyncErrors:   d.stats.syncErrors.Load(),
		WriteErrors:  d.stats.writeErrors.Load(),
		Shrinks:      d.stats.shrinks.Load(),
		ShrinkErrors: d.stats.shrinkErrors.Load(),
		Damaged:      d.damagedCount(),
		FileSize:     d.size.Load(),
		LiveSize:     d.live.Load(),
	}
}

// Path is the data file's path.
func (d *DB) Path() string { return d.path }

// Close records the exact sequence numbers, fsyncs and closes the store and
// releases the directory lock. A store that had failed is closed without
// writing and Close returns its failure.
func (d *DB) Close() error {
	if d.closed.Swap(true) {
		return ErrClosed
	}
	close(d.stop)
	<-d.bgDone
	d.imu.RLock()
	colls := make([]any, 0, len(d.colls))
	for _, c := range d.colls {
		colls = append(colls, c)
	}
	d.imu.RUnlock()
	for _, c := range colls {
		if w, ok := c.(interface{ stopWork() }); ok {
			w.stopWork() // background packing commits: wait for it before taking wmu
		}
	}
	d.compact.mu.Lock() // wait for a compaction started by Shrink
	defer d.compact.mu.Unlock()
	d.wmu.Lock()
	defer d.wmu.Unlock()
	errFailed := d.failed()
	var errSync error
	if errFailed == nil {
		o := &op{fn: func(b *batch) error {
			for _, c := range d.colls {
				if s, ok := c.(interface{ saveSeq(*batch) error }); ok {
					if err := s.saveSeq(b); err != nil {
						return err
					}
				}
			}
			return nil
		}, done: make(chan struct{})}
		d.commit([]*op{o})
		if o.err == nil {
			errSync = d.fsync()
		} else {
			errSync = o.err
		}
	}
	d.fileMu.Lock() // after a Sync in progress
	d.file.Close()
	d.fileMu.Unlock()
	errClose := d.bdb.Close()
	unlockDir(d.lock)
	switch {
	case errFailed != nil:
		return fmt.Errorf("close %s: %w", d.path, errFailed)
	case errSync != nil:
		return fmt.Errorf("close %s: %w", d.path, errSync)
	case errClose != nil:
		return fmt.Errorf("close %s: %w", d.path, errClose)
	}
	return nil
}
