package main

import (
	"strings"
	"testing"
)

// TestMaxNameAndTextFromOneSource: --max-name above 64 and --max-text reach
// the store that enforces them (issue 11: names over 64 were refused whatever
// --max-name said), and client:id tells the text limit.
func TestMaxNameAndTextFromOneSource(t *testing.T) {
	p := startRun(t, t.TempDir(), "--max-name", "100", "--max-text", "300")
	name := strings.Repeat("é", 100)
	w := dialWS(t, p.url(), "/ws/client")
	w.send("client:add", map[string]any{"name": name})
	var id struct {
		Name    string `json:"name"`
		MaxText int    `json:"max_text"`
	}
	w.expect("client:id", &id)
	if id.Name != name || id.MaxText != 300 {
		t.Fatalf("client:id name of %d characters, max_text %d", len([]rune(id.Name)), id.MaxText)
	}
	w.send("client:message", map[string]any{"cid": "fits", "text": strings.Repeat("x", 300)})
	w.expect("client:message", nil)
	w.send("client:message", map[string]any{"cid": "over", "text": strings.Repeat("x", 301)})
	var e struct{ Code, CID string }
	w.expect("error", &e)
	if e.Code != "too_large" || e.CID != "over" {
		t.Fatalf("301 bytes: %+v", e)
	}
	w2 := dialWS(t, p.url(), "/ws/client")
	w2.send("client:add", map[string]any{"name": name + "x"})
	w2.expect("error", &e)
	if e.Code != "bad_request" {
		t.Fatalf("101 characters: %+v", e)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
