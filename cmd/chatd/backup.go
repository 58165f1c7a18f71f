package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/internal/atomicfile"
	"github.com/chatd/chatd/server"
)

func backupFlags(data, base, token *string) *flag.FlagSet {
	fs := newFlagSet("chatd backup")
	dataFlag(fs, data)
	fs.StringVar(base, "url", "", "base URL of a running chatd, e.g. http://127.0.0.1:8080 (online backup)")
	fs.StringVar(token, "token", "", "login token of an admin-role session for --url (secret: CHATD_TOKEN_FILE works)")
	return fs
}

// backupCmd writes a consistent snapshot of the store to FILE: from the
// chatd serving --data through its control socket (no token needed: the
// socket is owner-only), from a stopped --data read-only, or through a
// running server's GET /api/backup (--url, admin role). FILE appears only
// once complete, mode 0600.
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var data, base, token string
	fs := backupFlags(&data, &base, &token)
	pos, err := parseFlags(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, "Usage:\n  chatd backup FILE [--data DIR]              (chatd running on DIR or stopped)\n"+
			"  chatd backup FILE --url URL --token TOKEN   (from another host; admin role)\n\n"+
			"Restore: chatd restore FILE --data DIR (with chatd stopped).\n\nOptions:\n")
		printOptions(stdout, fs)
		return exitOK
	}
	if err == nil && len(pos) != 1 {
		err = errors.New("want exactly one FILE argument")
	}
	if err == nil && base != "" && token == "" {
		err = errors.New("--url needs --token (an admin login token from POST /api/login)")
	}
	if err != nil {
		return usageError(stderr, " backup", err)
	}
	file := pos[0]
	var n int64
	var how string
	if base != "" {
		how = "from " + base
		n, err = writeFileAtomic(file, func(w io.Writer) error { return backupOnline(ctx, base, token, w) })
	} else if err = refuseDataFiles(file, data); err == nil {
		n, err = writeFileAtomic(file, func(w io.Writer) error {
			var err error
			how, err = backupLocal(ctx, data, w)
			return err
		})
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatd backup: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "backup written to %s (%d bytes, mode 0600) %s\n", file, n, how)
	return exitOK
}

func backupOnline(ctx context.Context, base, token string, w io.Writer) error {
	url := strings.TrimRight(base, "/") + "/api/backup"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bad --url %q: %w", base, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return fetchBackup(http.DefaultClient, req, w)
}

// fetchBackup GETs a snapshot into w and checks the trailer saying it is whole.
func fetchBackup(c *http.Client, req *http.Request, w io.Writer) error {
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", req.URL, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("GET %s: %s %s", req.URL, res.Status, strings.TrimSpace(string(msg)))
	}
	if _, err := io.Copy(w, res.Body); err != nil {
		return fmt.Errorf("download backup: %w", err)
	}
	if s := res.Trailer.Get(server.BackupStatusTrailer); s != "ok" {
		return fmt.Errorf("server did not finish the backup (status %q); see its log", s)
	}
	return nil
}

// backupLocal backs up data directory dir into w: through the control socket
// of the chatd serving it, else read-only from the stopped directory. It
// returns how it did it.
func backupLocal(ctx context.Context, dir string, w io.Writer) (string, error) {
	sock := filepath.Join(dir, ControlSocketName)
	c, err := (&net.Dialer{Timeout: 3 * time.Second}).DialContext(ctx, "unix", sock)
	switch {
	case err == nil:
		c.Close()
		client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://chatd/backup", nil)
		if err != nil {
			return "", err
		}
		if err := fetchBackup(client, req, w); err != nil {
			return "", fmt.Errorf("backup through %s: %w", sock, err)
		}
		return "from the running chatd through " + sock, nil
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return "", fmt.Errorf("chatd's control socket %s: permission denied: run 'chatd backup' as the user chatd runs as "+
			"(e.g. runuser -u chatd -- chatd backup ...), or use --url and --token", sock)
	}
	dialErr := err // no socket, or one left by a chatd that died: chatd is stopped, unless its lock says otherwise
	locked, err := db.Locked(dir, "")
	if err != nil {
		return "", err
	}
	if locked {
		return "", fmt.Errorf("chatd is running on %s (its lock is held) but its control socket %s cannot be reached (%v): "+
			"run the backup on the same host as the user chatd runs as, or use --url and --token", dir, sock, dialErr)
	}
	path := filepath.Join(dir, "chatd.db")
	_, torn, err := db.Snapshot(path, w)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("no data file %s: nothing to back up (is --data right?)", path)
	case errors.Is(err, db.ErrCorrupt):
		return "", fmt.Errorf("%w; no backup written. Restore the latest good backup (chatd restore), see docs/operations.md", err)
	case err != nil:
		return "", err
	}
	how := "offline: read " + path + " without locking or writing it"
	if torn > 0 {
		how += fmt.Sprintf("; left out a torn last record of %d bytes (a write cut by a crash; chatd drops it at its next start too)", torn)
	}
	return how, nil
}

// refuseDataFiles refuses a backup FILE that is one of chatd's own files in
// dir: renaming the backup over the live data file would replace it.
func refuseDataFiles(file, dir string) error {
	for _, name := range []string{"chatd.db", "chatd.lock", ControlSocketName, "admins.json"} {
		own := filepath.Join(dir, name)
		a, errA := filepath.Abs(file)
		b, errB := filepath.Abs(own)
		if errA == nil && errB == nil && a == b {
			return fmt.Errorf("%s is chatd's own %s: write the backup elsewhere", file, name)
		}
		if fa, err := os.Stat(file); err == nil {
			if fb, err := os.Stat(own); err == nil && os.SameFile(fa, fb) {
				return fmt.Errorf("%s is chatd's own %s: write the backup elsewhere", file, name)
			}
		}
	}
	return nil
}

// writeFileAtomic writes through fill into a new file path, mode 0600,
// atomically and durably (internal/atomicfile); on error nothing is left
// behind. It returns the bytes written.
func writeFileAtomic(path string, fill func(io.Writer) error) (int64, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return 0, fmt.Errorf("%s is a directory: give a file name, e.g. %s", path, filepath.Join(path, "chatd-backup.db"))
	}
	if _, err := os.Stat(filepath.Dir(path)); errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("create %s: directory %s does not exist", path, filepath.Dir(path))
	}
	var n int64
	var fillErr error // returned as is: it already says what went wrong
	err := atomicfile.WriteWith(path, 0o600, func(f *os.File) error {
		cw := &countingWriter{w: f}
		fillErr = fill(cw)
		n = cw.n
		return fillErr
	})
	if fillErr != nil {
		return 0, fillErr
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
