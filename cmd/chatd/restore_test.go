package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/store"
)

// storeEpoch opens the (stopped) store in dir and returns its epoch.
func storeEpoch(t *testing.T, dir string) string {
	t.Helper()
	st, err := store.Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return st.Epoch()
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestRestoreContinuesAboveEveryHeldOffset: a real backup through the
// control socket, messages after it, a refused restore while chatd runs, the
// restore, and then every new offset is above every offset any client held;
// the epoch changed, the old file is kept aside and old sessions are gone.
func TestRestoreContinuesAboveEveryHeldOffset(t *testing.T) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, dir)
	token := login(t, c.url(), "ann", "pw")
	adm, _ := adminSocket(t, c.url(), token)
	v := dialWS(t, c.url(), "/ws/client")
	v.send("client:add", map[string]any{"name": "Vera", "token": "", "after": 0})
	var first struct{ ID, Token, Epoch string }
	v.expect("client:id", &first)
	v.expect("client:replayed", nil)
	id, vtok, heldEpoch := first.ID, first.Token, first.Epoch
	var held uint64 // the highest offset any client was given
	send := func(cid string) {
		t.Helper()
		v.send("client:message", map[string]any{"cid": cid, "text": "msg " + cid})
		var m message
		v.expect("client:message", &m)
		held = max(held, m.Offset)
	}
	for i := 1; i <= 3; i++ {
		send(fmt.Sprint("before-", i))
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	code, out, errOut := runBin(t, "", nil, "backup", backup, "--data", dir)
	if code != 0 || !strings.Contains(out, "control socket") && !strings.Contains(out, "chatd.sock") {
		t.Fatalf("backup: %d %s %s", code, out, errOut)
	}
	if m := fileMode(t, backup); m != 0o600 {
		t.Fatalf("backup file mode %v, want 0600", m)
	}
	for i := 1; i <= 3; i++ {
		send(fmt.Sprint("after-", i))
	}
	adm.send("admin:message", map[string]any{"client": id, "cid": "reply-1", "text": "hello"})
	var r message
	v.expect("client:message", &r)
	held = max(held, r.Offset)

	// Refused while chatd runs, and nothing changes.
	live := filepath.Join(dir, "chatd.db")
	beforeRefusal, _ := os.ReadFile(live)
	code, out, errOut = runBin(t, "", nil, "restore", backup, "--data", dir)
	if code == 0 || !strings.Contains(errOut, "chatd is running") || !strings.Contains(errOut, "stop it first") ||
		!strings.Contains(errOut, "nothing was changed") {
		t.Fatalf("restore while running: %d %s %s", code, out, errOut)
	}
	if after, _ := os.ReadFile(live); !bytes.Equal(after, beforeRefusal) {
		t.Fatal("a refused restore changed the data file")
	}

	c.Stop(t)
	oldEpoch := storeEpoch(t, dir)
	oldFile, _ := os.ReadFile(live)
	code, out, errOut = runBin(t, "", nil, "restore", backup, "--data", dir)
	if code != 0 {
		t.Fatalf("restore: %d %s %s", code, out, errOut)
	}
	t.Logf("restore said:\n%s", out)
	asides, _ := filepath.Glob(live + ".before-restore-*")
	if len(asides) != 1 || !strings.Contains(out, "kept as "+asides[0]) {
		t.Fatalf("old file kept aside as %v; output:\n%s", asides, out)
	}
	if kept, _ := os.ReadFile(asides[0]); !bytes.Equal(kept, oldFile) || fileMode(t, asides[0]) != 0o600 {
		t.Fatalf("the file kept aside is not the old data file, or not 0600 (%v)", fileMode(t, asides[0]))
	}
	if m := fileMode(t, live); m != 0o600 {
		t.Fatalf("restored data file mode %v", m)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "chatd.restore*")); len(left) != 0 {
		t.Fatalf("restore left %v behind", left)
	}
	newEpoch := storeEpoch(t, dir)
	if newEpoch == oldEpoch || newEpoch == "" || !strings.Contains(out, "new epoch "+newEpoch) {
		t.Fatalf("epoch %q -> %q; output:\n%s", oldEpoch, newEpoch, out)
	}

	c2 := startChild(t, dir)
	// Sessions from before the restore are gone.
	if res, _ := httpDo(t, "GET", c2.url()+"/api/session", "", token); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old session after restore: %d", res.StatusCode)
	}
	// The visitor comes back as a client does, with the epoch and the highest
	// offset it held: told to resync, it gets the backup's whole conversation,
	// and new offsets are above all it held.
	w := dialWS(t, c2.url(), "/ws/client")
	w.send("client:add", map[string]any{"name": "Vera", "token": vtok, "after": held, "epoch": heldEpoch})
	var who struct {
		ID, Epoch string
		Resync    bool
	}
	w.expect("client:id", &who)
	var replay []message
	w.expect("client:messages", &replay)
	if who.ID != id || !who.Resync || who.Epoch != newEpoch || len(replay) != 3 || replay[2].CID != "before-3" {
		t.Fatalf("after restore: id %s (want %s), epoch %s (want %s), resync %v, replay %+v", who.ID, id, who.Epoch, newEpoch, who.Resync, replay)
	}
	w.send("client:message", map[string]any{"cid": "after-restore", "text": "still here"})
	var m message
	w.expect("client:message", &m)
	if m.Offset <= held {
		t.Fatalf("offset %d after the restore; clients held up to %d", m.Offset, held)
	}
	tok2 := login(t, c2.url(), "ann", "pw")
	adm2, _ := adminSocket(t, c2.url(), tok2)
	adm2.send("admin:message", map[string]any{"client": id, "cid": "reply-2", "text": "again"})
	var r2 message
	adm2.expect("admin:message", &r2)
	if r2.Offset <= held {
		t.Fatalf("admin reply offset %d after the restore; clients held up to %d", r2.Offset, held)
	}
}

