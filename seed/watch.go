package seed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/chatd/chatd/store"
)

// Version identifies one state of the seed file: any write or replacement
// changes it (modification time, size or inode).
type Version struct {
	exists bool
	mod    time.Time
	size   int64
	ino    uint64
}

// Stat returns the seed file's current Version; a missing file is a Version too.
func Stat(dir string) (Version, error) {
	fi, err := os.Stat(Path(dir))
	if errors.Is(err, os.ErrNotExist) {
		return Version{}, nil
	}
	if err != nil {
		return Version{}, fmt.Errorf("stat admins seed file %s: %w", Path(dir), err)
	}
	v := Version{exists: true, mod: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		v.ino = st.Ino
	}
	return v, nil
}

// FixMode makes the seed file owner-only (0600) if it is readable or writable
// by others, and reports whether it had to (the caller warns: the file holds
// password hashes).
func FixMode(dir string) (bool, error) {
	path := Path(dir)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat admins seed file %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return false, nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return false, fmt.Errorf("admins seed file %s is readable by others (mode %v) and cannot be made 0600: %w; "+
			"run chatd as the file's owner or chmod 600 it", path, fi.Mode().Perm(), err)
	}
	return true, nil
}

// ErrNoAdmins refuses a seed file that lists no admin while chatd runs:
// applying it would lock every agent out.
var ErrNoAdmins = errors.New("lists no admin")

// Watch applies the seed file while ctx lives: whenever its Version differs
// from the last one seen (checked every interval, never if interval is 0;
// since is the Version the caller loaded), and at once for each value
// received on now (SIGHUP, the control socket; a non-nil one gets the result). A file that cannot be loaded, or lists no admin, is given
// to onError and not applied: the admins in force stay. apply and onError run
// on Watch's goroutine, one at a time.
func Watch(ctx context.Context, dir string, interval time.Duration, since Version, now <-chan chan error,
	apply func([]store.Admin) error, onError func(error)) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	last := since
	for {
		var reply chan error
		select {
		case <-ctx.Done():
			return
		case reply = <-now:
		case <-tick:
			v, err := Stat(dir)
			if err != nil || v == last {
				continue
			}
		}
		v, _ := Stat(dir)
		admins, err := Load(dir)
		if err == nil && len(admins) == 0 {
			err = fmt.Errorf("admins seed file %s %w: keeping the admins in force; add one with 'chatd admin set'", Path(dir), ErrNoAdmins)
		}
		if err == nil {
			err = apply(admins)
		}
		if err != nil {
			onError(err)
		}
		last = v // a broken version is reported once, not every interval
		if reply != nil {
			reply <- err
		}
	}
}

// ChownLikeDir gives f the owner of directory dir when this process runs as
// root: a file that root writes into chatd's data directory (chatd admin
// set, chatd restore run with sudo) must stay readable by the account chatd
// runs as. As any other user it does nothing.
func ChownLikeDir(f *os.File, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("give %s to the data directory's owner (uid %d): %w", f.Name(), st.Uid, err)
	}
	return nil
}
