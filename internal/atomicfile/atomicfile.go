// Package atomicfile writes a file so that a crash leaves either the old
// content or the new one, never a mix: a temp file in the same directory,
// written, fsynced, renamed over the target (rename(2) is atomic within a
// file system), then the directory fsynced so the rename itself is durable.
// seed (the admins file) and cmd/chatd (backups) write through it too;
// SyncDir is the one directory fsync of chatd (db's compaction and chatd
// restore rename their own files and sync with it).
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotDurable is in the error (errors.Is) of a write whose rename was done
// but whose directory fsync failed: path already holds the new content and
// every reader (this process, other processes) sees it, but a crash or power
// loss may bring the previous content back (fsync(2): the rename is durable
// only once the directory is synced). It cannot be undone: renaming the old
// content back would need the same failing directory write. A caller
// therefore treats the new content as in force and reports the error as a
// warning (or, where nothing depends on the content yet, as a failure the
// next read recovers from); docs/durability.md says which does which.
var ErrNotDurable = errors.New("replaced, but the directory fsync failed: a crash may bring back the previous content")

// Write replaces path with data, with mode perm (e.g. 0o600), atomically
// and durably. The directory must exist. An error wrapping ErrNotDurable
// means path was replaced all the same.
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteWith(path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// WriteWith is Write for content that fill writes into the temp file
// (streamed, or with more to do to the file, such as a chown). On any error
// but ErrNotDurable, path is left as it was and the temp file is removed;
// with ErrNotDurable, path holds the new content.
func WriteWith(path string, perm os.FileMode, fill func(f *os.File) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: %w (%w)", path, ErrNotDurable, err)
	}
	return nil
}

// SyncDir fsyncs directory dir, which makes the renames, creations and
// removals of names in it durable (fsync(2): syncing a file does not sync
// the directory entry that names it). The error names dir and the cause
// (the directory cannot be opened: EACCES on a directory without read
// permission; or the fsync failed: EIO). A caller whose rename already
// happened wraps ErrNotDurable around it, as Write does.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
