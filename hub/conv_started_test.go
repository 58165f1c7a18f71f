package hub

import (
	"testing"
	"time"
)

// A conversation started by the visitor's first message has an updated
// time (when it started: the message's time) in admin:conversation.
func TestConversationStartedHasUpdated(t *testing.T) {
	ts := startServer(t, Config{})
	alice, _ := ts.adminAs("alice", adminToken, "", evAdminConversation)
	v, _, _ := ts.visitor("v", "Ann", "", 0)
	v.send(evClientMessage, msg("c1", "hello"))
	m := v.expectMessage(evClientMessage, "c1")
	c := nextOf(alice, evAdminConversation, func(c convEvent) bool { return c.Client == m.Client })
	want := m.At.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	if c.Updated != want {
		t.Fatalf("started conversation updated %q, want the first message's time %q", c.Updated, want)
	}
	if !m.At.Before(time.Now().Add(time.Minute)) {
		t.Fatalf("message time %v", m.At)
	}
}
