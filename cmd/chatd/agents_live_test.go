package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// agentRows is admin:agents' payload.
type agentRows []struct{ Name, Display string }

func (r agentRows) has(name string) bool {
	for _, a := range r {
		if a.Name == name {
			return true
		}
	}
	return false
}

// untilAgents reads admin:agents frames until ok accepts one.
func untilAgents(w *wsConn, what string, ok func(agentRows) bool) {
	w.t.Helper()
	for {
		f := w.read()
		var rows agentRows
		if f.Type == "admin:agents" && json.Unmarshal(f.Data, &rows) == nil && ok(rows) {
			return
		}
		if f.Type == "error" {
			w.t.Fatalf("waiting for admin:agents %s: %s", what, f.Data)
		}
	}
}

// convEvent is admin:conversation's payload as these tests read it.
type convEvent struct {
	Client, Assignee, By, Updated string
}

// untilConv reads frames until admin:conversation for client by by.
func untilConv(w *wsConn, client, by string) convEvent {
	w.t.Helper()
	for {
		f := w.read()
		var c convEvent
		if f.Type == "admin:conversation" && json.Unmarshal(f.Data, &c) == nil && c.Client == client && c.By == by {
			return c
		}
		if f.Type == "error" {
			w.t.Fatalf("waiting for admin:conversation of %s: %s", client, f.Data)
		}
	}
}

// Open portals learn of every application of the admins file (the CLI, the
// API), and the conversations of a removed agent are unassigned: live, in
// the remover's name ("system" for the CLI), and at boot for agents removed
// while chatd was stopped.
func TestAdminsAppliedLive(t *testing.T) {
	dir := t.TempDir()
	set := func(name string, args ...string) {
		t.Helper()
		a := append([]string{"admin", "set", name, "--data", dir, "--bcrypt-cost", "4"}, args...)
		if code, out, e := runBin(t, name+"'s password\n", nil, a...); code != 0 {
			t.Fatalf("admin set %s: %s%s", name, out, e)
		}
	}
	remove := func(name string) {
		t.Helper()
		if code, out, e := runBin(t, "", nil, "admin", "remove", name, "--data", dir); code != 0 {
			t.Fatalf("admin remove %s: %s%s", name, out, e)
		}
	}
	set("boss", "--role", "admin")
	set("bob")
	set("carl")
	set("dave")
	p := startRun(t, dir, "--admins-poll", "0")
	boss := login(t, p.url(), "boss", "boss's password")
	w, _ := adminSocket(t, p.url(), boss)
	untilAgents(w, "first", func(r agentRows) bool { return r.has("carl") })

	ids := map[string]string{}
	for _, who := range []string{"bob", "carl", "dave"} {
		v, id, _ := visitor(t, p.url(), "for "+who)
		v.send("client:message", map[string]any{"cid": "c1", "text": "hello"})
		v.expect("client:message", nil)
		ids[who] = id
		w.send("admin:assign", map[string]any{"client": id, "to": who})
		if c := untilConv(w, id, "boss"); c.Assignee != who {
			t.Fatalf("assign to %s: %+v", who, c)
		}
	}

	// A new agent, from the CLI: the open portal learns of it.
	set("erin", "--display", "Erin E.")
	untilAgents(w, "with erin", func(r agentRows) bool { return r.has("erin") })

	// carl removed from the CLI: his conversation is unassigned by "system".
	// The agent list comes first, then the unassignment.
	remove("carl")
	untilAgents(w, "without carl", func(r agentRows) bool { return !r.has("carl") })
	if c := untilConv(w, ids["carl"], "system"); c.Assignee != "" {
		t.Fatalf("carl's conversation after his removal: %+v", c)
	}

	// bob removed through the API by boss: unassigned in boss's name.
	if res, b := httpDo(t, "DELETE", p.url()+"/api/agents/bob", "", boss); res.StatusCode != http.StatusNoContent {
		t.Fatalf("delete bob: %d %s", res.StatusCode, b)
	}
	if c := untilConv(w, ids["bob"], "boss"); c.Assignee != "" {
		t.Fatalf("bob's conversation after his removal: %+v", c)
	}

	// dave removed while chatd is stopped: unassigned at the next boot.
	p.stop(t)
	remove("dave")
	p = startRun(t, dir, "--admins-poll", "0")
	boss = login(t, p.url(), "boss", "boss's password")
	w = dialWS(t, p.url(), "/ws/admin")
	w.send("admin:add", map[string]any{"token": boss, "after": 0})
	var list []struct{ ID, Assignee string }
	w.expect("admin:list", &list)
	for _, e := range list {
		if e.Assignee != "" {
			t.Fatalf("after a boot without dave, %s is still assigned to %q", e.ID, e.Assignee)
		}
	}
	var counts struct{ Unassigned int }
	w.expect("admin:counts", &counts)
	if counts.Unassigned != 3 {
		t.Fatalf("unassigned after the boot: %d, want 3 (%s)", counts.Unassigned, strings.Join([]string{ids["bob"], ids["carl"], ids["dave"]}, " "))
	}
}