// TestRestoreReadsADamagedOldFile: the old file is read past its damage, the
// output says so, and new offsets continue above it; with no old file,
// --min-offset sets the floor.
func TestRestoreReadsADamagedOldFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, _, _ := st.CreateVisitor(ctx, "Ann", nil)
	add := func(n int, prefix string) {
		for i := 0; i < n; i++ {
			if _, _, err := st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: fmt.Sprint(prefix, i), Text: "some text"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(5, "a")
	var snap bytes.Buffer
	if err := st.Backup(&snap); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	os.WriteFile(backup, snap.Bytes(), 0o600)
	add(60, "b") // offsets up to 65
	st.Close()

	live := filepath.Join(dir, "chatd.db")
	b, _ := os.ReadFile(live)
	mid := len(b) / 2
	i := bytes.Index(b[mid:], []byte("some text")) + mid
	b[i] = 'S' // a checksum now fails mid-file: chatd itself refuses to start on it
	os.WriteFile(live, b, 0o600)

	code, out, errOut := runBin(t, "", nil, "restore", backup, "--data", dir)
	if code != 0 || !strings.Contains(out, "highest offset 65") || !strings.Contains(out, "damaged: skipped") {
		t.Fatalf("restore over a damaged file: %d\n%s%s", code, out, errOut)
	}
	st, err = store.Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: "new", Text: "x"})
	st.Close()
	if err != nil || m.Offset <= 65 {
		t.Fatalf("new offset %d (%v), old file held 65", m.Offset, err)
	}

	// The old file is lost: the operator gives the floor.
	lost := t.TempDir()
	code, out, errOut = runBin(t, "", nil, "restore", backup, "--data", lost, "--min-offset", "5000")
	if code != 0 || !strings.Contains(out, "no data file") {
		t.Fatalf("restore into an empty dir: %d %s %s", code, out, errOut)
	}
	st, err = store.Open(lost, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if m, _, _ := st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: "new", Text: "x"}); m.Offset <= 5000 {
		t.Fatalf("offset %d with --min-offset 5000", m.Offset)
	}
}

