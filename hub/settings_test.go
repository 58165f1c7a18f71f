package hub

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/store"
)

func boolp(b bool) *bool { return &b }
func intp(n int) *int    { return &n }

// setSettings changes the settings as alice and waits until her socket w is told.
func (ts *testServer) setSettings(w *ws, p store.SettingsPatch) store.InboxSettings {
	ts.t.Helper()
	v, err := ts.hub.SetSettings(ts.t.Context(), p, "alice")
	if err != nil {
		ts.t.Fatalf("SetSettings: %v", err)
	}
	f := nextOf(w, evAdminSettings, func(f settingsFrame) bool { return f.InboxSettings == v.InboxSettings })
	if f.By != "alice" {
		ts.t.Fatalf("admin:settings by %q", f.By)
	}
	return v.InboxSettings
}

// Typing previews follow the setting in force: off, no agent ever gets the
// text; turned on live, agents get it; turned off again, never again.
func TestTypingPreviewSettingAppliesLive(t *testing.T) {
	ts := startServer(t, Config{})
	ts.seedAgents()
	alice, _ := ts.adminAs("alice", adminToken, "", evAdminTyping)
	v, id, _ := ts.visitor("v", "Ann", "", 0)
	type typing struct {
		Client  string  `json:"client"`
		Typing  bool    `json:"typing"`
		Preview *string `json:"preview"`
	}
	// typed sends the visitor's typing with text and returns what alice gets.
	typed := func(text string) typing {
		t.Helper()
		v.send(evClientTyping, map[string]any{"typing": true, "text": text})
		e := nextOf(alice, evAdminTyping, func(e typing) bool { return e.Client == id.ID && e.Typing })
		v.send(evClientTyping, map[string]any{"typing": false})
		nextOf(alice, evAdminTyping, func(e typing) bool { return e.Client == id.ID && !e.Typing })
		return e
	}
	if e := typed("off one"); e.Preview != nil {
		t.Fatalf("preview while off: %q", *e.Preview)
	}
	v.seeing()
	type avail struct {
		TypingPreview *bool `json:"typing_preview"`
	}
	previewIs := func(on bool) func(a avail) bool {
		return func(a avail) bool { return a.TypingPreview != nil && *a.TypingPreview == on }
	}
	ts.setSettings(alice, store.SettingsPatch{TypingPreview: boolp(true)})
	// The connected visitor is told to send its text from now on.
	nextOf(v, evClientAvailability, previewIs(true))
	if e := typed("on <b>two</b>"); e.Preview == nil || *e.Preview != "on <b>two</b>" {
		t.Fatalf("preview after it was turned on: %+v", e)
	}
	// A visitor connecting now is told to send its text.
	v2 := ts.dial("v2", "/ws/client", nil)
	v2.send(evClientAdd, map[string]any{"name": "Bo", "token": "", "after": 0})
	var hello struct {
		TypingPreview bool `json:"typing_preview"`
	}
	v2.expect(evClientID, &hello)
	if !hello.TypingPreview {
		t.Fatal("client:id typing_preview false after the setting was turned on")
	}
	ts.setSettings(alice, store.SettingsPatch{TypingPreview: boolp(false)})
	nextOf(v, evClientAvailability, previewIs(false))
	if e := typed("off three"); e.Preview != nil {
		t.Fatalf("preview after it was turned off: %q", *e.Preview)
	}
	if got := alice.seen.String(); strings.Contains(got, "off one") || strings.Contains(got, "off three") {
		t.Fatalf("a preview reached an agent while previews were off:\n%s", got)
	}
}

