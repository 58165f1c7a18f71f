package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func addMsg(t *testing.T, s *Store, id, from, cid string) Message {
	t.Helper()
	m := NewMessage{Client: id, From: from, CID: cid, Text: "hi " + cid}
	if from == FromAdmin {
		m.Admin = "alice"
	}
	got, _, err := s.AddMessage(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestConversationLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	if err := s.ReseedAdmins([]Admin{{Name: "alice", Hash: "x"}, {Name: "bob", Hash: "x"}}); err != nil {
		t.Fatal(err)
	}
	ann, _, _ := s.CreateVisitor(ctx, "Ann", nil)
	if c, _ := s.Conversation(ann.ID); c.Status != "" {
		t.Fatalf("a visitor without messages has no conversation: %+v", c)
	}
	m1 := addMsg(t, s, ann.ID, FromClient, "a1")
	if c, changed, _ := s.ConversationMessage(ctx, m1); c.Status != StatusOpen || !changed {
		t.Fatalf("first message opens the conversation: %+v changed %v", c, changed)
	}
	if _, changed, _ := s.ConversationMessage(ctx, m1); changed {
		t.Fatal("the same message applied twice changed it again")
	}
	c, changed, err := s.SetStatus(ctx, ann.ID, StatusResolved, time.Time{})
	if err != nil || !changed || c.Status != StatusResolved || c.Updated.IsZero() {
		t.Fatalf("resolve: %+v %v %v", c, changed, err)
	}
	if _, changed, _ := s.SetStatus(ctx, ann.ID, StatusResolved, time.Time{}); changed {
		t.Fatal("resolving a resolved conversation changed it")
	}
	// An agent's reply and a note do not reopen; the visitor's next message does.
	for _, m := range []Message{addMsg(t, s, ann.ID, FromAdmin, "r1")} {
		if c, changed, _ := s.ConversationMessage(ctx, m); changed || c.Status != StatusResolved {
			t.Fatalf("agent reply reopened: %+v", c)
		}
	}
	m2 := addMsg(t, s, ann.ID, FromClient, "a2")
	if c, changed, _ := s.ConversationMessage(ctx, m2); !changed || c.Status != StatusOpen {
		t.Fatalf("visitor message must reopen: %+v %v", c, changed)
	}
	// A message stored before the state was set does not reopen it.
	m3 := addMsg(t, s, ann.ID, FromClient, "a3")
	s.SetStatus(ctx, ann.ID, StatusResolved, time.Time{})
	if c, changed, _ := s.ConversationMessage(ctx, m3); changed || c.Status != StatusResolved {
		t.Fatalf("an older message reopened a later resolve: %+v", c)
	}
	if _, _, err := s.Assign(ctx, ann.ID, "mallory"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("assign to an unknown agent: %v", err)
	}
	if c, changed, err := s.Assign(ctx, ann.ID, "bob"); err != nil || !changed || c.Assignee != "bob" {
		t.Fatalf("assign: %+v %v %v", c, changed, err)
	}
	for _, bad := range []struct {
		status string
		until  time.Time
	}{
		{"closed", time.Time{}},
		{"", time.Time{}},
		{StatusSnoozed, time.Now().Add(-time.Minute)},
		{StatusSnoozed, time.Time{}},
		{StatusSnoozed, time.Now().Add(400 * 24 * time.Hour)},
	} {
		if _, _, err := s.SetStatus(ctx, ann.ID, bad.status, bad.until); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetStatus(%q, %v): %v, want ErrInvalid", bad.status, bad.until, err)
		}
	}
	if _, _, err := s.SetStatus(ctx, "nobody", StatusOpen, time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown visitor: %v", err)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	if c, _, err := s.SetStatus(ctx, ann.ID, StatusSnoozed, until); err != nil || !c.SnoozeUntil.Equal(until) {
		t.Fatalf("snooze: %+v %v", c, err)
	}
	if w, ok := s.NextWake(); !ok || !w.Equal(until) {
		t.Fatalf("next wake %v %v", w, ok)
	}
	if woke, _ := s.WakeSnoozed(ctx, until.Add(-time.Second)); len(woke) != 0 {
		t.Fatalf("woke early: %+v", woke)
	}
	s.Close()

	// Everything survives a restart, the snooze included.
	s = open(t, dir)
	defer s.Close()
	c, _ = s.Conversation(ann.ID)
	if c.Status != StatusSnoozed || c.Assignee != "bob" || !c.SnoozeUntil.Equal(until) {
		t.Fatalf("after restart: %+v", c)
	}
	woke, err := s.WakeSnoozed(ctx, until)
	if err != nil || len(woke) != 1 || woke[0].Status != StatusOpen || woke[0].Assignee != "bob" {
		t.Fatalf("wake: %+v %v", woke, err)
	}
	if _, ok := s.NextWake(); ok {
		t.Fatal("nothing is snoozed any more")
	}
}

