package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// An agent has one display name, in the admins file; every place that shows
// it agrees: to agents (`chatd admin list`, GET /api/session's display,
// admin:agents) the display name or else the login, to visitors (admin list,
// visitor_display, replies) the display name or else "Support".
func TestDisplayNameOneSource(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"admin", "set", "admin", "--role", "admin", "--data", dir, "--bcrypt-cost", "4"},
		{"admin", "set", "alice", "--display", "Alice from Acme", "--data", dir, "--bcrypt-cost", "4"},
		{"admin", "set", "bob", "--display", "Bob", "--data", dir, "--bcrypt-cost", "4"},
	} {
		if code, out, errOut := runBin(t, "a long password\n", nil, args...); code != 0 {
			t.Fatalf("chatd %v: exit %d %s%s", args, code, out, errOut)
		}
	}
	code, out, errOut := runBin(t, "", nil, "admin", "list", "--data", dir)
	if code != 0 {
		t.Fatalf("admin list: exit %d %s", code, errOut)
	}
	type names struct{ agents, visitors string }
	listed := map[string]names{}
	for _, l := range scanLines(out)[1:] {
		f := strings.Split(l, "\t")
		if len(f) != 4 {
			t.Fatalf("admin list line %q: want 4 columns", l)
		}
		listed[f[0]] = names{f[2], f[3]}
	}
	want := map[string]names{"admin": {"admin", "Support"}, "alice": {"Alice from Acme", "Alice from Acme"}, "bob": {"Bob", "Bob"}}
	for name, w := range want {
		if listed[name] != w {
			t.Errorf("admin list shows %s as %+v, want %+v", name, listed[name], w)
		}
	}

	c := startChild(t, dir)
	var token string
	for name, w := range want {
		tok := login(t, c.url(), name, "a long password")
		if name == "admin" {
			token = tok
		}
		res, body := httpDo(t, "GET", c.url()+"/api/session", "", tok)
		var s struct{ Display, VisitorDisplay string }
		if res.StatusCode != 200 || json.Unmarshal([]byte(strings.Replace(body, "visitor_display", "visitordisplay", 1)), &s) != nil {
			t.Fatalf("session of %s: %d %s", name, res.StatusCode, body)
		}
		if (names{s.Display, s.VisitorDisplay}) != w {
			t.Errorf("GET /api/session of %s says %+v, want %+v as admin list says", name, names{s.Display, s.VisitorDisplay}, w)
		}
	}
	adm, _ := adminSocket(t, c.url(), token)
	var agents []struct{ Name, Display string }
	adm.expect("admin:agents", &agents)
	if len(agents) != len(want) {
		t.Fatalf("admin:agents lists %+v", agents)
	}
	for _, a := range agents {
		if a.Display != want[a.Name].agents {
			t.Errorf("admin:agents shows %s as %q, want %q as admin list says", a.Name, a.Display, want[a.Name].agents)
		}
	}
	// A reply of the agent without a display name reaches the visitor as "Support".
	v, id, _ := visitor(t, c.url(), "Vera")
	v.send("client:message", map[string]any{"cid": "1", "text": "hi"})
	adm.send("admin:message", map[string]any{"client": id, "cid": "r1", "text": "hello"})
	var m struct{ Admin, Display, Text string }
	for m.Text != "hello" {
		v.expect("client:message", &m)
	}
	if m.Admin != want["admin"].visitors || m.Display != want["admin"].visitors {
		t.Errorf("the visitor sees the reply from %q/%q, want %q", m.Admin, m.Display, want["admin"].visitors)
	}
}
