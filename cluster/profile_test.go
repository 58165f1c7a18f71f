package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/chatd/chatd/store"
)

// TestProfilesAndIdentity: the cluster store keeps the single node's rules
// for profiles, identity binding, device tokens and renames.
func TestProfilesAndIdentity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs := oneNode(t)
	v, token, err := cs.CreateVisitor(ctx, "Ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	// An anonymous visitor signing in is bound; another device gets its own token.
	got, err := cs.Identify(ctx, "user-42", v.ID, "Ann", nil)
	if err != nil || !got.Bound || got.Visitor.ID != v.ID || got.Token != "" {
		t.Fatalf("bind: %+v %v", got, err)
	}
	other, err := cs.Identify(ctx, "user-42", "", "Ann", nil)
	if err != nil || other.Visitor.ID != v.ID || other.Token == "" || other.Token == token {
		t.Fatalf("second device: %+v %v", other, err)
	}
	if w, err := cs.VisitorByToken(other.Token); err != nil || w.ID != v.ID {
		t.Errorf("device token restores %v, %v", w.ID, err)
	}
	if w, err := cs.VisitorByIdentity("user-42"); err != nil || w.ID != v.ID {
		t.Errorf("VisitorByIdentity = %v, %v", w.ID, err)
	}
	if _, err := cs.Identify(ctx, "", "", "x", nil); err == nil {
		t.Error("empty identity accepted")
	}
	// A new identity without a visitor creates one.
	fresh, err := cs.Identify(ctx, "user-7", "", "Bob", nil)
	if err != nil || !fresh.Created || fresh.Visitor.ID == v.ID {
		t.Errorf("new identity: %+v %v", fresh, err)
	}
	// Attributes merge; e-mail and names follow the rules (seen offsets: inbox_test.go).
	if attrs, changed, err := cs.MergeAttributes(ctx, v.ID, map[string]string{"plan": "pro", "x": ""}); err != nil || !changed || attrs["plan"] != "pro" {
		t.Errorf("MergeAttributes = %v %v %v", attrs, changed, err)
	}
	if _, err := cs.SetEmail(ctx, v.ID, "bad\naddress"); err == nil {
		t.Error("control character in an e-mail accepted")
	}
	if changed, err := cs.SetEmail(ctx, v.ID, "ann@example.com"); err != nil || !changed {
		t.Errorf("SetEmail: %v %v", changed, err)
	}
	p, err := cs.Profile(v.ID)
	if err != nil || p.Email != "ann@example.com" || p.Identity != "user-42" {
		t.Errorf("Profile = %+v %v", p, err)
	}
	if changed, err := cs.Rename(ctx, v.ID, "  Ann B  "); err != nil || !changed {
		t.Errorf("Rename: %v %v", changed, err)
	}
	if w, err := cs.Visitor(v.ID); err != nil || w.Name != "Ann B" {
		t.Errorf("after rename: %q %v", w.Name, err)
	}
	if _, err := cs.Rename(ctx, v.ID, ""); err == nil {
		t.Error("empty name accepted")
	}
	if _, err := cs.Profile("0000000000000000"); err == nil {
		t.Error("profile of an unknown visitor")
	}
	_ = store.ErrNotFound
}
