package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/chatd/chatd/db"
)

// TestDeleteVisitorFailingMidway: a disk that fails at each step of a
// deletion (some commits done) leaves a store that reads the same before
// and after a restart (the counts, the messages kept), never a message of
// the visitor without it; and the deletion, retried, finishes.
func TestDeleteVisitorFailingMidway(t *testing.T) {
	const msgs = deleteChunk + 5
	// setup opens a store in dir whose n-th write after failAt is set fails,
	// with Ann's msgs messages and Bob's one.
	setup := func(t *testing.T, dir string) (s *Store, ann, bob Visitor, n, failAt *atomic.Int64) {
		n, failAt = new(atomic.Int64), new(atomic.Int64)
		s, err := Open(dir, db.Options{Faults: &db.Faults{Write: func(int) error {
			if k := failAt.Load(); k > 0 && n.Add(1) == k {
				return syscall.ENOSPC
			}
			if failAt.Load() < 0 {
				n.Add(1) // counting the writes of a whole deletion
			}
			return nil
		}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ann, _, _ = s.CreateVisitor(ctx, "Ann", nil)
		bob, _, _ = s.CreateVisitor(ctx, "Bob", nil)
		for i := range msgs {
			addMsg(t, s, ann.ID, FromClient, fmt.Sprint("a", i))
		}
		addMsg(t, s, bob.ID, FromClient, "b")
		return s, ann, bob, n, failAt
	}
	// How many writes a whole deletion makes: each is a step to fail at.
	s, ann, _, n, failAt := setup(t, t.TempDir())
	failAt.Store(-1)
	if _, err := s.DeleteVisitor(context.Background(), ann.ID); err != nil {
		t.Fatal(err)
	}
	steps := int(n.Load())
	s.Close()
	if steps < 3 {
		t.Fatalf("a deletion of %d messages made %d writes", msgs, steps)
	}
	// The first steps, one in the middle and the last ones (the messages'
	// removals are alike; the steps after them are each different).
	var points []int
	for at := 1; at <= steps; at++ {
		if at <= 3 || at == steps/2 || at > steps-8 {
			points = append(points, at)
		}
	}
	for _, at := range points {
		t.Run(fmt.Sprint("write ", at), func(t *testing.T) {
			dir := t.TempDir()
			s, ann, _, _, failAt := setup(t, dir)
			ctx := context.Background()
			failAt.Store(int64(at))
			if _, err := s.DeleteVisitor(ctx, ann.ID); err == nil {
				t.Fatalf("the deletion succeeded with its write %d failing", at)
			}
			failAt.Store(0)
			snap := func(s *Store) string {
				ms, _ := s.MessagesOf(ann.ID, 0, 0)
				return fmt.Sprintf("visitor=%v messages=%d counts=%+v", s.visitors.Has(ann.ID), len(ms), s.Counts(""))
			}
			before := snap(s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open(t, dir)
			defer s.Close()
			if got := snap(s); got != before {
				t.Fatalf("after a restart %s\nbefore it      %s", got, before)
			}
			if _, err := s.DeleteVisitor(ctx, ann.ID); err != nil {
				t.Fatalf("retried deletion: %v", err)
			}
			if ms, _ := s.MessagesOf(ann.ID, 0, 0); len(ms) != 0 || s.visitors.Has(ann.ID) {
				t.Fatalf("after the retried deletion: %d messages, visitor %v", len(ms), s.visitors.Has(ann.ID))
			}
			if c := s.Counts(""); c.All != 1 {
				t.Fatalf("counts after the retried deletion %+v, want bob's only", c)
			}
		})
	}
}
