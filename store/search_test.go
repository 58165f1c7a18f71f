package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func searchTexts(t *testing.T, s *Store, q string, limit int) ([]string, bool) {
	t.Helper()
	rs, more, err := s.Search(context.Background(), q, limit)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	var out []string
	for _, r := range rs {
		if r.Field == FieldText {
			out = append(out, r.Snippet)
		} else {
			out = append(out, r.Field+":"+r.Snippet)
		}
	}
	return out, more
}

func TestSearch(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	ann, _, _ := s.CreateVisitor(ctx, "Ann Shipley", nil)
	bob, _, _ := s.CreateVisitor(ctx, "Bob", nil)
	for i, m := range []struct {
		who  string
		text string
		note bool
	}{
		{ann.ID, "Do you SHIP to Norway?", false},
		{bob.ID, "Shipping costs to norway, please", false},
		{ann.ID, "Order #A-1029 has not arrived", false},
		{bob.ID, "東京に発送できますか", false},
		{ann.ID, "Refund approved for order A-1029", true},
		{bob.ID, "ship ship ship", false},
	} {
		from, admin := FromClient, ""
		if m.note {
			from, admin = FromAdmin, "alice"
		}
		if _, _, err := s.AddMessage(ctx, NewMessage{Client: m.who, From: from, Admin: admin, CID: fmt.Sprint("c", i), Text: m.text, Note: m.note}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(q string, limit int, want []string, wantMore bool) {
		t.Helper()
		got, more := searchTexts(t, s, q, limit)
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) || more != wantMore {
			t.Errorf("search %q limit %d: %q more=%v, want %q more=%v", q, limit, got, more, want, wantMore)
		}
	}
	for _, pass := range []string{"live", "after a restart"} {
		t.Run(pass, func(t *testing.T) {
			check("ship", 10, []string{"name:Ann Shipley", "ship ship ship", "Do you SHIP to Norway?"}, false) // words whole: not "shipping"; names by substring
			check("norway", 10, []string{"Shipping costs to norway, please", "Do you SHIP to Norway?"}, false)
			check("ship norway", 10, []string{"Do you SHIP to Norway?"}, false)
			check("a-1029", 10, []string{"Refund approved for order A-1029", "Order #A-1029 has not arrived"}, false) // notes are found by agents
			check("東京", 10, []string{"東京に発送できますか"}, false)
			check("ship", 1, []string{"name:Ann Shipley"}, true)
			check("ship", 2, []string{"name:Ann Shipley", "ship ship ship"}, true)
			check("shipley", 10, []string{"name:Ann Shipley"}, false)
			check("nn shi", 10, []string{"name:Ann Shipley"}, false) // visitor fields by substring
			check("bo", 10, []string{"name:Bob"}, false)
			check("zebra", 10, nil, false)
			check("!!!", 10, nil, false)
		})
		s.Close()
		s = open(t, dir)
	}
	defer s.Close()
	for _, q := range []string{"", "   ", strings.Repeat("x", MaxQuery+1), "\xff"} {
		if _, _, err := s.Search(ctx, q, 10); !errors.Is(err, ErrInvalid) {
			t.Errorf("search %q: %v, want ErrInvalid", q, err)
		}
	}
	if st := s.SearchStats(); st.Postings == 0 || st.Bytes == 0 || st.Visitors != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("lorem ipsum ", 30) + "needle " + strings.Repeat("dolor sit ", 30)
	got := snippet(long, "needle")
	if !strings.HasPrefix(got, "…") || !strings.HasSuffix(got, "…") || !strings.Contains(got, "needle") {
		t.Fatalf("snippet %q", got)
	}
	if got := snippet("short one", "one"); got != "short one" {
		t.Fatalf("snippet %q", got)
	}
	if got := snippet("ÉCOLE été", "été"); !strings.Contains(got, "été") {
		t.Fatalf("snippet %q", got)
	}
}
