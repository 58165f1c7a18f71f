package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/chatd/chatd/db"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVisitorTokenRestoresOnlyItsOwner(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	ann, annTok, err := s.CreateVisitor(ctx, "Ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	bob, bobTok, err := s.CreateVisitor(ctx, "Bob", map[string]string{"page": "/pricing"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token string
		want  string
	}{
		{annTok, ann.ID},
		{bobTok, bob.ID},
		{ann.ID, ""}, // a public id is not a token
		{"", ""},
		{annTok + "x", ""},
	} {
		v, err := s.VisitorByToken(tc.token)
		if tc.want == "" {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("token %q: got %v, %v; want ErrNotFound", tc.token, v.ID, err)
			}
			continue
		}
		if err != nil || v.ID != tc.want {
			t.Errorf("token %q: got %q, %v; want %q", tc.token, v.ID, err, tc.want)
		}
	}
	if ann.TokenHash == annTok || ann.TokenHash != HashToken(annTok) {
		t.Errorf("token must be stored hashed")
	}
}

func TestMessagesOffsetsCIDAndQueries(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	ann, _, _ := s.CreateVisitor(ctx, "Ann", nil)
	bob, _, _ := s.CreateVisitor(ctx, "Bob", nil)
	var last uint64
	for i := 0; i < 10; i++ {
		who := ann.ID
		if i%2 == 1 {
			who = bob.ID
		}
		m, dup, err := s.AddMessage(ctx, NewMessage{Client: who, From: FromClient, CID: fmt.Sprint("c", i), Text: "hi"})
		if err != nil || dup {
			t.Fatalf("add %d: %v dup=%v", i, err, dup)
		}
		if m.Offset <= last {
			t.Fatalf("offset %d after %d", m.Offset, last)
		}
		last = m.Offset
	}
	// Same cid again: nothing new, same message back.
	again, dup, err := s.AddMessage(ctx, NewMessage{Client: ann.ID, From: FromClient, CID: "c0", Text: "hi again"})
	if err != nil || !dup || again.Offset != 1 || again.Text != "hi" {
		t.Fatalf("duplicate cid: %+v dup=%v err=%v", again, dup, err)
	}
	// The same cid in another visitor's conversation is a different message.
	if _, dup, err := s.AddMessage(ctx, NewMessage{Client: bob.ID, From: FromAdmin, Admin: "alice", CID: "c0", Text: "yo"}); err != nil || dup {
		t.Fatalf("cid is per visitor: dup=%v err=%v", dup, err)
	}
	if _, _, err := s.AddMessage(ctx, NewMessage{Client: "nope", From: FromClient, CID: "x", Text: "hi"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown visitor: %v", err)
	}
	check := func(name string, got []Message, want ...uint64) {
		t.Helper()
		var offs []uint64
		for _, m := range got {
			offs = append(offs, m.Offset)
		}
		if fmt.Sprint(offs) != fmt.Sprint(want) {
			t.Errorf("%s: offsets %v, want %v", name, offs, want)
		}
	}
	ms, _ := s.MessagesOf(ann.ID, 0, 0)
	check("ann all", ms, 1, 3, 5, 7, 9)
	ms, _ = s.MessagesOf(ann.ID, 3, 0)
	check("ann after 3", ms, 5, 7, 9)
	ms, _ = s.MessagesOf(ann.ID, 0, 2)
	check("ann newest 2", ms, 7, 9)
	ms, _ = s.MessagesBefore(bob.ID, 8, 2)
	check("bob before 8", ms, 4, 6)
	ms, _ = s.MessagesAfter(8, 0)
	check("all after 8", ms, 9, 10, 11)
	ms, _ = s.MessagesAfter(0, 3)
	check("all newest 3", ms, 9, 10, 11)
	s.Close()

	// Reopen: indices rebuilt, offsets continue, cid still unique.
	s = open(t, dir)
	defer s.Close()
	ms, _ = s.MessagesOf(bob.ID, 0, 0)
	check("bob after reopen", ms, 2, 4, 6, 8, 10, 11)
	m, dup, err := s.AddMessage(ctx, NewMessage{Client: bob.ID, From: FromClient, CID: "c1", Text: "retry"})
	if err != nil || !dup || m.Offset != 2 {
		t.Fatalf("cid after reopen: %+v %v %v", m, dup, err)
	}
	m, _, _ = s.AddMessage(ctx, NewMessage{Client: bob.ID, From: FromClient, CID: "new", Text: "new"})
	if m.Offset != 12 {
		t.Fatalf("offset after reopen = %d, want 12", m.Offset)
	}
	vs, _ := s.Visitors()
	if len(vs) != 2 || vs[0].ID != bob.ID || vs[0].Last != 12 || vs[1].Last != 9 {
		t.Fatalf("visitors: %+v", vs)
	}
}

func TestConcurrentDuplicateCIDStoredOnce(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	v, _, _ := s.CreateVisitor(ctx, "Ann", nil)
	var wg sync.WaitGroup
	offs := make([]uint64, 16)
	for i := range offs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, _, err := s.AddMessage(ctx, NewMessage{Client: v.ID, From: FromClient, CID: "same", Text: "x"})
			if err != nil {
				t.Error(err)
			}
			offs[i] = m.Offset
		}()
	}
	wg.Wait()
	for _, o := range offs {
		if o != offs[0] {
			t.Fatalf("one cid got offsets %v", offs)
		}
	}
	if n := s.MessageCount(); n != 1 {
		t.Fatalf("%d messages stored, want 1", n)
	}
}

func TestReseedAdmins(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.ReseedAdmins([]Admin{{Name: "a", Hash: "h1"}, {Name: "b", Hash: "h2"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReseedAdmins([]Admin{{Name: "b", Hash: "h3"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReseedAdmins([]Admin{{Name: "c"}, {Name: "c"}}); err == nil {
		t.Fatal("duplicate names must fail")
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if _, err := s.Admin("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a should be gone: %v", err)
	}
	if b, err := s.Admin("b"); err != nil || b.Hash != "h3" {
		t.Errorf("b = %+v, %v", b, err)
	}
}
