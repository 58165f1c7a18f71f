package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/store"
)

func backupFlags(data, base, token *string) *flag.FlagSet {
	fs := newFlagSet("chatd backup")
	dataFlag(fs, data)
	fs.StringVar(base, "url", "", "base URL of a running chatd, e.g. http://127.0.0.1:8080 (online backup)")
	fs.StringVar(token, "token", "", "admin login token for --url (secret: CHATD_TOKEN_FILE works)")
	return fs
}

// backupCmd writes a consistent snapshot of the store to FILE: online through
// a running server's GET /api/backup (--url), or offline from --data when no
// server holds the data directory. FILE appears only once complete.
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var data, base, token string
	fs := backupFlags(&data, &base, &token)
	pos, err := parseFlags(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, "Usage:\n  chatd backup FILE --url URL --token TOKEN   (online, from a running server)\n"+
			"  chatd backup FILE [--data DIR]              (offline, server stopped)\n\n"+
			"Restore: stop chatd, copy FILE to DIR/chatd.db, start chatd.\n\nOptions:\n")
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
	if base != "" {
		n, err = writeFileAtomic(file, func(w io.Writer) error { return backupOnline(ctx, base, token, w) })
	} else {
		n, err = writeFileAtomic(file, func(w io.Writer) error { return backupOffline(data, w) })
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatd backup: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "backup written to %s (%d bytes)\n", file, n)
	return exitOK
}

func backupOnline(ctx context.Context, base, token string, w io.Writer) error {
	url := strings.TrimRight(base, "/") + "/api/backup"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bad --url %q: %w", base, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("GET %s: %s %s", url, res.Status, strings.TrimSpace(string(msg)))
	}
	if _, err := io.Copy(w, res.Body); err != nil {
		return fmt.Errorf("download backup: %w", err)
	}
	if s := res.Trailer.Get(server.BackupStatusTrailer); s != "ok" {
		return fmt.Errorf("server did not finish the backup (status %q); see its log", s)
	}
	return nil
}

func backupOffline(dir string, w io.Writer) error {
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	st, err := store.Open(dir, db.Options{Sync: db.SyncNever, Logger: zerolog.Nop()})
	if err != nil {
		return fmt.Errorf("open %s (if chatd is running on it, use --url and --token): %w", dir, err)
	}
	if err := st.Backup(w); err != nil {
		st.Close()
		return fmt.Errorf("backup %s: %w", dir, err)
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("close %s: %w", dir, err)
	}
	return nil
}

// writeFileAtomic writes through fill into a temp file next to path, fsyncs
// and renames it into place; on error nothing is left behind.
func writeFileAtomic(path string, fill func(io.Writer) error) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	cw := &countingWriter{w: f}
	if err := fill(cw); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return 0, fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, fmt.Errorf("rename to %s: %w", path, err)
	}
	return cw.n, nil
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