// Auto-assignment and its limit follow the setting in force.
func TestAutoAssignSettingAppliesLive(t *testing.T) {
	ts := startServer(t, Config{})
	ts.seedAgents()
	alice, _ := ts.adminAs("alice", adminToken, "", evAdminConversation)
	var ids []string
	var socks []*ws
	for _, name := range []string{"v1", "v2", "v3"} {
		v, id, _ := ts.visitor(name, name, "", 0)
		ids, socks = append(ids, id.ID), append(socks, v)
	}
	opened := func(i int) convData {
		t.Helper()
		socks[i].send(evClientMessage, msg("m", "hello"))
		socks[i].expectMessage(evClientMessage, "m")
		return nextOf(alice, evAdminConversation, func(c convData) bool { return c.Client == ids[i] })
	}
	if c := opened(0); c.Assignee != "" {
		t.Fatalf("assigned while auto-assignment is off: %+v", c)
	}
	ts.setSettings(alice, store.SettingsPatch{AutoAssign: boolp(true)})
	opened(1)
	nextOf(alice, evAdminConversation, func(c convData) bool { return c.Client == ids[1] && c.Assignee == "alice" })
	// A limit of 1: alice has one open conversation, the next stays unassigned.
	ts.setSettings(alice, store.SettingsPatch{AssignLimit: intp(1)})
	if c := opened(2); c.Assignee != "" {
		t.Fatalf("assigned over the limit: %+v", c)
	}
	for _, id := range []string{ids[0], ids[2]} {
		if c, _ := ts.st.Conversation(id); c.Assignee != "" {
			t.Fatalf("%s assigned to %q", id, c.Assignee)
		}
	}
}

// Retention starts sweeping when the setting goes above 0, without a restart.
func TestRetentionSettingAppliesLive(t *testing.T) {
	later := func() time.Time { return time.Now().Add(60 * 24 * time.Hour) }
	ts := startServer(t, Config{RetentionEvery: 20 * time.Millisecond, Clock: later})
	ts.seedAgents()
	alice, _ := ts.adminAs("alice", adminToken, "")
	old, _, _ := ts.st.CreateVisitor(t.Context(), "Old", nil)
	if n := ts.hub.inbox.sweeps.Load(); n != 0 {
		t.Fatalf("%d sweeps while retention is off", n)
	}
	ts.setSettings(alice, store.SettingsPatch{RetentionDays: intp(30)})
	if d := nextOf(alice, evAdminClientDeleted, func(clientDeleted) bool { return true }); d.ID != old.ID {
		t.Fatalf("deleted %s, want %s", d.ID, old.ID)
	}
}

// A locked setting keeps its start value; the others change; a store
// without settings locks them all.
func TestLockedSettings(t *testing.T) {
	ts := startServer(t, Config{TypingPreview: true, Locked: map[string]string{store.SettingTypingPreview: "set by --typing-preview"}})
	_, err := ts.hub.SetSettings(t.Context(), store.SettingsPatch{TypingPreview: boolp(false)}, "alice")
	if !errors.Is(err, ErrSettingLocked) || !strings.Contains(err.Error(), "typing_preview is set by --typing-preview") {
		t.Fatalf("changing a locked setting: %v", err)
	}
	v, err := ts.hub.SetSettings(t.Context(), store.SettingsPatch{TypingPreview: boolp(true), AssignLimit: intp(4)}, "alice")
	if err != nil || !v.TypingPreview || v.AssignLimit != 4 {
		t.Fatalf("same value of a locked setting beside a change: %+v %v", v, err)
	}
	if p, _ := ts.st.StoredSettings(); p.TypingPreview != nil || p.AssignLimit == nil || *p.AssignLimit != 4 {
		t.Fatalf("stored %+v: a locked setting must not be stored", p)
	}
	bare := newSettingsHub(ts.hub, Config{}, noSettingsStore{})
	if got := bare.view(store.InboxSettings{}); len(got.Locked) != 4 || got.Reasons[store.SettingAutoAssign] != noStoreReason {
		t.Fatalf("store without settings: %+v", got)
	}
}

// noSettingsStore is a Store without SettingsStore (as a cluster node is).
type noSettingsStore struct{ Store }
