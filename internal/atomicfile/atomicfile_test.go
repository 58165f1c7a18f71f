package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteReplacesWithModeAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keys.json")
	for _, content := range []string{"first", "second, longer content"} {
		if err := Write(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != content {
			t.Fatalf("read %q, %v; want %q", b, err, content)
		}
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", fi.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
	if err := Write(filepath.Join(dir, "missing", "x"), []byte("x"), 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

// nobody is the user TestNotDurable writes as when the test runs as root
// (for root, no mode bit refuses anything), as db/open_test.go does.
const nobody = 65534

// TestNotDurable: a directory chatd's user may write into but not read
// (mode 0300) lets the temp file be created and renamed, then refuses the
// open for the directory fsync. The error wraps ErrNotDurable and the file
// holds the new content; every earlier failure leaves the old content and
// no temp file, and is not ErrNotDurable.
func TestNotDurable(t *testing.T) {
	if os.Getenv("ATOMICFILE_CHILD") != "" {
		err := Write(os.Getenv("ATOMICFILE_PATH"), []byte("new"), 0o600)
		fmt.Printf("err=%v notdurable=%v\n", err, errors.Is(err, ErrNotDurable))
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to write as another user")
	}
	base, err := os.MkdirTemp("", "atomicfile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	bin := filepath.Join(base, "atomicfile.test")
	src, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	for _, tc := range []struct {
		name       string
		mode       os.FileMode
		want       string // the file's content after the write
		notDurable bool
	}{
		{"directory fsync refused", 0o300, "new", true},
		{"temp file refused", 0o500, "old", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, tc.name)
			os.Mkdir(dir, 0o700)
			p := filepath.Join(dir, "keys.json")
			os.WriteFile(p, []byte("old"), 0o600)
			os.Chown(dir, nobody, nobody)
			os.Chown(p, nobody, nobody)
			os.Chmod(dir, tc.mode)
			cmd := exec.Command(bin, "-test.run=^TestNotDurable$")
			cmd.Env = append(os.Environ(), "ATOMICFILE_CHILD=1", "ATOMICFILE_PATH="+p)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
			out, _ := cmd.CombinedOutput()
			if !strings.Contains(string(out), fmt.Sprintf("notdurable=%v", tc.notDurable)) || strings.Contains(string(out), "err=<nil>") {
				t.Fatalf("child said %s; want an error, notdurable=%v", out, tc.notDurable)
			}
			os.Chmod(dir, 0o700)
			if b, err := os.ReadFile(p); err != nil || string(b) != tc.want {
				t.Fatalf("file holds %q, %v; want %q", b, err, tc.want)
			}
			if es, _ := os.ReadDir(dir); len(es) != 1 {
				t.Fatalf("left behind: %v", es)
			}
		})
	}
}
