package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
)

func TestEpochPersistsAndResets(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	e1 := s.Epoch()
	if len(e1) != 16 {
		t.Fatalf("epoch %q", e1)
	}
	s.Close()
	s = open(t, dir)
	if s.Epoch() != e1 {
		t.Fatalf("epoch changed across a restart: %q -> %q", e1, s.Epoch())
	}
	e2, err := s.ResetEpoch(context.Background())
	if err != nil || e2 == e1 || s.Epoch() != e2 {
		t.Fatalf("reset: %q %v (was %q)", e2, err, e1)
	}
	for _, bad := range []string{"", "a b", strings.Repeat("x", MaxEpochLen+1), "é"} {
		if err := s.SetEpoch(context.Background(), bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetEpoch(%q) = %v", bad, err)
		}
	}
	if err := s.SetEpoch(context.Background(), "restored-1"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if s.Epoch() != "restored-1" {
		t.Fatalf("epoch after SetEpoch and restart: %q", s.Epoch())
	}
	if other := open(t, t.TempDir()); other.Epoch() == s.Epoch() {
		t.Fatal("two stores share an epoch")
	} else {
		other.Close()
	}
}

func TestLimitsAreOneSource(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	long := strings.Repeat("é", 100)
	if _, _, err := s.CreateVisitor(ctx, long, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("100-character name with the default limit: %v", err)
	}
	if err := s.SetLimits(Limits{Name: 100, Text: 10}); err != nil {
		t.Fatal(err)
	}
	v, _, err := s.CreateVisitor(ctx, long, nil)
	if err != nil {
		t.Fatalf("100-character name with --max-name 100: %v", err)
	}
	if _, _, err := s.AddMessage(ctx, NewMessage{Client: v.ID, From: FromClient, CID: "c", Text: "12345678901"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("11 bytes with a 10-byte limit: %v", err)
	}
	for _, l := range []Limits{{Name: 0, Text: 10}, {Name: CeilMaxName + 1, Text: 10}, {Name: 10, Text: CeilMaxText + 1}} {
		if err := s.SetLimits(l); err == nil {
			t.Errorf("SetLimits(%+v) accepted", l)
		}
	}
	if s.Limits() != (Limits{Name: 100, Text: 10}) {
		t.Fatalf("a refused SetLimits changed the limits: %+v", s.Limits())
	}
	for _, name := range []string{"\u202Eevil.exe", "\u200B", "\uFEFF", "\u3164", " \u0301 "} {
		if _, _, err := s.CreateVisitor(ctx, name, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("name %+q: %v", name, err)
		}
	}
}

// TestTextStoredAsSent: a message of 4096 '<' costs about 4 KB in the file,
// not six times that (encoding/json's HTML escaping).
func TestTextStoredAsSent(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	v, _, _ := s.CreateVisitor(ctx, "Ann", nil)
	fi, _ := os.Stat(filepath.Join(dir, "chatd.db"))
	before := fi.Size()
	text := strings.Repeat("<", 4096)
	if _, _, err := s.AddMessage(ctx, NewMessage{Client: v.ID, From: FromClient, CID: "lt", Text: text}); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(filepath.Join(dir, "chatd.db"))
	grew := fi.Size() - before
	t.Logf("a message of 4096 %q grew the data file by %d bytes", "<", grew)
	if grew > 4096+512 {
		t.Fatalf("a 4096-byte message of '<' grew the file by %d bytes", grew)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "chatd.db"))
	if strings.Contains(string(b), `\u003c`) {
		t.Fatal(`the file holds \u003c`)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	ms, _ := s.MessagesOf(v.ID, 0, 0)
	if len(ms) != 1 || ms[0].Text != text {
		t.Fatalf("text not kept as sent")
	}
}

func TestPagesAndTrail(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	v, _, _ := s.CreateVisitor(ctx, "Ann", nil)
	before, _ := s.Visitor(v.ID)
	if _, _, err := s.Page(v.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("page of a new visitor: %v", err)
	}
	for i := 0; i < TrailLen+5; i++ {
		if _, changed, err := s.SetPage(ctx, v.ID, PageView{URL: fmt.Sprintf("https://shop.example/%d", i), Title: "p"}); err != nil || !changed {
			t.Fatalf("SetPage %d: %v %v", i, changed, err)
		}
	}
	if _, changed, _ := s.SetPage(ctx, v.ID, PageView{URL: fmt.Sprintf("https://shop.example/%d", TrailLen+4), Title: "p"}); changed {
		t.Fatal("the same page again changed something")
	}
	cur, trail, err := s.Page(v.ID)
	if err != nil || cur.URL != fmt.Sprintf("https://shop.example/%d", TrailLen+4) || len(trail) != TrailLen ||
		trail[len(trail)-1].URL != fmt.Sprintf("https://shop.example/%d", TrailLen+3) {
		t.Fatalf("page %+v trail %d %v", cur, len(trail), err)
	}
	after, _ := s.Visitor(v.ID)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("the visitor document changed: %+v -> %+v", before, after)
	}
	if _, _, err := s.SetPage(ctx, "nobody", PageView{URL: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("page of an unknown visitor: %v", err)
	}
}

func TestVisitorsPageWalksEveryone(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	want := map[string]bool{}
	for i := 0; i < 23; i++ {
		v, _, _ := s.CreateVisitor(ctx, fmt.Sprintf("v%d", i), nil)
		want[v.ID] = true
		if i%3 == 0 {
			s.AddMessage(ctx, NewMessage{Client: v.ID, From: FromClient, CID: "c", Text: "hi"})
		}
		if i%4 == 0 {
			s.TouchVisitor(ctx, v.ID, time.Unix(int64(1e9+i), 0)) // equal and distinct seen times
		}
	}
	all, _ := s.Visitors()
	var got []VisitorSummary
	cursor := ""
	for pages := 0; ; pages++ {
		page, next, more, err := s.VisitorsPage(cursor, 5)
		if err != nil || pages > 10 {
			t.Fatal(err, pages)
		}
		got = append(got, page...)
		if !more {
			break
		}
		cursor = next
	}
	if len(got) != len(all) {
		t.Fatalf("walk found %d of %d", len(got), len(all))
	}
	for i := range got {
		if got[i].ID != all[i].ID {
			t.Fatalf("entry %d: %s, want %s", i, got[i].ID, all[i].ID)
		}
		delete(want, got[i].ID)
	}
	if len(want) != 0 {
		t.Fatalf("missed %v", want)
	}
	if _, _, _, err := s.VisitorsPage("!!", 5); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestV1FileGetsAnEpoch(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(fixtureV1)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "chatd.db"), b, 0o600)
	s, err := Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := s.Epoch()
	s.Close()
	s, _ = Open(dir, db.Options{})
	defer s.Close()
	if e == "" || s.Epoch() != e {
		t.Fatalf("v1 file epoch %q then %q", e, s.Epoch())
	}
}
