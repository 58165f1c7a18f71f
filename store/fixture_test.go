package store

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatd/chatd/db"
)

// testdata/v1/chatd.db is a data file written by schema version 1 (the first
// release): two visitors, an admin reply, a duplicate-cid retry and an admin.
// Every later version must open it and keep what it holds. Regenerate it only
// for a new version's fixture, never over an old one:
//
//	CHATD_WRITE_FIXTURE=1 go test -run TestFixtureV1 ./store
const fixtureV1 = "testdata/v1/chatd.db"

const (
	fixtureAnnToken = "ann-token-from-the-v1-fixture-0000000000000"
)

func TestFixtureV1(t *testing.T) {
	dir := t.TempDir()
	if os.Getenv("CHATD_WRITE_FIXTURE") == "1" {
		writeFixtureV1(t)
	}
	src, err := os.Open(fixtureV1)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, _ := os.Create(filepath.Join(dir, "chatd.db"))
	io.Copy(dst, src)
	dst.Close()

	s, err := Open(dir, db.Options{})
	if err != nil {
		t.Fatalf("open the v1 fixture: %v", err)
	}
	defer s.Close()
	ann, err := s.VisitorByToken(fixtureAnnToken)
	if err != nil || ann.Name != "Ann" {
		t.Fatalf("visitor by token: %+v, %v", ann, err)
	}
	ms, err := s.MessagesOf(ann.ID, 0, 0)
	if err != nil || len(ms) != 2 || ms[0].Text != "hello" || ms[1].From != FromAdmin || ms[1].Admin != "alice" {
		t.Fatalf("Ann's messages: %+v, %v", ms, err)
	}
	if _, dup, err := s.AddMessage(context.Background(), NewMessage{Client: ann.ID, From: FromClient, CID: "a1", Text: "again"}); err != nil || !dup {
		t.Fatalf("cid a1 of the fixture is not recognised: dup=%v err=%v", dup, err)
	}
	if a, err := s.Admin("alice"); err != nil || a.Hash == "" {
		t.Fatalf("admin: %+v, %v", a, err)
	}
	vs, _ := s.Visitors()
	if len(vs) != 2 {
		t.Fatalf("%d visitors, want 2", len(vs))
	}
	m, _, err := s.AddMessage(context.Background(), NewMessage{Client: ann.ID, From: FromClient, CID: "new", Text: "after upgrade"})
	if err != nil || m.Offset <= ms[1].Offset {
		t.Fatalf("new offset %d after %d: %v", m.Offset, ms[1].Offset, err)
	}
}

// writeFixtureV1 writes the fixture with this version's code.
func writeFixtureV1(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, db.Options{Sync: db.SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ann, _, _ := s.CreateVisitor(ctx, "Ann", map[string]string{"page": "https://example.com/pricing"})
	// Give Ann a known token so the test can restore her.
	ann.TokenHash = HashToken(fixtureAnnToken)
	if err := s.visitors.Update(ctx, ann); err != nil {
		t.Fatal(err)
	}
	bob, _, _ := s.CreateVisitor(ctx, "Bob", nil)
	for _, m := range []NewMessage{
		{Client: ann.ID, From: FromClient, CID: "a1", Text: "hello"},
		{Client: ann.ID, From: FromClient, CID: "a1", Text: "hello (retry)"},
		{Client: bob.ID, From: FromClient, CID: "b1", Text: "hi there"},
		{Client: ann.ID, From: FromAdmin, Admin: "alice", CID: "r1", Text: "Hi Ann!"},
	} {
		if _, _, err := s.AddMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReseedAdmins([]Admin{{Name: "alice", Hash: "$2a$04$fixturefixturefixturefuJ8m2qYbqg5nS3gJ0o8wW4m8g2X8sV1y"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "chatd.db"))
	os.MkdirAll(filepath.Dir(fixtureV1), 0o755)
	if err := os.WriteFile(fixtureV1, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