// A visitor message stored after a resolve whose reopening was lost (a
// crash between the two writes) reopens the conversation at the next open.
func TestConversationReopenedAtLoad(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	ann, _, _ := s.CreateVisitor(ctx, "Ann", nil)
	bob, _, _ := s.CreateVisitor(ctx, "Bob", nil)
	addMsg(t, s, ann.ID, FromClient, "a1")
	addMsg(t, s, bob.ID, FromClient, "b1")
	s.SetStatus(ctx, ann.ID, StatusResolved, time.Time{})
	s.SetStatus(ctx, bob.ID, StatusResolved, time.Time{})
	addMsg(t, s, ann.ID, FromClient, "a2") // stored; ConversationMessage never called
	addMsg(t, s, bob.ID, FromAdmin, "b2")  // an agent's message reopens nothing
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if c, _ := s.Conversation(ann.ID); c.Status != StatusOpen {
		t.Fatalf("Ann: %+v", c)
	}
	if c, _ := s.Conversation(bob.ID); c.Status != StatusResolved {
		t.Fatalf("Bob: %+v", c)
	}
}

func TestFiltersCountsAndPages(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	s.ReseedAdmins([]Admin{{Name: "alice", Hash: "x"}, {Name: "bob", Hash: "x"}})
	want := map[string]map[string]bool{}
	for _, f := range []string{FilterAll, FilterOpen, FilterResolved, FilterSnoozed, FilterMine, FilterUnassigned} {
		want[f] = map[string]bool{}
	}
	for i := 0; i < 40; i++ {
		v, _, _ := s.CreateVisitor(ctx, fmt.Sprintf("v%d", i), nil)
		want[FilterAll][v.ID] = true
		if i%5 == 0 {
			continue // never wrote: only in "all"
		}
		addMsg(t, s, v.ID, FromClient, "c")
		switch i % 4 {
		case 0:
			s.SetStatus(ctx, v.ID, StatusResolved, time.Time{})
			want[FilterResolved][v.ID] = true
		case 1:
			s.SetStatus(ctx, v.ID, StatusSnoozed, time.Now().Add(time.Hour))
			want[FilterSnoozed][v.ID] = true
		case 2:
			s.Assign(ctx, v.ID, "alice")
			want[FilterOpen][v.ID], want[FilterMine][v.ID] = true, true
		case 3:
			want[FilterOpen][v.ID], want[FilterUnassigned][v.ID] = true, true
			if i%3 == 0 {
				s.Assign(ctx, v.ID, "bob")
				delete(want[FilterUnassigned], v.ID)
			}
		}
	}
	c := s.Counts("alice")
	got := map[string]int{FilterAll: c.All, FilterOpen: c.Open, FilterResolved: c.Resolved, FilterSnoozed: c.Snoozed, FilterMine: c.Mine, FilterUnassigned: c.Unassigned}
	for f, ids := range want {
		if got[f] != len(ids) {
			t.Errorf("count %s = %d, want %d", f, got[f], len(ids))
		}
		// Walk the filter in pages of 3: every selected visitor once, in activity order.
		seen := map[string]bool{}
		cursor := ""
		var prev *VisitorSummary
		for {
			page, next, more, err := s.ConversationsPage(Filter{Kind: f, Me: "alice"}, cursor, 3)
			if err != nil {
				t.Fatal(err)
			}
			for i := range page {
				v := page[i]
				if !ids[v.ID] || seen[v.ID] {
					t.Fatalf("filter %s listed %s (%+v) wrongly or twice", f, v.Name, v.Conversation)
				}
				if prev != nil && !activityLess(prev, &v) {
					t.Fatalf("filter %s: %s before %s out of order", f, prev.ID, v.ID)
				}
				seen[v.ID], prev = true, &v
			}
			if !more {
				break
			}
			cursor = next
		}
		if len(seen) != len(ids) {
			t.Errorf("filter %s walked %d of %d", f, len(seen), len(ids))
		}
	}
	if c := s.Counts("bob"); c.Mine != 3 { // i = 3, 27, 39
		t.Errorf("bob's count %+v", c)
	}
	if _, _, _, err := s.ConversationsPage(Filter{Kind: "everything"}, "", 3); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown filter: %v", err)
	}
}

// A conversation without a stored state (started by a message, never
// changed by an agent) reads as updated when it started, also after a restart.
func TestConversationStartedUpdatedSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	v, _, _ := s.CreateVisitor(context.Background(), "Ann", nil)
	m := addMsg(t, s, v.ID, FromClient, "hello")
	addMsg(t, s, v.ID, FromClient, "later")
	if c, _ := s.Conversation(v.ID); !c.Updated.Equal(m.At) {
		t.Fatalf("live: updated %v, want %v", c.Updated, m.At)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if c, _ := s.Conversation(v.ID); !c.Updated.Equal(m.At) {
		t.Fatalf("after a restart: updated %v, want %v", c.Updated, m.At)
	}
}
