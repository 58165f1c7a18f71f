package hub

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/store"
)

// Retention deletes visitors inactive for the configured days, in the
// background, and leaves online and recently active visitors alone.
func TestRetentionDeletesInactiveVisitors(t *testing.T) {
	later := func() time.Time { return time.Now().Add(60 * 24 * time.Hour) } // everyone is 60 days older
	ts := startServer(t, Config{RetentionDays: 30, RetentionEvery: 20 * time.Millisecond, Clock: later})
	alice, _ := ts.adminAs("alice", adminToken, "")
	ctx := t.Context()
	old, _, _ := ts.st.CreateVisitor(ctx, "Old", nil)
	wrote, _, _ := ts.st.CreateVisitor(ctx, "Wrote", nil)
	ts.st.AddMessage(ctx, store.NewMessage{Client: wrote.ID, From: store.FromClient, CID: "c", Text: "hi"})
	// Online, in one tab for those 60 days: kept while online.
	_, online, _ := ts.visitor("v", "Online", "", 0)

	gone := map[string]bool{}
	for len(gone) < 2 {
		d := nextOf(alice, evAdminClientDeleted, func(clientDeleted) bool { return true })
		gone[d.ID] = true
	}
	if !gone[old.ID] || !gone[wrote.ID] {
		t.Fatalf("deleted %v, want %s and %s", gone, old.ID, wrote.ID)
	}
	for _, id := range []string{old.ID, wrote.ID} {
		if _, err := ts.st.Visitor(id); err == nil {
			t.Fatalf("inactive visitor %s is still stored", id)
		}
	}
	// Two more sweeps after the one that deleted them was counted: the
	// online visitor stays.
	waitFor(t, "the deleting sweep counted", func() bool { return ts.hub.inbox.retained.Load() == 2 })
	n := ts.hub.inbox.sweeps.Load()
	waitFor(t, "two more sweeps", func() bool { return ts.hub.inbox.sweeps.Load() >= n+2 })
	if _, err := ts.st.Visitor(online.ID); err != nil {
		t.Fatalf("the online visitor was deleted: %v", err)
	}
	// Every sweep is logged at info, also the empty ones, and counted.
	st := ts.hub.Stats()
	if st.RetentionDeleted != 2 || st.RetentionSweeps < n+2 {
		t.Fatalf("retention counters %d deleted, %d sweeps; want 2, >= %d", st.RetentionDeleted, st.RetentionSweeps, n+2)
	}
	// The two may go in one sweep or in two (a sweep can run between
	// the two CreateVisitor calls): the sweeps' counts add up to 2.
	logs := ts.logs.String()
	sweeps, deleted, empty := 0, 0, 0
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "retention: sweep done") {
			continue
		}
		var l struct{ Visitors int }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("sweep log line %q: %v", line, err)
		}
		sweeps++
		deleted += l.Visitors
		if l.Visitors == 0 {
			empty++
		}
	}
	if deleted != 2 || empty == 0 || sweeps < 3 {
		t.Fatalf("sweep log lines: %d sweeps deleted %d visitors, %d empty; want 2 and >= 1 empty of >= 3:\n%s", sweeps, deleted, empty, logs)
	}
}

// A stored message whose visitor was deleted before its conversation was
// updated (a deletion racing the message) is no warning: the deletion took
// the message too.
func TestMessageAfterDeletionIsNoWarning(t *testing.T) {
	ts := startServer(t, Config{})
	ts.hub.afterMessage(store.Message{Client: "0000000000000000", From: store.FromClient, Offset: 1, CID: "c", Text: "hi"})
	if logs := ts.logs.String(); strings.Contains(logs, `"level":"warn"`) {
		t.Fatalf("a warning for a deleted visitor's message:\n%s", logs)
	}
}
