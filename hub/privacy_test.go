package hub

import (
	"testing"
	"time"

	"github.com/chatd/chatd/store"
)

// Retention deletes visitors inactive for the configured days, in the
// background, and leaves online and recently active visitors alone.
func TestRetentionDeletesInactiveVisitors(t *testing.T) {
	ts := startServer(t, Config{RetentionDays: 30, RetentionEvery: 20 * time.Millisecond})
	alice, _ := ts.adminAs("alice", adminToken, "")
	ctx := t.Context()
	long := time.Now().Add(-60 * 24 * time.Hour)
	old, _, _ := ts.st.CreateVisitor(ctx, "Old", nil)
	ts.st.TouchVisitor(ctx, old.ID, long)
	wrote, _, _ := ts.st.CreateVisitor(ctx, "Wrote lately", nil)
	ts.st.AddMessage(ctx, store.NewMessage{Client: wrote.ID, From: store.FromClient, CID: "c", Text: "hi"})
	ts.st.TouchVisitor(ctx, wrote.ID, long)
	// Online for days in one tab: its last seen is old, it is kept while online.
	_, online, _ := ts.visitor("v", "Online", "", 0)
	ts.st.TouchVisitor(ctx, online.ID, long)

	d := nextOf(alice, evAdminClientDeleted, func(clientDeleted) bool { return true })
	if d.ID != old.ID {
		t.Fatalf("deleted %s, want %s", d.ID, old.ID)
	}
	if _, err := ts.st.Visitor(old.ID); err == nil {
		t.Fatal("the inactive visitor is still stored")
	}
	// Two more sweeps: nobody else goes.
	n := ts.hub.inbox.sweeps.Load()
	waitFor(t, "two more sweeps", func() bool { return ts.hub.inbox.sweeps.Load() >= n+2 })
	for _, id := range []string{wrote.ID, online.ID} {
		if _, err := ts.st.Visitor(id); err != nil {
			t.Fatalf("visitor %s was deleted: %v", id, err)
		}
	}
}
