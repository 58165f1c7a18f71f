package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/internal/atomicfile"
	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/store"
)

func restoreFlags(data *string, minOffset *uint64) *flag.FlagSet {
	fs := newFlagSet("chatd restore")
	dataFlag(fs, data)
	fs.Uint64Var(minOffset, "min-offset", 0,
		"new offsets continue above this one too (when the old data file is lost or unreadable: the highest offset any client may hold)")
	return fs
}

// stageName is the data file name a restore prepares the backup under, next
// to chatd.db, before renaming it into place.
const stageName = "chatd.restore"

// restoreCmd puts backup FILE in place of DIR/chatd.db while chatd is stopped.
func restoreCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var data string
	var minOffset uint64
	fs := restoreFlags(&data, &minOffset)
	pos, err := parseFlags(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, "Usage:\n  chatd restore FILE [--data DIR] [--min-offset N]   (chatd stopped)\n\n"+
			"Puts backup FILE in place of DIR/chatd.db. The old file is kept aside as\n"+
			"DIR/chatd.db.before-restore-<time>; new offsets continue above every offset it\n"+
			"handed out; the store gets a new epoch, so clients resync; admin sessions end.\n\nOptions:\n")
		printOptions(stdout, fs)
		return exitOK
	}
	if err == nil && len(pos) != 1 {
		err = errors.New("want exactly one FILE argument")
	}
	if err != nil {
		return usageError(stderr, " restore", err)
	}
	err = restore(ctx, pos[0], data, minOffset, stdout)
	if errors.Is(err, atomicfile.ErrNotDurable) { // restored all the same: a warning, not a failure
		fmt.Fprintf(stderr, "chatd restore: warning: %v\n", err)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatd restore: %v\n", err)
		return exitFail
	}
	return exitOK
}

// restore replaces dir's data file by the backup file. Every step before the
// final rename works on copies, so a failure (or a crash) leaves chatd.db as
// it was; the old file is hard-linked aside before the rename, so chatd.db
// is never missing.
func restore(ctx context.Context, file, dir string, minOffset uint64, out io.Writer) error {
	const unchanged = "nothing was changed"
	// 1. The backup must be a whole data file.
	if err := db.CheckFile(file); err != nil {
		return fmt.Errorf("read backup: %w; %s. Check the path, or use another backup", err, unchanged)
	}
	inBackup, err := db.ScanSeq(file, "messages")
	if err != nil {
		return fmt.Errorf("read backup: %w; %s", err, unchanged)
	}
	if inBackup.Records == 0 {
		return fmt.Errorf("backup %s is empty (%d bytes, no record): not a chatd backup (every backup holds at least "+
			"the schema record); %s. Use another backup", file, inBackup.Size, unchanged)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory %s: %w; %s", dir, err, unchanged)
	}
	// 2. chatd must be stopped, and stay stopped until the restore is done.
	lock, err := db.LockDir(dir, "")
	if errors.Is(err, db.ErrLocked) {
		return fmt.Errorf("chatd is running on %s (%s): stop it first (systemctl stop chatd, docker stop chatd); %s",
			dir, err, unchanged)
	}
	if err != nil {
		return fmt.Errorf("%w; %s", err, unchanged)
	}
	defer lock.Unlock()
	live := filepath.Join(dir, "chatd.db")
	if fa, err := os.Stat(file); err == nil {
		if fb, err := os.Stat(live); err == nil && os.SameFile(fa, fb) {
			return fmt.Errorf("%s is the data file itself; %s", file, unchanged)
		}
	}

	// 3. What the old file handed out, read as far as it can be read.
	floor := minOffset
	oldExists := false
	fi, err := os.Stat(live)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(out, "no data file %s before: nothing to keep aside\n", live)
	case err != nil:
		return fmt.Errorf("stat %s: %w; %s", live, err, unchanged)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%v): move it away first; %s", live, fi.Mode().Type(), unchanged)
	default:
		oldExists = true
		rep, err := db.ScanSeq(live, "messages")
		if err != nil && minOffset == 0 {
			return fmt.Errorf("cannot read the current data file: %w. Its highest offset is unknown, so the restored "+
				"store could hand out offsets that clients already hold: fix its permissions, or pass --min-offset N "+
				"with N at least the highest offset any client may hold; %s", err, unchanged)
		}
		if err != nil {
			fmt.Fprintf(out, "could not read %s (%v): continuing above --min-offset %d\n", live, err, minOffset)
			break
		}
		fmt.Fprintf(out, "read %s: %d records, highest offset %d, offsets reserved up to %d\n",
			live, rep.Records, rep.MaxID, rep.Reserved)
		if rep.Skipped > 0 {
			fmt.Fprintf(out, "  it is damaged: skipped %d unreadable bytes in %d place(s) of %d bytes and read on past them\n",
				rep.Skipped, rep.Damaged, rep.Size)
		}
		floor = max(floor, rep.Max())
	}

	// 4. Prepare the backup as a copy next to the data file: continue above
	// the floor, a new epoch, no sessions (a backup's sessions may have been
	// revoked since it was taken).
	stage := filepath.Join(dir, stageName+".db")
	cleanStage := func() {
		for _, suffix := range []string{".db", ".db.tmp", ".lock"} {
			os.Remove(filepath.Join(dir, stageName+suffix))
		}
	}
	cleanStage()
	defer cleanStage() // after the rename only the lock file is left to remove
	if err := copyFileSync(file, stage); err != nil {
		return fmt.Errorf("%w; %s", err, unchanged)
	}
	info, err := sealStage(ctx, dir, floor)
	if err != nil {
		return fmt.Errorf("prepare the backup in %s: %w; %s", stage, err, unchanged)
	}

	// 5. Keep the old file aside, then swap.
	if oldExists {
		aside, err := keepAside(live)
		if err != nil {
			return fmt.Errorf("%w; %s", err, unchanged)
		}
		fmt.Fprintf(out, "old data file kept as %s (mode 0600)\n", aside)
	}
	if err := os.Rename(stage, live); err != nil {
		return fmt.Errorf("move %s to %s: %w; the old data file is still in place", stage, live, err)
	}
	// From here the restore is done and cannot be undone (renaming the old
	// file back needs the same directory): a failed directory fsync is
	// reported as done, with a warning (atomicfile.ErrNotDurable).
	synced := atomicfile.SyncDir(dir)
	fmt.Fprintf(out, "restored %s into %s: %d messages, highest offset %d\n", file, live, info.messages, inBackup.MaxID)
	fmt.Fprintf(out, "new offsets continue above %d; new epoch %s (was %s): clients resync\n", info.floor, info.epoch, info.oldEpoch)
	fmt.Fprintf(out, "%d admin sessions from the backup ended: agents log in again; admins come from %s, unchanged\n",
		info.sessions, filepath.Join(dir, "admins.json"))
	if synced != nil {
		return fmt.Errorf("%s holds the backup now, %w (%w): check the disk (dmesg); after a crash or power loss "+
			"before the next successful sync, run this restore again", live, atomicfile.ErrNotDurable, synced)
	}
	return nil
}

