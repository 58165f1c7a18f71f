package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
)

func TestExportAndDeleteVisitor(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	ann, annTok, _ := s.CreateVisitor(ctx, "Ann Secret", map[string]string{"page": "https://shop.example/"})
	bob, _, _ := s.CreateVisitor(ctx, "Bob", nil)
	for i := 0; i < 2*deleteChunk+3; i++ { // more than one deletion step
		addMsg(t, s, ann.ID, FromClient, fmt.Sprint("a", i))
	}
	s.AddMessage(ctx, NewMessage{Client: ann.ID, From: FromAdmin, Admin: "alice", CID: "n1", Text: "note about zanzibar", Note: true})
	s.AddMessage(ctx, NewMessage{Client: ann.ID, From: FromClient, CID: "z", Text: "ship to zanzibar please"})
	bobMsg := addMsg(t, s, bob.ID, FromClient, "b1")
	s.SetPage(ctx, ann.ID, PageView{URL: "https://shop.example/cart"})
	s.SetEmail(ctx, ann.ID, "ann@example.com")
	s.MergeAttributes(ctx, ann.ID, map[string]string{"plan": "gold"})
	s.RecordVisit(ctx, ann.ID, VisitInfo{Lang: "fr"}, true)
	s.SetStatus(ctx, ann.ID, StatusResolved, time.Time{})

	ex, err := s.ExportVisitor(ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Name != "Ann Secret" || ex.Email != "ann@example.com" || ex.Attributes["plan"] != "gold" || ex.Visits.Lang != "fr" ||
		len(ex.Messages) != 2*deleteChunk+5 || !ex.Messages[2*deleteChunk+3].Note || ex.Conversation.Status != StatusResolved ||
		ex.Page == nil || ex.Page.URL != "https://shop.example/cart" || len(ex.Conversation.Segments) != 1 {
		t.Fatalf("export %+v", ex)
	}
	if _, err := s.ExportVisitor("nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}

	d, err := s.DeleteVisitor(ctx, ann.ID)
	if err != nil || d.Messages != 2*deleteChunk+5 {
		t.Fatalf("delete: %+v %v", d, err)
	}
	gone := func(s *Store, when string) {
		t.Helper()
		if _, err := s.Visitor(ann.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: visitor still there: %v", when, err)
		}
		if _, err := s.VisitorByToken(annTok); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: token still works", when)
		}
		if ms, _ := s.MessagesOf(ann.ID, 0, 0); len(ms) != 0 {
			t.Errorf("%s: %d messages left", when, len(ms))
		}
		if _, err := s.MessageByCID(ann.ID, "a1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: cid index still holds it", when)
		}
		if _, _, err := s.Page(ann.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: pages left", when)
		}
		if _, err := s.Conversation(ann.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: conversation left", when)
		}
		if rs, _, _ := s.Search(ctx, "zanzibar", 10); len(rs) != 0 {
			t.Errorf("%s: search still finds %+v", when, rs)
		}
		if rs, _, _ := s.Search(ctx, "secret", 10); len(rs) != 0 {
			t.Errorf("%s: search still finds the name: %+v", when, rs)
		}
		if c := s.Counts(""); c.All != 1 || c.Resolved != 0 {
			t.Errorf("%s: counts %+v", when, c)
		}
		if m, err := s.MessageByCID(bob.ID, "b1"); err != nil || m.Offset != bobMsg.Offset {
			t.Errorf("%s: Bob lost his message: %v", when, err)
		}
	}
	gone(s, "at once")
	if _, err := s.DeleteVisitor(ctx, ann.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, _, err := s.AddMessage(ctx, NewMessage{Client: ann.ID, From: FromClient, CID: "late", Text: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a message for a deleted visitor: %v", err)
	}
	// A backup taken now holds nothing of Ann; nor does the data file once compacted.
	var buf bytes.Buffer
	if err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	if err := s.d.Shrink(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw, _ := os.ReadFile(filepath.Join(dir, "chatd.db"))
	for _, secret := range []string{"zanzibar", "Ann Secret", "ann@example.com", ann.ID} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the compacted data file still holds %q", secret)
		}
	}
	bdir := t.TempDir()
	os.WriteFile(filepath.Join(bdir, "chatd.db"), buf.Bytes(), 0o600)
	b, err := Open(bdir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gone(b, "in a backup")
	b.Close()
	s = open(t, dir)
	defer s.Close()
	gone(s, "after a restart")
}

func TestInactive(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	long := time.Now().Add(-100 * 24 * time.Hour)
	s.now = func() time.Time { return long } // created, seen and wrote 100 days ago
	old, _, _ := s.CreateVisitor(ctx, "Old", nil)
	wrote, _, _ := s.CreateVisitor(ctx, "Wrote lately", nil)
	seenLately, _, _ := s.CreateVisitor(ctx, "Seen lately", nil)
	resolvedLately, _, _ := s.CreateVisitor(ctx, "Resolved lately", nil)
	snoozed, _, _ := s.CreateVisitor(ctx, "Snoozed", nil)
	snoozeOver, _, _ := s.CreateVisitor(ctx, "Snooze over", nil)
	for _, id := range []string{old.ID, resolvedLately.ID, snoozed.ID, snoozeOver.ID} {
		addMsg(t, s, id, FromClient, "m0")
	}
	// Snoozed 100 days ago until 200 days from now: an agent means to come back.
	if _, _, err := s.SetStatus(ctx, snoozed.ID, StatusSnoozed, time.Now().Add(200*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SetStatus(ctx, snoozeOver.ID, StatusSnoozed, long.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Now().UTC() }
	addMsg(t, s, wrote.ID, FromClient, "m")
	s.TouchVisitor(ctx, seenLately.ID, time.Now())
	if _, _, err := s.SetStatus(ctx, resolvedLately.ID, StatusResolved, time.Time{}); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now().Add(-30 * 24 * time.Hour)
	got, err := s.Inactive(cutoff, 10)
	slices.Sort(got)
	want := []string{old.ID, snoozeOver.ID}
	slices.Sort(want)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("inactive %v %v, want only %v (old, snooze over)", got, err, want)
	}
	if got, _ := s.Inactive(cutoff, 0); len(got) != 0 {
		t.Fatal("max 0 must list none")
	}
}
