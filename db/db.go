// Package db is a small lokijs-like document store over buntdb: typed
// collections of JSON documents with in-memory indices, group-committed
// appends to one file, and a choice of fsync policy. It knows nothing of chat.
//
// Every record in the file carries a CRC-32C of its key and value, and the
// file is validated before it is loaded: a torn last record (a crash in the
// middle of a write) is dropped with a warning, any other damage stops Open
// with an error naming the file and the byte position.
package db

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
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
	// ErrCorrupt means the data file is damaged somewhere other than its last record.
	ErrCorrupt = errors.New("data file is corrupt")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("store is closed")
)

// CommitStats describes one group commit, for metrics.
type CommitStats struct {
	Docs  int           // operations in the commit
	Write time.Duration // time to append to the file
	Sync  time.Duration // time spent in fsync (0 when not synced inline)
	Err   error         // non-nil when the commit failed
}

// Options configures Open. The zero value is the default: fsync every second.
type Options struct {
	Sync     SyncPolicy
	Interval time.Duration // for SyncInterval; default 1s
	Logger   zerolog.Logger
	OnCommit func(CommitStats) // optional observer, called after each commit

	// Name is the base name of the data file and lock file; default "chatd".
	Name string
	// Version is the schema version the caller expects; default 1.
	Version int
	// Migrate upgrades a file written at schema version from to from+1, inside
	// one transaction. Called for each step when the file is older than Version.
	Migrate func(from int, tx *Tx) error
	// ShrinkMinSize is the file size below which no compaction happens; default 32 MiB.
	ShrinkMinSize int64
}

const metaPrefix = "_meta:"

// DB is an open store in one data directory. It is safe for concurrent use.
type DB struct {
	path string
	opts Options
	log  zerolog.Logger
	bdb  *buntdb.DB
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

	syncf     *os.File    // our own descriptor for fsync (same inode as buntdb's)
	recheck   atomic.Bool // a compaction happened: check syncf's inode
	shrinking atomic.Bool
	dirty     atomic.Bool // writes since the last fsync
	closed    atomic.Bool
	stop      chan struct{}
	bgDone    chan struct{}
	lastSize  atomic.Int64 // file size after the last compaction or open

	stats struct {
		commits, ops, syncs, syncErrors, shrinks atomic.Uint64
	}
}

// Stats are counters for metrics and tests.
type Stats struct {
	Commits, Ops, Syncs, SyncErrors, Shrinks uint64
	FileSize                                 int64
}

// Open opens or creates the store in directory dir. A second Open of the same
// directory, from this or another process, fails with ErrLocked.
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
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	d := &DB{
		path:  filepath.Join(dir, opts.Name+".db"),
		opts:  opts,
		log:   opts.Logger.With().Str("component", "db").Logger(),
		colls: map[string]any{},
		hints: map[string]int{},
		stop:  make(chan struct{}),
		lead:  make(chan struct{}, 1),
	}
	lock, err := lockDir(filepath.Join(dir, opts.Name+".lock"))
	if err != nil {
		return nil, err
	}
	d.lock = lock
	if err := d.open(); err != nil {
		unlockDir(lock)
		return nil, err
	}
	d.bgDone = make(chan struct{})
	go d.background()
	return d, nil
}

func (d *DB) open() error {
	// A compaction that crashed before its rename leaves a partial temp file; the
	// data file itself is still whole.
	tmp := d.path + ".tmp"
	if fi, err := os.Stat(tmp); err == nil {
		d.log.Warn().Str("file", tmp).Int64("bytes", fi.Size()).Msg("removing the temp file of an interrupted compaction; the data file is intact")
		if err := os.Remove(tmp); err != nil {
			return fmt.Errorf("remove %s: %w", tmp, err)
		}
	}
	if err := d.check(); err != nil {
		return err
	}
	bdb, err := buntdb.Open(d.path)
	if err != nil {
		return fmt.Errorf("load %s: %w", d.path, err)
	}
	// Fsync and compaction are ours: buntdb ignores fsync errors and does not
	// fsync a compacted file before renaming it over the old one.
	if err := bdb.SetConfig(buntdb.Config{SyncPolicy: buntdb.Never, AutoShrinkDisabled: true}); err != nil {
		bdb.Close()
		return fmt.Errorf("configure %s: %w", d.path, err)
	}
	d.bdb = bdb
	if err := d.reopenSyncFile(); err != nil {
		bdb.Close()
		return err
	}
	if err := d.migrate(); err != nil {
		d.syncf.Close()
		bdb.Close()
		return err
	}
	if fi, err := os.Stat(d.path); err == nil {
		d.lastSize.Store(fi.Size())
	}
	return nil
}

