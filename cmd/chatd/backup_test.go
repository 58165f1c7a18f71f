package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/store"
)

// fillStore writes n messages into a new store in dir and closes it.
func fillStore(t *testing.T, dir string, n int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, _, _ := st.CreateVisitor(ctx, "Ann", nil)
	for i := 0; i < n; i++ {
		if _, _, err := st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: fmt.Sprint(i), Text: "hello there"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOfflineBackupIsReadOnly: with chatd stopped, a backup writes nothing
// in the data directory, leaves out a torn tail (saying so) and refuses a
// damaged file.
func TestOfflineBackupIsReadOnly(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 30)
	os.Remove(filepath.Join(dir, "chatd.lock")) // as on a fresh volume copy: the backup must not create it
	live := filepath.Join(dir, "chatd.db")
	good, _ := os.ReadFile(live)
	out := t.TempDir()
	const torn = "*3\r\n$3\r\nset\r\n$9\r\nmessages:"

	for _, tc := range []struct {
		name    string
		content []byte
		code    int
		want    string
	}{
		{"whole", good, 0, "without locking or writing it"},
		{"torn tail", append(append([]byte(nil), good...), torn...), 0, fmt.Sprintf("torn last record of %d bytes", len(torn))},
		{"damaged", func() []byte { b := append([]byte(nil), good...); b[len(b)/2] ^= 1; return b }(), 1, "corrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(live, tc.content, 0o600)
			before := listDir(t, dir) + lockState(dir)
			file := filepath.Join(out, tc.name+".db")
			code, stdout, stderr := runBin(t, "", nil, "backup", file, "--data", dir)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s%s", code, tc.code, tc.want, stdout, stderr)
			}
			if after := listDir(t, dir) + lockState(dir); after != before {
				t.Fatalf("an offline backup changed the data dir:\nbefore %s\nafter  %s", before, after)
			}
			if tc.code != 0 {
				if _, err := os.Stat(file); err == nil {
					t.Fatal("a refused backup left a file")
				}
				return
			}
			if m := fileMode(t, file); m != 0o600 {
				t.Fatalf("backup mode %v", m)
			}
			if err := db.CheckFile(file); err != nil {
				t.Fatalf("the backup is not a whole data file: %v", err)
			}
		})
	}
	code, _, stderr := runBin(t, "", nil, "backup", filepath.Join(out, "x.db"), "--data", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "no data file") || !strings.Contains(stderr, "--data") {
		t.Fatalf("backup of an empty dir: %d %s", code, stderr)
	}
}

func lockState(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "chatd.lock")); err == nil {
		return " lock file present"
	}
	return ""
}

// TestBackupOfARunningChatd: by --data through the control socket (0600, gone
// after the stop); refused clearly when the socket is unreachable; never
// written over chatd's own files.
func TestBackupOfARunningChatd(t *testing.T) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, dir)
	sock := filepath.Join(dir, "chatd.sock")
	if m := fileMode(t, sock); m != 0o600 {
		t.Fatalf("control socket mode %v, want 0600", m)
	}
	if m := fileMode(t, seed.Path(dir)); m != 0o600 {
		t.Fatalf("admins file mode %v", m)
	}
	live := filepath.Join(dir, "chatd.db")
	for _, name := range []string{live, filepath.Join(dir, "admins.json"), sock} {
		code, _, stderr := runBin(t, "", nil, "backup", name, "--data", dir)
		if code == 0 || !strings.Contains(stderr, "chatd's own") || !strings.Contains(stderr, "elsewhere") {
			t.Fatalf("backup onto %s: %d %s", name, code, stderr)
		}
	}
	file := filepath.Join(t.TempDir(), "b.db")
	if code, stdout, stderr := runBin(t, "", nil, "backup", file, "--data", dir); code != 0 || !strings.Contains(stdout, sock) {
		t.Fatalf("online backup by --data: %d %s %s", code, stdout, stderr)
	}
	if err := db.CheckFile(file); err != nil {
		t.Fatal(err)
	}
	c.log.waitMsg(t, "backup sent")

	os.Remove(sock) // e.g. deleted by a cleanup job
	code, _, stderr := runBin(t, "", nil, "backup", file+".2", "--data", dir)
	if code != 1 || !strings.Contains(stderr, "chatd is running") || !strings.Contains(stderr, sock) || !strings.Contains(stderr, "--url") {
		t.Fatalf("backup with the socket gone: %d %s", code, stderr)
	}
	c.Stop(t)
	if _, err := os.Stat(sock); err == nil {
		t.Fatal("control socket left after the stop")
	}
	// A socket file left by a killed chatd does not get in the way.
	c = startChild(t, dir)
	c.Kill(t)
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("killed chatd left no socket file (%v): the test does not test a stale socket", err)
	}
	if code, stdout, stderr := runBin(t, "", nil, "backup", file+".3", "--data", dir); code != 0 || !strings.Contains(stdout, "offline") {
		t.Fatalf("backup with a stale socket: %d %s %s", code, stdout, stderr)
	}
	startChild(t, dir) // and chatd starts over the stale socket
}

// TestAdminsFileModeFixed: an admins file readable by others is made 0600 at
// start, with a warning.
func TestAdminsFileModeFixed(t *testing.T) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	os.Chmod(seed.Path(dir), 0o644)
	c := startChild(t, dir)
	c.log.waitMsg(t, "narrowed the mode of a data file readable by other users (was it created by an older chatd or copied in?)")
	if m := fileMode(t, seed.Path(dir)); m != 0o600 {
		t.Fatalf("admins file mode %v", m)
	}
}
