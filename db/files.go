package db

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/internal/atomicfile"
)

// Owner-only modes for everything the store creates (and what it finds
// wider is narrowed): the data holds every conversation and secret hash.
const (
	FileMode os.FileMode = 0o600
	DirMode  os.FileMode = 0o700
)

// refusal is an error that names the file, the cause and what to do.
func refusal(path, cause string, err error, remedy string) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Path == path {
		err = fmt.Errorf("%s: %w", pe.Op, pe.Err) // the path is said once, first
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w. %s", path, cause, err, remedy)
	}
	return fmt.Errorf("%s: %s. %s", path, cause, remedy)
}

// AccessRemedy says what to do about err on path (a file in a data
// directory), for the errors an operator can fix: permissions, a read-only
// or full file system, something in the way.
func AccessRemedy(path string, err error) string { return accessRemedy(path, err) }

func accessRemedy(path string, err error) string {
	uid, gid := os.Geteuid(), os.Getegid()
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("chatd runs as uid %d: give it the data directory and its files "+
			"(chown -R %d:%d %s; chmod 700 the directory, 600 the files) or run chatd as their owner",
			uid, uid, gid, filepath.Dir(path))
	case errors.Is(err, syscall.EROFS):
		return "the file system is read-only: remount it read-write or choose another data directory"
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return "the disk is full: free space (or raise the quota) and start again"
	case errors.Is(err, syscall.EISDIR):
		return "a directory is in the way: move it elsewhere (chatd creates this file itself)"
	case errors.Is(err, syscall.ENOTDIR):
		return "a path component is a file, not a directory: fix the path or move the file away"
	case errors.Is(err, syscall.ELOOP):
		return "it is a symbolic link: put the file itself in the data directory (a link to the whole directory is fine)"
	}
	return "check the disk and the file system (dmesg), then start again"
}

// owned checks that fi belongs to the user chatd runs as (root may use any
// file): a file of another user cannot be made owner-only.
func owned(path string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	uid := os.Geteuid()
	if uid == 0 || int(st.Uid) == uid {
		return nil
	}
	return refusal(path, fmt.Sprintf("owned by uid %d, but chatd runs as uid %d", st.Uid, uid), nil,
		fmt.Sprintf("make chatd its owner (chown -R %d:%d %s) or run chatd as uid %d",
			uid, os.Getegid(), filepath.Dir(path), st.Uid))
}

// narrow makes path owner-only (mode want: FileMode or DirMode) if its mode
// allows any access to group or others, and logs what it changed.
func narrow(path string, fi os.FileInfo, want os.FileMode, log zerolog.Logger) error {
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := owned(path, fi); err != nil {
		return err
	}
	if err := os.Chmod(path, want); err != nil {
		return refusal(path, "cannot make it owner-only", err, accessRemedy(path, err))
	}
	log.Warn().Str("file", path).Str("was", fmt.Sprintf("%#o", fi.Mode().Perm())).Str("now", fmt.Sprintf("%#o", want)).
		Msg("narrowed the mode of a data file readable by other users (was it created by an older chatd or copied in?)")
	return nil
}

// SecureFile makes an existing regular file owner-only (0600) if it is not,
// logging the change; a missing file is fine. It refuses a file chatd cannot
// make owner-only (another owner) or that is not a regular file. chatd uses it
// for the files of its data directory that the store does not create itself.
func SecureFile(path string, log zerolog.Logger) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return refusal(path, "cannot inspect it", err, accessRemedy(path, err))
	}
	if !fi.Mode().IsRegular() {
		return refusal(path, "not a regular file ("+fi.Mode().Type().String()+")", nil,
			"move it away and put the file itself here")
	}
	if err := owned(path, fi); err != nil {
		return err
	}
	return narrow(path, fi, FileMode, log)
}

// SecureDir makes the data directory dir and every regular file directly in
// it owner-only, logging each change (see SecureFile); it refuses a file it
// cannot make owner-only. The store's own files are handled by Open; chatd
// calls this for the others (admins, keys) and for whatever was copied in.
func SecureDir(dir string, log zerolog.Logger) error {
	if err := prepareDir(dir, log); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return refusal(dir, "cannot list the data directory", err, accessRemedy(filepath.Join(dir, "x"), err))
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := SecureFile(filepath.Join(dir, e.Name()), log); err != nil {
				return err
			}
		}
	}
	return nil
}

// prepareDir creates the data directory (0700) or checks and narrows it.
func prepareDir(dir string, log zerolog.Logger) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, DirMode); err != nil {
			return refusal(dir, "cannot create the data directory", err, accessRemedy(filepath.Join(dir, "x"), err))
		}
		return nil
	}
	if err != nil {
		return refusal(dir, "cannot inspect the data directory", err, accessRemedy(filepath.Join(dir, "x"), err))
	}
	if !fi.IsDir() {
		return refusal(dir, "the data directory is not a directory", nil, "move the file away or choose another data directory")
	}
	if err := owned(dir, fi); err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, DirMode); err != nil {
			return refusal(dir, "cannot make the data directory owner-only", err, accessRemedy(filepath.Join(dir, "x"), err))
		}
		log.Warn().Str("dir", dir).Str("was", fmt.Sprintf("%#o", fi.Mode().Perm())).Str("now", fmt.Sprintf("%#o", DirMode)).
			Msg("narrowed the mode of the data directory, which other users could read")
	}
	return nil
}

// inspectDataFile says whether the data file exists, and refuses anything
// chatd cannot use as one.
func inspectDataFile(path string, log zerolog.Logger) (exists bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, refusal(path, "cannot inspect the data file", err, accessRemedy(path, err))
	}
	switch {
	case fi.IsDir():
		return false, refusal(path, "a directory is where the data file should be", nil,
			"move the directory away (if it holds a data file, put that file here instead)")
	case fi.Mode()&fs.ModeSymlink != 0:
		return false, refusal(path, "the data file is a symbolic link", nil,
			"compaction replaces the file, which would break the link: put the file itself here "+
				"(to keep data on another disk, point the data directory there)")
	case !fi.Mode().IsRegular():
		return false, refusal(path, "the data file is not a regular file ("+fi.Mode().Type().String()+")", nil,
			"move it away and put the data file itself here")
	case fi.Size() == 0:
		return false, refusal(path, "the data file is empty (0 bytes)", nil,
			"chatd never leaves an empty data file (a new store is created with its first record in place), "+
				"so it was truncated or replaced, e.g. by a failed copy or restore: "+
				"restore the latest backup into it, or delete it to start an empty store")
	}
	if err := owned(path, fi); err != nil {
		return false, err
	}
	return true, narrow(path, fi, FileMode, log)
}

// createFile writes a new data file holding records, atomically: a temp file
// is written, fsynced and renamed into place, then the directory is fsynced,
// so a crash leaves no data file or a complete one, never an empty one.
func createFile(path string, records []byte) error {
	if err := atomicfile.Write(path, records, FileMode); err != nil {
		return refusal(path, "cannot create the data file", err, accessRemedy(path, err))
	}
	return nil
}

func lockDir(path string, log zerolog.Logger) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, FileMode)
	if err != nil {
		return nil, refusal(path, "cannot open the lock file", err, accessRemedy(path, err))
	}
	fi, err := f.Stat()
	if err == nil {
		err = narrow(path, fi, FileMode, log)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked: another chatd (or chatd command) is using this data directory; stop it or use another directory", ErrLocked, path)
		}
		return nil, refusal(path, "cannot lock the data directory", err, accessRemedy(path, err))
	}
	return f, nil
}

func unlockDir(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	_ = f.Close()
}
