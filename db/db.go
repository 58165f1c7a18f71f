// Package db is a small lokijs-like document store over buntdb: typed
// collections of JSON documents with in-memory indices, group-committed
// appends to one file, and a choice of fsync policy. It knows nothing of chat.
package db

import (
	"io"
	"time"

	"github.com/rs/zerolog"
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

// CommitStats describes one group commit, for metrics.
type CommitStats struct {
	Docs  int           // documents written in the commit
	Write time.Duration // time to append to the file
	Sync  time.Duration // time spent in fsync (0 when not synced inline)
}

// Options configures Open. The zero value is the default: fsync every second.
type Options struct {
	Sync     SyncPolicy
	Interval time.Duration // for SyncInterval; default 1s
	Logger   zerolog.Logger
	OnCommit func(CommitStats) // optional observer, called after each commit
}

// DB is an open store in one data directory.
type DB struct{}

// Open opens or creates the store in directory dir.
func Open(dir string, opts Options) (*DB, error) { panic("db: not implemented yet") }

// Close flushes, fsyncs and closes the store and releases the directory lock.
func (d *DB) Close() error { panic("todo") }

// Backup writes a consistent snapshot to w while writes continue.
func (d *DB) Backup(w io.Writer) error { panic("todo") }

// ParseSyncPolicy reads "always", "never" or an interval such as "1s".
func ParseSyncPolicy(s string) (SyncPolicy, time.Duration, error) { panic("todo") }
