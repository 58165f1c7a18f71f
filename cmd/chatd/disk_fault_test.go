package main

import (
	"context"
	"fmt"
	"io"
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

// TestFilesOnAFullDisk: chatd's own files written on a full file system
// (ENOSPC from a real tmpfs) fail naming the file and the cause and leave
// nothing behind: a backup (exit 1, no backup file, no temp file), the
// VAPID keys created at the first start with --push-subject (chatd does not
// start; no key file). Once there is room the same command works.
func TestFilesOnAFullDisk(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, disk string) (code int, out, errOut string)
		want []string
		made string // the file the command writes once there is room
	}{
		{"backup", func(t *testing.T, disk string) (int, string, string) {
			src := t.TempDir()
			storeWith(t, src, 5, 0)
			return runBin(t, "", nil, "backup", filepath.Join(disk, "backup.db"), "--data", src)
		}, []string{"backup.db", "no space left on device"}, "backup.db"},
		{"VAPID keys", func(t *testing.T, disk string) (int, string, string) {
			data := filepath.Join(disk, "data")
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			p := &inproc{log: newLogLines()}
			log := p.log
			args := []string{"--addr", "127.0.0.1:0", "--data", data, "--bcrypt-cost", "4", "--log-format", "json",
				"--push-subject", "mailto:ops@example.com"}
			done := make(chan int, 1)
			go func() { done <- run(ctx, args, noEnv, io.Discard, log) }()
			select {
			case code := <-done:
				return code, "", log.String()
			case <-p.logListening():
				cancel()
				return 0 - <-done, "", log.String() // started: stopped again; 0 unless the stop failed
			}
		}, []string{"vapid.json", "no space left on device"}, "data/vapid.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disk := chatdtest.SmallDisk(t, 1<<20)
			if tc.name == "VAPID keys" {
				data := filepath.Join(disk, "data")
				storeWith(t, data, 3, 0)
				if code, out, errOut := runBin(t, "pw\n", nil, "admin", "set", "ann", "--data", data, "--bcrypt-cost", "4"); code != 0 {
					t.Fatalf("admin set: %d %s %s", code, out, errOut)
				}
			}
			free := chatdtest.FillDisk(t, disk)
			before := listDir(t, disk)
			code, out, errOut := tc.run(t, disk)
			if code == 0 {
				t.Fatalf("exit 0 on a full disk: %s %s", out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if _, err := os.Stat(filepath.Join(disk, tc.made)); err == nil {
				t.Errorf("%s was written on a full disk", tc.made)
			}
			if after := listDir(t, disk); after != before {
				t.Errorf("a failed write left something behind:\nbefore %s\nafter  %s", before, after)
			}
			free()
			if code, out, errOut := tc.run(t, disk); code != 0 {
				t.Fatalf("with room: exit %d %s %s", code, out, errOut)
			}
			if _, err := os.Stat(filepath.Join(disk, tc.made)); err != nil {
				t.Errorf("with room: %v", err)
			}
		})
	}
}