// TestRestoreRefusals: every refusal names the file, the cause and the
// remedy, and changes nothing.
func TestRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	st, err := store.Open(src, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, _, _ := st.CreateVisitor(ctx, "Ann", nil)
	for i := 0; i < 20; i++ {
		st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: fmt.Sprint(i), Text: "hello there"})
	}
	st.Close()
	good, _ := os.ReadFile(filepath.Join(src, "chatd.db"))
	files := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(files, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	damaged := append([]byte(nil), good...)
	damaged[len(damaged)/2] ^= 0x01
	for _, tc := range []struct {
		name  string
		file  func(dir string) string
		setup func(dir string)
		want  []string
	}{
		{"missing backup", func(string) string { return filepath.Join(files, "nope.db") }, nil, []string{"nope.db", "no such file", "nothing was changed"}},
		{"damaged backup", func(string) string { return write("damaged.db", damaged) }, nil, []string{"damaged.db", "corrupt", "at byte", "another backup"}},
		{"cut short", func(string) string { return write("short.db", good[:len(good)-7]) }, nil, []string{"short.db", "incomplete record", "another backup"}},
		{"empty backup", func(string) string { return write("empty.db", nil) }, nil, []string{"empty.db", "is empty", "another backup"}},
		{"backup is a directory", func(string) string { return files }, nil, []string{files, "not a regular file"}},
		{"data file is a directory", func(string) string { return write("good.db", good) },
			func(dir string) { os.Mkdir(filepath.Join(dir, "chatd.db"), 0o700) }, []string{"chatd.db", "not a regular file", "move it away"}},
		{"the data file itself", func(dir string) string { return filepath.Join(dir, "chatd.db") },
			func(dir string) { os.WriteFile(filepath.Join(dir, "chatd.db"), good, 0o600) }, []string{"is the data file itself"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				tc.setup(dir)
			}
			before := listDir(t, dir)
			code, out, errOut := runBin(t, "", nil, "restore", tc.file(dir), "--data", dir)
			if code != 1 {
				t.Fatalf("exit %d: %s %s", code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("error %q lacks %q", errOut, w)
				}
			}
			if after := listDir(t, dir); after != before {
				t.Fatalf("a refused restore changed the data dir:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// listDir describes a directory's entries: name, mode, size and content.
// The empty lock file is left out: taking the lock may create it.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		if e.Name() == "chatd.lock" {
			continue
		}
		fi, _ := e.Info()
		fmt.Fprintf(&b, "%s %v %d", e.Name(), fi.Mode(), fi.Size())
		if fi.Mode().IsRegular() {
			c, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			fmt.Fprintf(&b, " %x", c[:min(len(c), 64)])
			fmt.Fprintf(&b, " mtime=%d", fi.ModTime().UnixNano())
		}
		b.WriteString("; ")
	}
	return b.String()
}

// TestRootKeepsFilesReadableByChatd: run as root (sudo), restore and admin
// set leave the files they write owned by the data directory's owner, the
// account chatd runs as.
func TestRootKeepsFilesReadableByChatd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	src := t.TempDir()
	fillStore(t, src, 3)
	dir := t.TempDir()
	const uid, gid = 4321, 4322
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runBin(t, "", nil, "restore", filepath.Join(src, "chatd.db"), "--data", dir); code != 0 {
		t.Fatalf("restore: %s %s", out, errOut)
	}
	chatdSet(t, dir, "ann")
	for _, name := range []string{"chatd.db", "admins.json"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid || st.Gid != gid || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s owned by %d:%d mode %v, want %d:%d 0600", name, st.Uid, st.Gid, fi.Mode().Perm(), uid, gid)
		}
	}
}
