package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestProfileEmailAttributesSeen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	ann, _, err := s.CreateVisitor(ctx, "Ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	bob, _, err := s.CreateVisitor(ctx, "Bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Profile(ann.ID); err != nil || p.ID != ann.ID || p.Email != "" || p.Attributes != nil {
		t.Fatalf("fresh profile: %+v, %v", p, err)
	}
	if _, err := s.Profile("nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown visitor's profile: %v", err)
	}

	for _, bad := range []string{"", strings.Repeat("a", MaxEmailLen+1), "a\x00@b.c", "\xff@b.c"} {
		if _, err := s.SetEmail(ctx, ann.ID, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetEmail(%q): %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := s.SetEmail(ctx, "nobody", "a@b.co"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetEmail of unknown visitor: %v", err)
	}
	if ch, err := s.SetEmail(ctx, ann.ID, "ann@example.com"); err != nil || !ch {
		t.Fatalf("SetEmail: %v %v", ch, err)
	}
	if ch, err := s.SetEmail(ctx, ann.ID, "ann@example.com"); err != nil || ch {
		t.Errorf("same email again: changed %v, %v", ch, err)
	}

	attrs, ch, err := s.MergeAttributes(ctx, ann.ID, map[string]string{"plan": "pro", "order": "A-1"})
	if err != nil || !ch || len(attrs) != 2 {
		t.Fatalf("merge: %v %v %v", attrs, ch, err)
	}
	attrs, ch, err = s.MergeAttributes(ctx, ann.ID, map[string]string{"order": "", "seats": "3"})
	if err != nil || !ch || attrs["plan"] != "pro" || attrs["seats"] != "3" || len(attrs) != 2 {
		t.Fatalf("merge with a removal: %v %v %v", attrs, ch, err)
	}
	if _, ch, err = s.MergeAttributes(ctx, ann.ID, map[string]string{"plan": "pro"}); err != nil || ch {
		t.Errorf("same attribute again: changed %v, %v", ch, err)
	}
	many := map[string]string{}
	for i := 0; i < MaxAttributes-1; i++ {
		many[strings.Repeat("k", i+1)] = "v"
	}
	for name, set := range map[string]map[string]string{
		"empty key":      {"": "x"},
		"long key":       {strings.Repeat("k", MaxAttributeKey+1): "x"},
		"long value":     {"k": strings.Repeat("v", MaxAttributeVal+1)},
		"control in key": {"a\nb": "x"},
		"bad UTF-8":      {"k": "\xff"},
		"over the total": many, // 31 new + 2 held > 32
	} {
		if _, _, err := s.MergeAttributes(ctx, ann.ID, set); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}

	for i := 0; i < 10; i++ { // offsets to have seen (seen is capped at the conversation's latest message)
		if _, _, err := s.AddMessage(ctx, NewMessage{Client: ann.ID, From: FromClient, CID: fmt.Sprint("m", i), Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		off     uint64
		want    uint64
		changed bool
	}{{5, 5, true}, {3, 5, false}, {5, 5, false}, {9, 9, true}} {
		seen, ch, err := s.SetSeen(ctx, ann.ID, tc.off)
		if err != nil || seen != tc.want || ch != tc.changed {
			t.Errorf("SetSeen(%d) = %d, %v, %v; want %d, %v", tc.off, seen, ch, err, tc.want, tc.changed)
		}
	}

	// Bob's profile is untouched, and everything survives a reopen.
	if p, _ := s.Profile(bob.ID); p.Email != "" || p.Attributes != nil {
		t.Errorf("bob's profile changed: %+v", p)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	p, err := s.Profile(ann.ID)
	if c, _ := s.Conversation(ann.ID); err != nil || p.Email != "ann@example.com" || p.Attributes["plan"] != "pro" || c.VisitorSeen != 9 {
		t.Errorf("after reopen: %+v, %v", p, err)
	}
}

func TestIdentifyOneVisitorPerUserOnEveryDevice(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()

	// A first device with no token: a new visitor bound to u-1.
	first, err := s.Identify(ctx, "u-1", "", "Ann", nil)
	if err != nil || !first.Created || first.Token == "" {
		t.Fatalf("first identify: %+v, %v", first, err)
	}
	ann := first.Visitor.ID
	// The same device again with its token: same visitor, token kept.
	again, err := s.Identify(ctx, "u-1", ann, "Ann", nil)
	if err != nil || again.Visitor.ID != ann || again.Token != "" || again.Created {
		t.Fatalf("same device: %+v, %v", again, err)
	}
	// A second device: same visitor, a token of its own; both tokens work.
	second, err := s.Identify(ctx, "u-1", "", "whoever", nil)
	if err != nil || second.Visitor.ID != ann || second.Token == "" || second.Token == first.Token {
		t.Fatalf("second device: %+v, %v", second, err)
	}
	for _, tok := range []string{first.Token, second.Token} {
		if v, err := s.VisitorByToken(tok); err != nil || v.ID != ann {
			t.Errorf("token restores %q, %v; want %s", v.ID, err, ann)
		}
	}
	// An anonymous visitor who signs in as u-2 keeps its conversation.
	anon, anonTok, err := s.CreateVisitor(ctx, "Blue Otter", nil)
	if err != nil {
		t.Fatal(err)
	}
	bound, err := s.Identify(ctx, "u-2", anon.ID, "Bob", nil)
	if err != nil || !bound.Bound || bound.Visitor.ID != anon.ID || bound.Token != "" {
		t.Fatalf("bind anonymous: %+v, %v", bound, err)
	}
	// That device signing in as u-1 now: u-1's visitor, never u-2's moved.
	switched, err := s.Identify(ctx, "u-1", anon.ID, "Ann", nil)
	if err != nil || switched.Visitor.ID != ann || switched.Token == "" {
		t.Fatalf("switch user on a device: %+v, %v", switched, err)
	}
	if v, _ := s.VisitorByIdentity("u-2"); v.ID != anon.ID {
		t.Errorf("u-2 moved to %q", v.ID)
	}
	if v, err := s.VisitorByToken(anonTok); err != nil || v.ID != anon.ID {
		t.Errorf("the anonymous token restores %q, %v", v.ID, err)
	}
	// A device whose visitor already has another identity: a new visitor for u-3.
	third, err := s.Identify(ctx, "u-3", anon.ID, "Cy", nil)
	if err != nil || !third.Created || third.Visitor.ID == anon.ID || third.Visitor.Name != "Cy" {
		t.Fatalf("u-3 from u-2's device: %+v, %v", third, err)
	}
	for _, bad := range []string{"", strings.Repeat("x", MaxIdentityLen+1), "a\tb", "\xff"} {
		if _, err := s.Identify(ctx, bad, "", "X", nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("Identify(%q): %v, want ErrInvalid", bad, err)
		}
	}
	n := s.visitors.Count()
	// Device tokens are capped: the oldest go first.
	var toks []string
	for i := 0; i < MaxDeviceTokens+3; i++ {
		d, err := s.Identify(ctx, "u-1", "", "Ann", nil)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, d.Token)
	}
	if got := s.DeviceTokens(ann); got != MaxDeviceTokens {
		t.Errorf("device tokens held: %d, want %d", got, MaxDeviceTokens)
	}
	if s.visitors.Count() != n {
		t.Errorf("more devices made visitors: %d -> %d", n, s.visitors.Count())
	}
	if _, err := s.VisitorByToken(toks[0]); !errors.Is(err, ErrNotFound) {
		t.Errorf("the oldest device token still works: %v", err)
	}
	if v, err := s.VisitorByToken(first.Token); err != nil || v.ID != ann {
		t.Errorf("the visitor's first token stopped working: %v", err)
	}
	last := toks[len(toks)-1]
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if v, err := s.VisitorByToken(last); err != nil || v.ID != ann {
		t.Errorf("device token after reopen: %q, %v", v.ID, err)
	}
	if v, err := s.VisitorByIdentity("u-1"); err != nil || v.ID != ann {
		t.Errorf("identity after reopen: %q, %v", v.ID, err)
	}
}

func TestRenameKeepsTouches(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	v, _, err := s.CreateVisitor(ctx, "Blue Otter", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ch, err := s.Rename(ctx, v.ID, "Ann Lee"); err != nil || !ch {
		t.Fatalf("rename: %v %v", ch, err)
	}
	if ch, err := s.Rename(ctx, v.ID, "Ann Lee"); err != nil || ch {
		t.Errorf("same name: %v %v", ch, err)
	}
	for _, bad := range []string{"", strings.Repeat("n", DefaultMaxName+1), "a\x07", "\u200b"} {
		if _, err := s.Rename(ctx, v.ID, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Rename(%q): %v", bad, err)
		}
	}
	if got, _ := s.Visitor(v.ID); got.Name != "Ann Lee" {
		t.Errorf("name %q", got.Name)
	}
}
