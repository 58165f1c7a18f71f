package db

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// errNotInPlace: the store's path no longer names the file it writes. The
// file was removed, renamed or replaced while open (by hand, by a tool that
// writes a new file and renames it over, or because the volume holding the
// data directory went away). POSIX lets a process keep writing an unlinked
// file, so every commit would still succeed, and be gone at the next start.
var errNotInPlace = errors.New("the data file was removed or replaced while the store had it open")

// checkInPlace stops the store (see ErrFailed) when d.path no longer names
// d.file: the same file is the same device and inode (os.SameFile). A path
// that cannot be examined for another reason (a permission change, an I/O
// error) is left to the next write or fsync to report. Callers hold d.wmu,
// so a compaction cannot swap d.file meanwhile. The cost is two stat(2)
// calls.
func (d *DB) checkInPlace() error {
	open, err := d.file.Stat()
	if err != nil {
		return nil
	}
	now, err := os.Stat(d.path)
	switch {
	case err == nil && os.SameFile(open, now):
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return nil
	}
	e := &ioError{"file check", d.path, errNotInPlace}
	d.fail(e)
	return e
}
