package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/store"
)

// storeWith makes a stopped store in dir holding n messages of one visitor,
// owned by uid (0: the test's user), and returns the visitor's id.
func storeWith(t *testing.T, dir string, n int, uid int) string {
	t.Helper()
	st, err := store.Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, _, err := st.CreateVisitor(ctx, "Ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, _, err := st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: fmt.Sprint(i), Text: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if uid != 0 {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if err := os.Lchown(filepath.Join(dir, e.Name()), uid, uid); err != nil {
				t.Fatal(err)
			}
		}
	}
	return v.ID
}

// messageCount opens the stopped store in dir and counts its messages.
func messageCount(t *testing.T, dir string) int {
	t.Helper()
	st, err := store.Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return st.MessageCount()
}

// TestRestoreOnAFailingDisk: a restore the data directory refuses (a full
// file system, a directory chatd's user may not write) fails saying nothing
// was changed, and nothing was; one whose rename went through but whose
// directory fsync failed (the directory cannot be opened: mode 0300 for
// chatd's user) is done: exit 0, a warning, and the data file holds the
// backup. Before, that case exited 1 as if the restore had failed.
func TestRestoreOnAFailingDisk(t *testing.T) {
	backups, err := os.MkdirTemp("", "chatdtest-backups-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(backups) })
	os.Chmod(backups, 0o755)
	src := filepath.Join(backups, "src")
	storeWith(t, src, 7, 0)
	backup := filepath.Join(backups, "backup.db")
	if code, out, errOut := runBin(t, "", nil, "backup", backup, "--data", src); code != 0 {
		t.Fatalf("backup: %d %s %s", code, out, errOut)
	}
	os.Chmod(backup, 0o644) // readable by nobody

	for _, tc := range []struct {
		name   string
		nobody bool
		setup  func(t *testing.T, data string) (undo func())
		code   int
		want   []string
	}{
		{"full disk", false, func(t *testing.T, data string) func() { return chatdtest.FillDisk(t, data) },
			1, []string{"no space left on device", "nothing was changed"}},
		{"directory not writable", true, func(t *testing.T, data string) func() {
			os.Chmod(data, 0o500)
			return func() { os.Chmod(data, 0o700) }
		}, 1, []string{"permission denied", "nothing was changed"}},
		{"directory fsync refused", true, func(t *testing.T, data string) func() {
			os.Chmod(data, 0o300)
			return func() { os.Chmod(data, 0o700) }
		}, 0, []string{"warning", "holds the backup now", "directory fsync failed", "permission denied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var data string
			var cred = chatdtest.Nobody(t) // also skips unless root, which SmallDisk needs too
			uid := chatdtest.NobodyID
			if tc.nobody {
				data = chatdtest.DataDirFor(t, uid)
			} else {
				cred, uid = nil, 0
				data = filepath.Join(chatdtest.SmallDisk(t, 1<<20), "data")
			}
			storeWith(t, data, 3, uid)
			before := listDir(t, data)
			undo := tc.setup(t, data)
			code, out, errOut := chatdtest.RunAs(t, cred, chatdtest.Binary(t), "", nil, "restore", backup, "--data", data)
			undo()
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s %s", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if tc.code != 0 {
				if after := listDir(t, data); after != before {
					t.Fatalf("a failed restore changed the data directory:\nbefore %s\nafter  %s", before, after)
				}
				if n := messageCount(t, data); n != 3 {
					t.Fatalf("%d messages after a failed restore, want the 3 in place before", n)
				}
				return
			}
			if n := messageCount(t, data); n != 7 {
				t.Fatalf("%d messages after a restore answered done, want the backup's 7", n)
			}
		})
	}
}

