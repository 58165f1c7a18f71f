package chatdtest

import (
	"os"
	"syscall"
	"testing"
)

// NobodyID is the uid and gid of the unprivileged user tests run chatd as
// when they need a directory chatd cannot write to: tests run as root, for
// whom no mode bit refuses a write (as db/open_test.go does).
const NobodyID = 65534

// Nobody is the credential of NobodyID, for Options.Credential and RunAs.
// It skips the test unless the test runs as root.
func Nobody(t testing.TB) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run chatd as another user")
	}
	return &syscall.Credential{Uid: NobodyID, Gid: NobodyID}
}

// DataDirFor returns a new data directory, mode 0700, owned by uid, inside
// a temp directory others may enter (t.TempDir is 0700 for root); both are
// removed when the test ends.
func DataDirFor(t testing.TB, uid int) string {
	t.Helper()
	base, err := os.MkdirTemp("", "chatdtest-data-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := base + "/data"
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	return dir
}
