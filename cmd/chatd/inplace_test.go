package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/seed"
)

// TestDataFileMovedAwayOverRealSockets: an operator moves the data file
// away while chatd runs (by hand, a careless cleanup). chatd stops taking
// writes instead of acknowledging messages into a file no path names:
// within a second /readyz says why, the next message is answered
// unavailable, and once the file is back and chatd restarted, every message
// acknowledged before the move is there.
func TestDataFileMovedAwayOverRealSockets(t *testing.T) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, dir)
	w, _, token := visitor(t, c.url(), "Ann")
	w.send("client:message", map[string]any{"cid": "m-1", "text": "before"})
	w.expect("client:message", nil)

	path := filepath.Join(dir, "chatd.db")
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		res, body := httpDo(t, "GET", c.url()+"/readyz", "", "")
		if res.StatusCode == http.StatusServiceUnavailable && strings.Contains(body, "the data file was removed or replaced") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after the data file was moved away: %d %q", res.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.send("client:message", map[string]any{"cid": "m-2", "text": "after the move"})
	var e struct{ Code, CID string }
	w.expect("error", &e)
	if e.Code != "unavailable" || e.CID != "m-2" {
		t.Fatalf("error %+v, want unavailable for m-2", e)
	}

	// A store that stopped writing ends chatd with exit 1 (it could not
	// close its file cleanly), which a supervisor reports.
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := c.Wait(t); code != 1 {
		t.Fatalf("exit %d after SIGTERM with the store stopped, want 1", code)
	}
	if err := os.Rename(path+".moved", path); err != nil {
		t.Fatal(err)
	}
	c.Restart(t)
	w2 := dialWS(t, c.url(), "/ws/client")
	w2.send("client:add", map[string]any{"name": "Ann", "token": token, "after": 0})
	var replay []message
	w2.expect("client:messages", &replay)
	if len(replay) != 1 || replay[0].CID != "m-1" {
		t.Fatalf("after the file came back and a restart: %+v, want m-1 alone", replay)
	}
}
