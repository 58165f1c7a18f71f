package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestPublicReadsSkipNotes(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	v, _, _ := s.CreateVisitor(ctx, "Ann", nil)
	var public []uint64
	for i := 0; i < 30; i++ {
		m := NewMessage{Client: v.ID, From: FromAdmin, Admin: "alice", CID: fmt.Sprint("c", i), Text: "t", Note: i%3 != 0}
		got, _, err := s.AddMessage(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Note {
			public = append(public, got.Offset)
		}
	}
	if _, _, err := s.AddMessage(ctx, NewMessage{Client: v.ID, From: FromClient, CID: "x", Text: "t", Note: true}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a visitor's note: %v", err)
	}
	offsets := func(ms []Message) []uint64 {
		var out []uint64
		for _, m := range ms {
			if m.Note {
				t.Fatalf("a note in a public read: %+v", m)
			}
			out = append(out, m.Offset)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		got  []Message
		want []uint64
	}{
		{"all", must(s.PublicMessagesOf(v.ID, 0, 0)), public},
		{"newest 3", must(s.PublicMessagesOf(v.ID, 0, 3)), public[7:]},
		{"after the 2nd", must(s.PublicMessagesOf(v.ID, public[1], 0)), public[2:]},
		{"before the last, 2", must(s.PublicMessagesBefore(v.ID, public[9], 2)), public[7:9]},
		{"before nothing, 4", must(s.PublicMessagesBefore(v.ID, 0, 4)), public[6:]},
		{"before the first", must(s.PublicMessagesBefore(v.ID, public[0], 5)), nil},
	} {
		if got := offsets(tc.got); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	ms := []Message{{Offset: 1}, {Offset: 2, Note: true}, {Offset: 3}}
	if got := WithoutNotes(ms); len(got) != 2 || got[1].Offset != 3 {
		t.Fatalf("WithoutNotes %+v", got)
	}
}

func must(ms []Message, err error) []Message {
	if err != nil {
		panic(err)
	}
	return ms
}

func TestSeenOffsetsGrowAndPersist(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	v, _, _ := s.CreateVisitor(ctx, "Ann", nil)
	if _, changed, _ := s.SetAgentSeen(ctx, v.ID, 10); changed {
		t.Fatal("seen beyond a conversation without messages")
	}
	m1 := addMsg(t, s, v.ID, FromClient, "a1")
	m2 := addMsg(t, s, v.ID, FromAdmin, "r1")
	c, changed, err := s.SetAgentSeen(ctx, v.ID, m1.Offset)
	if err != nil || !changed || c.AgentSeen != m1.Offset {
		t.Fatalf("agent seen: %+v %v %v", c, changed, err)
	}
	if _, changed, _ := s.SetAgentSeen(ctx, v.ID, m1.Offset-1); changed {
		t.Fatal("seen went back")
	}
	if c, _, _ := s.SetVisitorSeen(ctx, v.ID, 1<<60); c.VisitorSeen != m2.Offset {
		t.Fatalf("visitor seen is capped at the last message: %+v", c)
	}
	if _, _, err := s.SetVisitorSeen(ctx, "nobody", 1); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if c, _ := s.Conversation(v.ID); c.AgentSeen != m1.Offset || c.VisitorSeen != m2.Offset || c.Status != StatusOpen {
		t.Fatalf("after restart: %+v", c)
	}
}
