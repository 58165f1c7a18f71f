package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
)

// TestTouchDoesNotRewriteTheVisitor is issue 10 item 20: a last-seen update
// writes a small record, not the visitor document (10 KB of meta here), and
// cannot lose a concurrent change of the visitor; times only move forward.
func TestTouchDoesNotRewriteTheVisitor(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	meta := map[string]string{"page": strings.Repeat("p", 10<<10)}
	v, _, err := s.CreateVisitor(ctx, "Ann", meta)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	size := s.DB().Stats().FileSize
	for i := 1; i <= 10; i++ {
		if err := s.TouchVisitor(ctx, v.ID, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if grew := s.DB().Stats().FileSize - size; grew > 10*200 {
		t.Fatalf("10 touches appended %d bytes; a touch must not rewrite the 10 KB visitor", grew)
	}
	// Concurrent touches and a concurrent change of the visitor: nothing lost.
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if err := s.TouchVisitor(ctx, v.ID, t0.Add(time.Duration(w*25+i)*time.Second)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		if _, err := s.visitors.Modify(ctx, v.ID, func(doc *Visitor, _ bool) error {
			doc.Name = fmt.Sprint("Ann ", i)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	got, err := s.Visitor(v.ID)
	if err != nil || got.Name != "Ann 19" || len(got.Meta["page"]) != 10<<10 {
		t.Fatalf("visitor after concurrent touches: name %q, meta %d bytes, %v", got.Name, len(got.Meta["page"]), err)
	}
	if want := t0.Add(10 * time.Minute); !got.LastSeen.Equal(want) {
		t.Fatalf("last seen %v, want the latest touch %v (an earlier time must not overwrite it)", got.LastSeen, want)
	}
	byToken, _ := s.Visitors()
	if len(byToken) != 1 || !byToken[0].LastSeen.Equal(got.LastSeen) {
		t.Fatalf("visitor list: %+v", byToken)
	}
	if err := s.TouchVisitor(ctx, "nobody", t0); err == nil {
		t.Fatal("touching an unknown visitor succeeded")
	}
}

// TestLastSeenSurvivesReopen: the last-seen time is stored (and a visitor
// written before it was kept apart keeps its own).
func TestLastSeenSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	v, tok, _ := s.CreateVisitor(ctx, "Bob", nil)
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	s.TouchVisitor(ctx, v.ID, at)
	s.Close()
	s, err := Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.VisitorByToken(tok)
	if err != nil || !got.LastSeen.Equal(at) {
		t.Fatalf("after reopening: %v, %v", got.LastSeen, err)
	}
	w, _, _ := s.CreateVisitor(ctx, "Cy", nil)
	if got, _ := s.Visitor(w.ID); !got.LastSeen.Equal(w.LastSeen) {
		t.Fatalf("untouched visitor: %v, want its creation time %v", got.LastSeen, w.LastSeen)
	}
}

// TestVisitorsDuringWrites lists visitors while others write: the list reads
// last-seen times outside its walk of the visitors (a read nested in the walk
// deadlocked behind a waiting writer).
func TestVisitorsDuringWrites(t *testing.T) {
	s := open(t, t.TempDir()) // closed only on success: Close would wait for a deadlock
	ctx := context.Background()
	var ids []string
	for i := 0; i < 20; i++ {
		v, _, err := s.CreateVisitor(ctx, fmt.Sprint("v", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 300; i++ {
					id := ids[(w*7+i)%len(ids)]
					s.TouchVisitor(ctx, id, time.Now().Add(time.Duration(i)*time.Second))
					s.AddMessage(ctx, NewMessage{Client: id, From: FromClient, CID: fmt.Sprint(w, "-", i), Text: "x"})
				}
			}()
		}
		for i := 0; i < 300; i++ {
			if _, err := s.Visitors(); err != nil {
				t.Error(err)
			}
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("listing visitors while writing did not finish within 60s (deadlock)")
	}
	s.Close()
}
