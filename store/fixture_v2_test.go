package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/db"
)

// testdata/v2/chatd.db is a data file written by schema version 2 (messages
// in binary form, packed into blocks): three visitors, 400 messages, some
// packed, the newest still single records, admin replies with and without a
// display name, and long texts.
// Every later version must open it. Regenerate it only for a new version's
// fixture, never over an old one:
//
//	CHATD_WRITE_FIXTURE=2 go test -run TestFixtureV2 ./store
const fixtureV2 = "testdata/v2/chatd.db"

var fixtureV2Tokens = []string{"v2-token-ann-0000000000000000000000000000", "v2-token-bob-0000000000000000000000000000", "v2-token-cem-0000000000000000000000000000"}

func fixtureV2Text(i int) string {
	if i%97 == 0 {
		return strings.Repeat("long ", 300) + fmt.Sprint(i)
	}
	return fmt.Sprintf("message %d ✓", i)
}

func TestFixtureV2(t *testing.T) {
	if os.Getenv("CHATD_WRITE_FIXTURE") == "2" {
		writeFixtureV2(t)
	}
	dir := t.TempDir()
	src, err := os.Open(fixtureV2)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, _ := os.Create(filepath.Join(dir, "chatd.db"))
	io.Copy(dst, src)
	dst.Close()

	s, err := Open(dir, db.Options{})
	if err != nil {
		t.Fatalf("open the v2 fixture: %v", err)
	}
	defer s.Close()
	if s.MessageCount() != 400 {
		t.Fatalf("%d messages", s.MessageCount())
	}
	all, err := s.MessagesAfter(0, 0)
	if err != nil || len(all) != 400 {
		t.Fatalf("%d messages, %v", len(all), err)
	}
	for i, m := range all {
		n := i + 1
		want := Message{From: FromClient, CID: fmt.Sprint("c", n), Text: fixtureV2Text(n)}
		switch {
		case n%20 == 0:
			want.From, want.Admin, want.Display = FromAdmin, "bob", "Support"
		case n%10 == 0:
			want.From, want.Admin, want.Display = FromAdmin, "alice", "Alice from Acme"
		}
		if m.Offset != uint64(n) || m.From != want.From || m.Admin != want.Admin || m.Display != want.Display ||
			m.CID != want.CID || m.Text != want.Text || m.At.IsZero() {
			t.Fatalf("message %d: %+v", n, m)
		}
	}
	for k, tok := range fixtureV2Tokens {
		v, err := s.VisitorByToken(tok)
		if err != nil {
			t.Fatalf("visitor %d: %v", k, err)
		}
		ms, err := s.MessagesOf(v.ID, 0, 0)
		if err != nil || len(ms) < 133 {
			t.Fatalf("visitor %d: %d messages, %v", k, len(ms), err)
		}
		if _, dup, err := s.AddMessage(context.Background(), NewMessage{Client: v.ID, From: ms[0].From, Admin: ms[0].Admin, CID: ms[0].CID, Text: "again"}); err != nil || !dup {
			t.Fatalf("visitor %d: cid of the fixture not recognised: dup=%v %v", k, dup, err)
		}
	}
	if m, _, err := s.AddMessage(context.Background(), NewMessage{Client: all[0].Client, From: FromClient, CID: "new", Text: "after upgrade"}); err != nil || m.Offset <= 400 {
		t.Fatalf("new offset %d: %v", m.Offset, err)
	}
}

// writeFixtureV2 writes the fixture with this version's code.
func writeFixtureV2(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, db.Options{Sync: db.SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.ReseedAdmins([]Admin{{Name: "alice", Hash: "$2a$04$fixturefixturefixturefuJ8m2qYbqg5nS3gJ0o8wW4m8g2X8sV1y", Display: "Alice from Acme"},
		{Name: "bob", Hash: "$2a$04$fixturefixturefixturefuJ8m2qYbqg5nS3gJ0o8wW4m8g2X8sV1y"}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for k, name := range []string{"Ann", "Bob", "Cem"} {
		v, _, _ := s.CreateVisitor(ctx, name, nil)
		v.TokenHash = HashToken(fixtureV2Tokens[k])
		if err := s.visitors.Update(ctx, v); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	for n := 1; n <= 400; n++ {
		m := NewMessage{Client: ids[n%3], From: FromClient, CID: fmt.Sprint("c", n), Text: fixtureV2Text(n)}
		switch {
		case n%20 == 0:
			m.From, m.Admin = FromAdmin, "bob"
		case n%10 == 0:
			m.From, m.Admin = FromAdmin, "alice"
		}
		if _, _, err := s.AddMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "chatd.db"))
	if !strings.Contains(string(b), "_blk:messages:") || !strings.Contains(string(b), "messages:00000000000000000400") {
		t.Fatal("the fixture should hold both blocks and single records")
	}
	os.MkdirAll(filepath.Dir(fixtureV2), 0o755)
	if err := os.WriteFile(fixtureV2, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