type stageInfo struct {
	messages        int
	floor           uint64
	epoch, oldEpoch string
	sessions        int
}

// sealStage opens the staged copy as a store and makes it safe to serve.
func sealStage(ctx context.Context, dir string, floor uint64) (stageInfo, error) {
	st, err := store.Open(dir, db.Options{Name: stageName, Sync: db.SyncAlways, Logger: zerolog.Nop()})
	if err != nil {
		return stageInfo{}, err
	}
	info := stageInfo{messages: st.MessageCount(), oldEpoch: st.Epoch()}
	info.floor = max(floor, st.LastOffset()) // LastOffset includes the backup's own reservations
	if err := st.RaiseOffsets(ctx, floor); err != nil {
		st.Close()
		return info, err
	}
	if info.epoch, err = st.ResetEpoch(ctx); err == nil {
		info.sessions, err = st.DropSessions(ctx)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return info, err
}

// keepAside hard-links the data file to a timestamped name (a copy where
// links are not possible), mode 0600, and returns that name.
func keepAside(live string) (string, error) {
	stamp := time.Now().UTC().Format("20060102T150405Z")
	aside := live + ".before-restore-" + stamp
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s.before-restore-%s-%d", live, stamp, i)
	}
	if err := os.Link(live, aside); err != nil {
		if err := copyFileSync(live, aside); err != nil {
			return "", fmt.Errorf("keep the old data file aside: %w", err)
		}
	}
	if err := os.Chmod(aside, 0o600); err != nil {
		return "", fmt.Errorf("chmod %s: %w", aside, err)
	}
	return aside, nil
}

// copyFileSync copies from to a new file to (mode 0600, owned like its
// directory when run as root) and fsyncs it.
func copyFileSync(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("open %s: %w", from, err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", to, err)
	}
	if err := seed.ChownLikeDir(out, filepath.Dir(to)); err != nil { // run as root: chatd's user must read it
		out.Close()
		os.Remove(to)
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(to)
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(to)
		return fmt.Errorf("fsync %s: %w", to, err)
	}
	return out.Close()
}