// check validates the file before buntdb reads it: it truncates a torn last
// record with a warning and refuses any other damage.
func (d *DB) check() error {
	f, err := os.OpenFile(d.path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", d.path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", d.path, err)
	}
	res, err := scanFile(f, fi.Size(), d.hints)
	if err != nil {
		return fmt.Errorf("read %s: %w", d.path, err)
	}
	if res.bad != "" {
		return fmt.Errorf("%w: %s at byte %d of %d: %s; nothing was changed. "+
			"Stop chatd, restore the latest backup into this file (see docs/operations.md), "+
			"or move the file away to start empty", ErrCorrupt, d.path, res.valid, res.size, res.bad)
	}
	if res.valid < res.size {
		torn := res.size - res.valid
		d.log.Warn().Str("file", d.path).Int64("bytes", torn).Int64("at", res.valid).
			Msg("dropping a torn last record (a crash during a write); every complete record is kept")
		if err := f.Truncate(res.valid); err != nil {
			return fmt.Errorf("truncate torn tail of %s: %w", d.path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", d.path, err)
		}
	}
	return nil
}

func (d *DB) migrate() error {
	key := metaPrefix + "schema"
	var cur int
	err := d.bdb.View(func(tx *buntdb.Tx) error {
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
	if cur == d.opts.Version {
		return nil
	}
	empty := true
	_ = d.bdb.View(func(tx *buntdb.Tx) error {
		return tx.AscendKeys("*", func(k, v string) bool { empty = false; return false })
	})
	for from := cur; from < d.opts.Version; from++ {
		err := d.bdb.Update(func(btx *buntdb.Tx) error {
			if from > 0 || !empty {
				if d.opts.Migrate == nil {
					return fmt.Errorf("no migration from schema version %d", from)
				}
				if err := d.opts.Migrate(from, &Tx{tx: btx}); err != nil {
					return err
				}
			}
			_, _, err := btx.Set(key, wrapValue(key, strconv.Itoa(from+1)), nil)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s from schema version %d: %w", d.path, from, err)
		}
		if !empty {
			d.log.Info().Int("from", from).Int("to", from+1).Msg("migrated data file")
		}
	}
	return d.fsync()
}

func (d *DB) reopenSyncFile() error {
	f, err := os.Open(d.path)
	if err != nil {
		return fmt.Errorf("open %s for fsync: %w", d.path, err)
	}
	if d.syncf != nil {
		d.syncf.Close()
	}
	d.syncf = f
	return nil
}

// fsync flushes the data file; callers hold d.wmu.
func (d *DB) fsync() error {
	if d.shrinking.Load() || d.recheck.Load() {
		// A compaction may have renamed a new file into place: make sure our
		// descriptor points at the file buntdb now appends to.
		if cur, err := os.Stat(d.path); err == nil {
			if mine, err := d.syncf.Stat(); err != nil || !os.SameFile(cur, mine) {
				if err := d.reopenSyncFile(); err != nil {
					return err
				}
			}
		}
		if !d.shrinking.Load() {
			d.recheck.Store(false)
		}
	}
	d.dirty.Store(false)
	if err := d.syncf.Sync(); err != nil {
		d.stats.syncErrors.Add(1)
		d.dirty.Store(true)
		return fmt.Errorf("fsync %s: %w", d.path, err)
	}
	d.stats.syncs.Add(1)
	return nil
}

// Sync forces an fsync of everything written so far.
func (d *DB) Sync() error {
	if d.closed.Load() {
		return ErrClosed
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return d.fsync()
}

// background runs the interval fsync and compaction.
func (d *DB) background() {
	defer close(d.bgDone)
	tick := d.opts.Interval
	if d.opts.Sync != SyncInterval {
		tick = time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		if d.opts.Sync == SyncInterval && d.dirty.Load() {
			if err := d.Sync(); err != nil && !errors.Is(err, ErrClosed) {
				d.log.Error().Err(err).Msg("background fsync failed; recent writes may not survive power loss")
			}
		}
		if err := d.maybeShrink(); err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, buntdb.ErrDatabaseClosed) {
			d.log.Error().Err(err).Msg("compaction failed; the data file is unchanged")
		}
	}
}

// maybeShrink compacts the file when it has doubled since the last compaction.
func (d *DB) maybeShrink() error {
	fi, err := os.Stat(d.path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", d.path, err)
	}
	if fi.Size() < d.opts.ShrinkMinSize || fi.Size() < 2*d.lastSize.Load() {
		return nil
	}
	return d.Shrink()
}

// Shrink rewrites the file without superseded records while writes continue.
// A crash at any point leaves either the old file or the complete new one.
func (d *DB) Shrink() error {
	if d.closed.Load() {
		return ErrClosed
	}
	d.shrinking.Store(true)
	err := d.bdb.Shrink()
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.shrinking.Store(false)
	d.recheck.Store(true)
	if err != nil {
		return fmt.Errorf("compact %s: %w", d.path, err)
	}
	// buntdb renamed the new file into place without an fsync: make the new
	// file and the rename durable before anyone relies on them.
	if err := d.fsync(); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(d.path)); err != nil {
		return err
	}
	if fi, err := os.Stat(d.path); err == nil {
		d.lastSize.Store(fi.Size())
	}
	d.stats.shrinks.Add(1)
	d.log.Info().Int64("bytes", d.lastSize.Load()).Msg("compacted data file")
	return nil
}

// Backup writes a consistent snapshot to w while writes continue: the data
// file is append-only, so its prefix at a commit boundary is a whole store.
// The result is a valid data file; restore it by putting it in place of <name>.db.
func (d *DB) Backup(w io.Writer) error {
	if d.closed.Load() {
		return ErrClosed
	}
	d.wmu.Lock()
	f, err := os.Open(d.path)
	var size int64
	if err == nil {
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	d.wmu.Unlock()
	if err != nil {
		if f != nil {
			f.Close()
		}
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
	s := Stats{
		Commits:    d.stats.commits.Load(),
		Ops:        d.stats.ops.Load(),
		Syncs:      d.stats.syncs.Load(),
		SyncErrors: d.stats.syncErrors.Load(),
		Shrinks:    d.stats.shrinks.Load(),
	}
	if fi, err := os.Stat(d.path); err == nil {
		s.FileSize = fi.Size()
	}
	return s
}

// Path is the data file's path.
func (d *DB) Path() string { return d.path }

// Close flushes, fsyncs and closes the store and releases the directory lock.
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
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.commit([]*op{{fn: func(b *batch) error {
		for _, c := range d.colls {
			if s, ok := c.(interface{ saveSeq(*batch) error }); ok {
				if err := s.saveSeq(b); err != nil {
					return err
				}
			}
		}
		return nil
	}, done: make(chan struct{})}})
	errSync := d.syncf.Sync()
	d.syncf.Close()
	errClose := d.bdb.Close()
	unlockDir(d.lock)
	if errSync != nil {
		return fmt.Errorf("close %s: fsync: %w", d.path, errSync)
	}
	if errClose != nil {
		return fmt.Errorf("close %s: %w", d.path, errClose)
	}
	return nil
}

func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked (is another chatd running on this data directory?)", ErrLocked, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

func unlockDir(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	_ = f.Close()
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
