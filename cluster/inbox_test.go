package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chatd/chatd/store"
)

// waitFor polls cond (this node's views catch up in the background) until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond) // the view's tail applies in the background
	}
}

// TestInboxOverTheCluster drives issue 13's store methods on a one-node
// cluster store: conversation states with compare-and-set, reopening by a
// visitor message, assignment, seen offsets capped at the latest message,
// filters, paging and counts from the shared index, notes kept from
// visitors, canned replies, visits, search and deletion.
func TestInboxOverTheCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := oneNode(t)
	if err := cs.ReseedAdmins(ctx, []store.Admin{{Name: "alice", Hash: "x"}}); err != nil {
		t.Fatal(err)
	}
	ann, _, err := cs.CreateVisitor(ctx, "Ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	bob, _, err := cs.CreateVisitor(ctx, "Bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	add := func(v string, m store.NewMessage) store.Message {
		t.Helper()
		m.Client = v
		got, _, err := cs.AddMessage(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	m1 := add(ann.ID, store.NewMessage{From: store.FromClient, CID: "a1", Text: "hello there"})
	if c, started, err := cs.ConversationMessage(ctx, m1); err != nil || !started || c.Status != store.StatusOpen {
		t.Fatalf("first message: %+v started=%v %v", c, started, err)
	}
	note := add(ann.ID, store.NewMessage{From: store.FromAdmin, Admin: "alice", CID: "n1", Text: "internal hello", Note: true})
	if !note.Note {
		t.Fatal("note lost its mark")
	}
	if ms, _ := cs.PublicMessagesOf(ann.ID, 0, 0); len(ms) != 1 || ms[0].CID != "a1" {
		t.Errorf("public messages %+v", ms)
	}
	waitFor(t, "counts", func() bool { return cs.Counts("alice") == store.Counts{All: 2, Open: 1, Unassigned: 1} })

	// States and assignment.
	for _, tc := range []struct {
		name    string
		do      func() (store.Conversation, bool, error)
		status  string
		changed bool
	}{
		{"resolve", func() (store.Conversation, bool, error) {
			return cs.SetStatus(ctx, ann.ID, store.StatusResolved, time.Time{})
		}, store.StatusResolved, true},
		{"resolve again", func() (store.Conversation, bool, error) {
			return cs.SetStatus(ctx, ann.ID, store.StatusResolved, time.Time{})
		}, store.StatusResolved, false},
		{"assign", func() (store.Conversation, bool, error) { return cs.Assign(ctx, ann.ID, "alice") }, store.StatusResolved, true},
		{"snooze", func() (store.Conversation, bool, error) {
			return cs.SetStatus(ctx, ann.ID, store.StatusSnoozed, time.Now().Add(time.Hour))
		}, store.StatusSnoozed, true},
	} {
		c, changed, err := tc.do()
		if err != nil || c.Status != tc.status || changed != tc.changed {
			t.Errorf("%s: %+v changed=%v %v", tc.name, c, changed, err)
		}
	}
	for _, bad := range []error{
		func() error { _, _, err := cs.Assign(ctx, ann.ID, "nobody"); return err }(),
		func() error { _, _, err := cs.SetStatus(ctx, ann.ID, "closed", time.Time{}); return err }(),
		func() error {
			_, _, err := cs.SetStatus(ctx, ann.ID, store.StatusSnoozed, time.Now().Add(-time.Minute))
			return err
		}(),
	} {
		if !errors.Is(bad, store.ErrInvalid) {
			t.Errorf("refusal: %v", bad)
		}
	}
	if _, _, err := cs.SetStatus(ctx, "0000000000000000", store.StatusOpen, time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown visitor: %v", err)
	}
	if segs, _ := cs.Segments(ann.ID); len(segs) != 1 || segs[0].From != 1 || segs[0].To != note.Offset {
		t.Errorf("segments %+v", segs)
	}
	waitFor(t, "snoozed filter", func() bool {
		page, _, _, err := cs.ConversationsPage(store.Filter{Kind: store.FilterSnoozed}, "", 10)
		return err == nil && len(page) == 1 && page[0].ID == ann.ID && page[0].Conversation.Assignee == "alice"
	})
	// An agent's message does not reopen; a visitor's does.
	r := add(ann.ID, store.NewMessage{From: store.FromAdmin, Admin: "alice", CID: "r1", Text: "reply"})
	if c, changed, _ := cs.ConversationMessage(ctx, r); changed || c.Status != store.StatusSnoozed {
		t.Errorf("agent's message: %+v %v", c, changed)
	}
	m2 := add(ann.ID, store.NewMessage{From: store.FromClient, CID: "a2", Text: "still there?"})
	if c, changed, err := cs.ConversationMessage(ctx, m2); err != nil || !changed || c.Status != store.StatusOpen {
		t.Errorf("visitor's message: %+v %v %v", c, changed, err)
	}
	// Seen offsets grow only, capped at the latest message.
	for _, tc := range []struct {
		off, want uint64
		changed   bool
	}{{m1.Offset, m1.Offset, true}, {1, m1.Offset, false}, {m2.Offset + 100, m2.Offset, true}} {
		if seen, changed, err := cs.SetSeen(ctx, ann.ID, tc.off); err != nil || seen != tc.want || changed != tc.changed {
			t.Errorf("SetSeen(%d) = %d %v %v", tc.off, seen, changed, err)
		}
	}
	if c, changed, err := cs.SetAgentSeen(ctx, ann.ID, r.Offset); err != nil || !changed || c.AgentSeen != r.Offset || c.VisitorSeen != m2.Offset {
		t.Errorf("SetAgentSeen: %+v %v %v", c, changed, err)
	}

	// Canned replies and visits.
	if saved, ch, err := cs.SetCanned(ctx, "hi", "Hello {{name}}", "alice"); err != nil || !ch || saved.By != "alice" || saved.Updated.IsZero() {
		t.Errorf("SetCanned: %+v %v %v", saved, ch, err)
	}
	if saved, ch, err := cs.SetCanned(ctx, "hi", "Hello {{name}}", "bob"); err != nil || ch || saved.By != "alice" {
		t.Errorf("SetCanned unchanged: %+v %v %v (want the stored reply, by alice)", saved, ch, err)
	}
	if _, _, err := cs.SetCanned(ctx, "Bad!", "x", "alice"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad shortcut: %v", err)
	}
	if cs2, _ := cs.CannedReplies(); len(cs2) != 1 || cs2[0].Text != "Hello {{name}}" {
		t.Errorf("canned %+v", cs2)
	}
	if err := cs.DeleteCanned(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete missing canned: %v", err)
	}
	if err := cs.DeleteCanned(ctx, "hi"); err != nil {
		t.Errorf("delete canned: %v", err)
	}
	for i, want := range []int{1, 1, 2} {
		v, err := cs.RecordVisit(ctx, bob.ID, store.VisitInfo{Lang: "de"}, i == 2)
		if err != nil || v.Visits != want || v.Lang != "de" {
			t.Errorf("visit %d: %+v %v", i, v, err)
		}
	}

	// Search: a visitor by name, then messages with every word, newest first.
	res, _, err := cs.Search(ctx, "hello", 10)
	if err != nil || len(res) != 2 || res[0].Offset != note.Offset || res[1].Offset != m1.Offset {
		t.Errorf("search hello: %+v %v", res, err)
	}
	if res, _, _ := cs.Search(ctx, "bo", 10); len(res) != 1 || res[0].Field != store.FieldName || res[0].Client != bob.ID {
		t.Errorf("search bo: %+v", res)
	}

	// Deletion takes the visitor, its messages and its conversation.
	d, err := cs.DeleteVisitor(ctx, ann.ID)
	if err != nil || d.Messages != 4 {
		t.Fatalf("delete: %+v %v", d, err)
	}
	waitFor(t, "deleted visitor forgotten", func() bool {
		ms, _ := cs.MessagesOf(ann.ID, 0, 0)
		return len(ms) == 0 && cs.Counts("alice") == store.Counts{All: 1}
	})
	if _, err := cs.Conversation(ann.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("conversation after deletion: %v", err)
	}
	if res, _, _ := cs.Search(ctx, "hello", 10); len(res) != 0 {
		t.Errorf("search after deletion: %+v", res)
	}
	_ = fmt.Sprint()
}
