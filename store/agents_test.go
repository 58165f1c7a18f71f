package store

import (
	"context"
	"testing"
	"time"
)

// TestDisplayNameStoredAndPublic: a reply keeps the login for admins and the
// display name of its time for visitors; Public never carries the login.
func TestDisplayNameStoredAndPublic(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	if err := s.ReseedAdmins([]Admin{{Name: "alice", Hash: "h", Display: "Alice from Acme"}, {Name: "bob", Hash: "h"}}); err != nil {
		t.Fatal(err)
	}
	v, _, _ := s.CreateVisitor(ctx, "Ann", nil)
	for _, tc := range []struct {
		from, admin, display string
	}{
		{FromClient, "", ""},
		{FromAdmin, "alice", "Alice from Acme"},
		{FromAdmin, "bob", DefaultDisplay},
		{FromAdmin, "gone", DefaultDisplay}, // removed meanwhile
	} {
		m, _, err := s.AddMessage(ctx, NewMessage{Client: v.ID, From: tc.from, Admin: tc.admin, CID: tc.from + tc.admin, Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Admin != tc.admin || m.Display != tc.display {
			t.Errorf("%s/%s stored admin %q display %q", tc.from, tc.admin, m.Admin, m.Display)
		}
		p := m.Public()
		if tc.from == FromAdmin && (p.Admin != tc.display || p.Display != tc.display) {
			t.Errorf("public %s: admin %q display %q, want %q", tc.admin, p.Admin, p.Display, tc.display)
		}
		if tc.from == FromClient && (p.Admin != "" || p.Display != "") {
			t.Errorf("public visitor message %+v", p)
		}
	}
	// A message stored before display names existed shows the default.
	old := Message{From: FromAdmin, Admin: "alice"}
	if p := old.Public(); p.Admin != DefaultDisplay {
		t.Fatalf("old reply shows %q", p.Admin)
	}
	ms, _ := s.MessagesOf(v.ID, 0, 0)
	for _, m := range PublicMessages(ms) {
		if m.Admin == "alice" || m.Admin == "bob" || m.Admin == "gone" {
			t.Fatalf("login in a public message: %+v", m)
		}
	}
}

func TestEpochSessionsAndOffsetFloor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	e1 := s.Epoch()
	if len(e1) != 16 {
		t.Fatalf("new store epoch %q", e1)
	}
	now := time.Now()
	if err := s.AddSession(ctx, Session{ID: "h1", Admin: "alice", Key: "k", Addr: "1.2.3.4", Created: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSession(ctx, Session{Admin: "x"}); err == nil {
		t.Fatal("session without id stored")
	}
	v, _, _ := s.CreateVisitor(ctx, "Ann", nil)
	s.AddMessage(ctx, NewMessage{Client: v.ID, From: FromClient, CID: "1", Text: "a"})
	if err := s.RaiseOffsets(ctx, 777); err != nil {
		t.Fatal(err)
	}
	sec, err := s.Secret("device", 32)
	if err != nil || len(sec) != 32 {
		t.Fatalf("Secret: %x, %v", sec, err)
	}
	s.Close()

	s = open(t, dir)
	if s.Epoch() != e1 {
		t.Fatalf("epoch changed by a restart: %q -> %q", e1, s.Epoch())
	}
	if again, err := s.Secret("device", 32); err != nil || string(again) != string(sec) {
		t.Fatalf("secret not kept: %x vs %x, %v", again, sec, err)
	}
	if other, _ := s.Secret("other", 32); string(other) == string(sec) {
		t.Fatal("two secrets are equal")
	}
	vs, err := s.Sessions()
	if err != nil || len(vs) != 1 || vs[0].Admin != "alice" || vs[0].Key != "k" || !vs[0].Expires.Equal(now.Add(time.Hour)) {
		t.Fatalf("sessions after restart: %+v, %v", vs, err)
	}
	m, _, _ := s.AddMessage(ctx, NewMessage{Client: v.ID, From: FromClient, CID: "2", Text: "b"})
	if m.Offset <= 777 {
		t.Fatalf("offset %d after a floor of 777", m.Offset)
	}
	if err := s.SetEpoch(ctx, "fresh"); err != nil || s.Epoch() != "fresh" {
		t.Fatalf("SetEpoch: %v, %q", err, s.Epoch())
	}
	if n, err := s.DropSessions(ctx); err != nil || n != 1 {
		t.Fatalf("DropSessions = %d, %v", n, err)
	}
	if err := s.DeleteSession(ctx, "nope"); err != nil {
		t.Fatalf("delete missing session: %v", err)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if vs, _ := s.Sessions(); len(vs) != 0 || s.Epoch() != "fresh" {
		t.Fatalf("after drop and reopen: %d sessions, epoch %q", len(vs), s.Epoch())
	}
}
