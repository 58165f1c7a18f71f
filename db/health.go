package db

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Health says whether the store can write.
type Health struct {
	OK bool
	// Reason is a short explanation without paths, fit for a readiness probe
	// ("fsync failed: input/output error; restart needed"); "" when OK.
	Reason string
	// Since is when the store became unhealthy; zero when OK.
	Since time.Time
}

// healthState tracks the two ways a store cannot write: it failed (an fsync
// or a truncation failed: no write is accepted until it is opened again), or
// its last write failed (full disk: writes are tried again, and a background
// probe write clears the state as soon as one succeeds).
type healthState struct {
	mu       sync.Mutex
	failing  atomic.Bool // writeErr != nil, read without mu on every commit
	failed   error       // non-nil: writes refused with ErrFailed
	failedAt time.Time
	writeErr error // the last commit's write failed
	writeAt  time.Time
}

// Health reports whether the store accepts writes, and why not.
func (d *DB) Health() Health {
	if d.closed.Load() {
		return Health{Reason: "store closed"}
	}
	h := &d.health
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.failed != nil:
		return Health{Reason: "stopped writing after " + cause(h.failed) + "; restart needed", Since: h.failedAt}
	case h.writeErr != nil:
		return Health{Reason: "writes failing: " + cause(h.writeErr), Since: h.writeAt}
	}
	return Health{OK: true}
}

// ioError is a failed operation on one of the store's files.
type ioError struct {
	Op   string // "write", "fsync", "truncate", "directory fsync"
	Path string
	Err  error
}

func (e *ioError) Error() string { return e.Op + " " + e.Path + ": " + e.Err.Error() }
func (e *ioError) Unwrap() error { return e.Err }

// cause is err's operation and errno, without paths.
func cause(err error) string {
	if errors.Is(err, errNotInPlace) {
		return "the data file was removed or replaced"
	}
	op := "an I/O error"
	var ie *ioError
	if errors.As(err, &ie) {
		op = ie.Op + " failed"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return op + ": " + errno.Error()
	}
	return op
}

// fail stops the store: every later write gets ErrFailed. Reads go on.
func (d *DB) fail(err error) {
	h := &d.health
	h.mu.Lock()
	first := h.failed == nil
	if first {
		h.failed, h.failedAt = err, time.Now()
	}
	h.mu.Unlock()
	switch {
	case !first:
	case errors.Is(err, errNotInPlace):
		d.log.Error().Err(err).Msg("the store stopped accepting writes: its data file is no longer at its path, so what it " +
			"writes would be gone at the next start (what was acknowledged since the last check, at most a second, is only " +
			"in the file that was moved away); put the file back or restore a backup into the stopped directory " +
			"(chatd restore), then restart chatd")
	default:
		d.log.Error().Err(err).Msg("the store stopped accepting writes: after a failed fsync or truncation the disk may not hold " +
			"what was written; check the disk (dmesg), then restart chatd: it reloads the file as it is on disk")
	}
}

// failed returns the ErrFailed error if the store failed.
func (d *DB) failed() error {
	h := &d.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failed == nil {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrFailed, h.failed)
}

// noteWrite records the outcome of a commit's append.
func (d *DB) noteWrite(err error) {
	h := &d.health
	if err == nil && !h.failing.Load() {
		return
	}
	h.mu.Lock()
	was := h.writeErr
	if err == nil {
		h.writeErr = nil
	} else if was == nil {
		h.writeErr, h.writeAt = err, time.Now()
	}
	h.failing.Store(h.writeErr != nil)
	h.mu.Unlock()
	switch {
	case err == nil && was != nil:
		d.log.Info().Msg("writes succeed again")
	case err != nil && was == nil:
		d.log.Error().Err(err).Msg("a commit could not be written; nothing of it was kept, its writers were told so; " +
			"writes are retried (free disk space if it is full)")
	}
}

// probeKey is written by probe.
const probeKey = metaPrefix + "probe"

// probe tries one small write while writes are failing, so that Health turns
// good again once the disk has room, even if no one writes.
func (d *DB) probe() {
	if !d.health.failing.Load() || d.failed() != nil {
		return
	}
	_ = d.exec(bg, func(b *batch) error {
		return b.set(probeKey, wrapValue(probeKey, time.Now().UTC().Format(time.RFC3339)))
	})
}
