package db

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/chatd/chatd/internal/logcheck"
)

// nobody is the user the permission tests open stores as, when they run as root.
const nobody = 65534

// openAs opens dir as user uid in a child process (root only) and returns
// what it printed: "opened" or the error.
func openAs(t *testing.T, uid int, dir string) string {
	t.Helper()
	bin := filepath.Join(binDir(t), "db.test")
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), "DB_TEST_CHILD=open", "DB_TEST_DIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	out, _ := cmd.CombinedOutput()
	return strings.TrimSpace(string(out))
}

// binDir holds a copy of the test binary that any user may run.
func binDir(t *testing.T) string {
	t.Helper()
	dir := worldDir(t)
	src, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "db.test"), src, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// worldDir is a temp directory others may enter (t.TempDir is 0700 for root).
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dbtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestOpenRefusals: every file chatd cannot use stops Open with an error
// naming the file, the cause and what to do; nothing is changed.
func TestOpenRefusals(t *testing.T) {
	root := os.Geteuid() == 0
	for _, tc := range []struct {
		name   string
		asUser bool // open as nobody (needs root)
		setup  func(t *testing.T, dir string) string
		want   []string // in the error: cause and remedy
	}{
		{"zero-length data file", false, func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "chatd.db")
			os.WriteFile(p, nil, 0o600)
			return p
		}, []string{"empty (0 bytes)", "restore the latest backup", "delete it to start an empty store"}},
		{"directory instead of the data file", false, func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "chatd.db")
			os.Mkdir(p, 0o700)
			return p
		}, []string{"a directory is where the data file should be", "move the directory away"}},
		{"symbolic link as the data file", false, func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "chatd.db")
			other := filepath.Join(t.TempDir(), "elsewhere.db")
			os.WriteFile(other, []byte("x"), 0o600)
			os.Symlink(other, p)
			return p
		}, []string{"symbolic link", "put the file itself here"}},
		{"fifo as the data file", false, func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "chatd.db")
			syscall.Mkfifo(p, 0o600)
			return p
		}, []string{"not a regular file", "move it away"}},
		{"data directory is a file", false, func(t *testing.T, dir string) string {
			os.Remove(dir)
			os.WriteFile(dir, []byte("x"), 0o600)
			return dir
		}, []string{"the data directory is not a directory", "choose another data directory"}},
		{"directory instead of the lock file", false, func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "chatd.lock")
			os.Mkdir(p, 0o700)
			return p
		}, []string{"cannot open the lock file", "is a directory", "move it elsewhere"}},
		{"directory instead of the temp file", false, func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "chatd.db.tmp")
			os.Mkdir(p, 0o700)
			return p
		}, []string{"a directory is where compaction writes its temp file", "move it away"}},
		{"data file of another user", true, func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "chatd.db")
			os.WriteFile(p, []byte("x"), 0o644)
			return p // owned by root
		}, []string{"owned by uid 0, but chatd runs as uid 65534", "chown -R 65534:65534"}},
		{"data directory of another user", true, func(t *testing.T, dir string) string {
			os.Chown(dir, 0, 0)
			return dir
		}, []string{"owned by uid 0, but chatd runs as uid 65534", "chown -R 65534:65534"}},
		{"data file without write permission", true, func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "chatd.db")
			os.WriteFile(p, []byte("x"), 0o400)
			os.Chown(p, nobody, nobody)
			return p
		}, []string{"cannot open the data file", "permission denied", "chatd runs as uid 65534", "chmod 700 the directory, 600 the files"}},
		{"data directory without write permission", true, func(t *testing.T, dir string) string {
			os.Chmod(dir, 0o500)
			return filepath.Join(dir, "chatd.lock")
		}, []string{"cannot open the lock file", "permission denied", "chatd runs as uid 65534"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.asUser && !root {
				t.Skip("needs root to open as another user")
			}
			base := t.TempDir()
			if tc.asUser {
				base = worldDir(t)
			}
			dir := filepath.Join(base, "data")
			os.Mkdir(dir, 0o700)
			if tc.asUser {
				os.Chown(dir, nobody, nobody)
			}
			path := tc.setup(t, dir)
			var msg string
			if tc.asUser {
				msg = openAs(t, nobody, dir)
			} else if d, err := Open(dir, Options{}); err == nil {
				d.Close()
				msg = "opened"
			} else {
				msg = err.Error()
			}
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Fatalf("refusal does not say %q:\n%s", w, msg)
				}
			}
		})
	}
}

