package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/chatd/chatd/internal/logcheck"
	"github.com/chatd/chatd/seed"
)

// setFileSizeLimit sets RLIMIT_FSIZE of process pid (prlimit(2)): writes
// past max bytes fail with EFBIG, as on a full disk.
func setFileSizeLimit(t *testing.T, pid int, max uint64) {
	t.Helper()
	lim := syscall.Rlimit{Cur: max, Max: ^uint64(0)}
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE,
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0); errno != 0 {
		t.Fatalf("prlimit: %v", errno)
	}
}

// TestFullDiskOverRealSockets is issue 10 items 4 and 8 end to end: the
// store's file cannot grow (RLIMIT_FSIZE on the chatd process); the sender
// is told unavailable, /readyz says why; once the file can grow again
// /readyz recovers by itself, the retry with the same cid is stored once,
// and the store reopens after a restart with that one copy.
func TestFullDiskOverRealSockets(t *testing.T) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, dir)
	w, id, token := visitor(t, c.url(), "Ann")
	w.send("client:message", map[string]any{"cid": "m-1", "text": "before"})
	w.expect("client:message", nil)

	fi, err := os.Stat(filepath.Join(dir, "chatd.db"))
	if err != nil {
		t.Fatal(err)
	}
	setFileSizeLimit(t, c.PID(), uint64(fi.Size())+40) // room for part of one record: a partial write
	w.send("client:message", map[string]any{"cid": "m-full", "text": "while the disk is full"})
	var e struct{ Code, CID string }
	w.expect("error", &e)
	if e.Code != "unavailable" || e.CID != "m-full" {
		t.Fatalf("error %+v, want unavailable for m-full", e)
	}
	res, body := httpDo(t, "GET", c.url()+"/readyz", "", "")
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "store writes failing: write failed: file too large") {
		t.Fatalf("readyz while writes fail: %d %q", res.StatusCode, body)
	}
	if res, _ := httpDo(t, "GET", c.url()+"/healthz", "", ""); res.StatusCode != 200 {
		t.Fatalf("healthz %d: the process is alive", res.StatusCode)
	}

	setFileSizeLimit(t, c.PID(), ^uint64(0))
	deadline := time.Now().Add(wait)
	for {
		res, _ := httpDo(t, "GET", c.url()+"/readyz", "", "")
		if res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readyz did not recover once the file could grow")
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.send("client:message", map[string]any{"cid": "m-full", "text": "while the disk is full"})
	var m message
	w.expect("client:message", &m)
	if m.CID != "m-full" || m.Offset == 0 {
		t.Fatalf("retry: %+v", m)
	}

	c.Restart(t)
	w2 := dialWS(t, c.url(), "/ws/client")
	w2.send("client:add", map[string]any{"name": "Ann", "token": token, "after": 0})
	var replay []message
	w2.expect("client:messages", &replay)
	var cids []string
	for _, m := range replay {
		if m.Client != id {
			t.Fatalf("replay of another visitor's message %+v", m)
		}
		cids = append(cids, m.CID)
	}
	if strings.Join(cids, ",") != "m-1,m-full" {
		t.Fatalf("after restart the conversation is %v, want m-1 and one m-full", cids)
	}
}

// TestDataFilesOwnerOnly is issue 10 item 17 for the whole data directory:
// files chatd finds with wide modes (a data dir made by hand, a store and
// admins file copied in) are narrowed and logged; everything chatd creates is
// owner-only.
func TestDataFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	p := startRun(t, dir)
	p.stop(t)
	copied := filepath.Join(dir, "copied-in.json") // e.g. a key file restored with cp
	if err := os.WriteFile(copied, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	wide := map[string]os.FileMode{dir: 0o755, filepath.Join(dir, "chatd.db"): 0o644,
		filepath.Join(dir, "chatd.lock"): 0o644, seed.Path(dir): 0o644, copied: 0o666}
	for path, mode := range wide {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	p = startRun(t, dir)
	for path := range wide {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := os.FileMode(0o600) | fi.Mode()&os.ModeDir; fi.IsDir() && fi.Mode().Perm() != 0o700 || !fi.IsDir() && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
		if !strings.Contains(p.log.String(), path) {
			t.Errorf("narrowing %s was not logged", path)
		}
	}
}

// TestLogIsStrictJSON is issue 10 item 23: every line chatd logs, from every
// component, is one JSON object with no key twice (the store's lines carried
// "component" twice).
func TestLogIsStrictJSON(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir, 0o755); err != nil { // a warning from the store at start
		t.Fatal(err)
	}
	p := startRun(t, dir, "--log-level", "debug")
	w, _, _ := visitor(t, p.url(), "Ann")
	w.send("client:message", map[string]any{"cid": "c1", "text": "hi"})
	w.expect("client:message", nil)
	w.send("nonsense", nil)
	p.stop(t)
	text := p.log.String()
	n, err := logcheck.Lines(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	components := map[string]bool{}
	for _, line := range scanLines(text) {
		var m map[string]any
		json.Unmarshal([]byte(line), &m)
		if c, ok := m["component"].(string); ok {
			components[c] = true
		}
	}
	if n < 5 || !components["db"] || !components["hub"] {
		t.Fatalf("%d lines from components %v; want lines of db and hub:\n%s", n, components, text)
	}
}
