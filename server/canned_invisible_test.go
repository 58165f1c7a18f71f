package server

import (
	"strings"
	"testing"
)

// TestCannedInvisibleTextRefused: a canned reply whose text shows nothing
// (zero-width, format, control, filler characters, lone marks) is refused
// with 400 like a blank one, and the stored reply is unchanged; text with
// something visible is stored as sent.
func TestCannedInvisibleTextRefused(t *testing.T) {
	is := newInboxServer(t)
	if res, body := do(t, "PUT", is.url+"/api/canned/hi", `{"text":"Hello"}`, is.ann); res.StatusCode != 200 {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	for _, x := range []string{
		`\u200b`, `\ufeff`, `\u2060`, `\u00ad`, `\u200e\u202e`, `\u2800`, `\u3164`,
		`\u0000`, `\u0085`, `\u2028\u2029`, `\u0301`, `\ue000`, `\uffff`, ` \u200b\n`,
	} {
		res, body := do(t, "PUT", is.url+"/api/canned/hi", `{"text":"`+x+`"}`, is.ann)
		if res.StatusCode != 400 || !strings.Contains(body, "visible") {
			t.Errorf("text %s: %d %s, want 400 naming the visible-character rule", x, res.StatusCode, body)
		}
	}
	if _, list := do(t, "GET", is.url+"/api/canned", "", is.ann); !strings.Contains(list, `"text":"Hello"`) {
		t.Fatalf("stored reply changed: %s", list)
	}
	res, body := do(t, "PUT", is.url+"/api/canned/hi", `{"text":"\u200bHi\u0000"}`, is.ann)
	if res.StatusCode != 200 || !strings.Contains(body, `"text":"`+"\u200b"+`Hi\u0000"`) {
		t.Fatalf("visible text with invisible characters: %d %s, want it stored as sent", res.StatusCode, body)
	}
}