func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestFilesAreOwnerOnly: the data directory is 0700 and every file the store
// creates (data file, lock, compaction temp file, the compacted file) is
// 0600, whatever the umask; wider modes found at Open are narrowed and logged.
func TestFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	var tmpMode os.FileMode
	d, c := openNotes(t, dir, Options{Faults: &Faults{Compact: func(n int) error {
		if n == 1 {
			tmpMode = perm(t, filepath.Join(dir, "chatd.db.tmp"))
		}
		return nil
	}}})
	churn(t, c, 50, 2)
	if err := d.Shrink(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "chatd.db"): 0o600, filepath.Join(dir, "chatd.lock"): 0o600} {
		if got := perm(t, path); got != want {
			t.Errorf("%s: mode %#o, want %#o", path, got, want)
		}
	}
	if tmpMode != 0o600 {
		t.Errorf("compaction temp file: mode %#o, want 0600", tmpMode)
	}
	d.Close()

	// Files left wider by an older version or a copy are narrowed.
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Join(dir, "chatd.db"), 0o644)
	os.Chmod(filepath.Join(dir, "chatd.lock"), 0o666)
	var log bytes.Buffer
	d, err := Open(dir, Options{Logger: logTo(&log)})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "chatd.db"): 0o600, filepath.Join(dir, "chatd.lock"): 0o600} {
		if got := perm(t, path); got != want {
			t.Errorf("%s: mode %#o after reopening, want %#o", path, got, want)
		}
		if !strings.Contains(log.String(), `"`+path+`"`) {
			t.Errorf("narrowing %s not logged: %s", path, log.String())
		}
	}
	// SecureFile does the same for files the caller owns (admins.json).
	other := filepath.Join(dir, "admins.json")
	os.WriteFile(other, []byte("[]"), 0o644)
	log.Reset()
	if err := SecureFile(other, logTo(&log)); err != nil || perm(t, other) != 0o600 || !strings.Contains(log.String(), `"was":"0644"`) {
		t.Fatalf("SecureFile: %v, mode %#o, log %s", err, perm(t, other), log.String())
	}
}

// TestNewStoreNeverEmpty: a new data file appears with its first record, so
// an empty file is never chatd's own; a fresh store opens, writes, reopens.
func TestNewStoreNeverEmpty(t *testing.T) {
	dir := t.TempDir()
	d, c := openNotes(t, dir, Options{})
	if fi, err := os.Stat(filepath.Join(dir, "chatd.db")); err != nil || fi.Size() == 0 {
		t.Fatalf("new data file: %v, %v", fi, err)
	}
	fill(t, c, 1)
	d.Close()
	d, c = openNotes(t, dir, Options{})
	defer d.Close()
	if c.Count() != 1 {
		t.Fatalf("count %d", c.Count())
	}
	if _, err := c.Insert(context.Background(), note{Who: "a", Ref: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "chatd.lock") {
		t.Fatalf("second open: %v", err)
	}
}

// TestLogLinesHaveNoDuplicateKeys is issue 10 item 23: the caller names the
// component in the logger it passes; the store adds no field of its own
// context, so no key appears twice. Every line the store logs in a life with
// warnings (narrowed modes, a torn tail, a failed write, a compaction) is
// read with a strict parser.
func TestLogLinesHaveNoDuplicateKeys(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	log := logTo(&out).With().Str("component", "db").Logger()
	fail := false
	d, c := openNotes(t, dir, Options{Logger: log, Faults: &Faults{Write: func(int) error {
		if fail {
			return syscall.ENOSPC
		}
		return nil
	}}})
	churn(t, c, 30, 2)
	fail = true
	c.Insert(context.Background(), note{Who: "x", Ref: "y"})
	fail = false
	if _, err := c.Insert(context.Background(), note{Who: "x", Ref: "y"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Shrink(); err != nil {
		t.Fatal(err)
	}
	d.Close()
	os.Chmod(filepath.Join(dir, "chatd.db"), 0o644)
	f, _ := os.OpenFile(filepath.Join(dir, "chatd.db"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("*3\r\n$3\r\nset\r\n$4\r\nto")
	f.Close()
	d, _ = openNotes(t, dir, Options{Logger: log})
	d.Close()
	text := out.String()
	n, err := logcheck.Lines(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 || strings.Count(text, `"component":"db"`) != n {
		t.Fatalf("%d lines, want warnings and info lines each with one component field:\n%s", n, text)
	}
}
