package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/chatd/chatd/db"
)

// ImportVisitor stores v as it is (id, token hash, times), for migrations
// (chatd cluster export). A visitor with v's id or token hash already stored
// is db.ErrDuplicate.
func (s *Store) ImportVisitor(ctx context.Context, v Visitor) error {
	if v.ID == "" || v.TokenHash == "" {
		return fmt.Errorf("%w: imported visitor needs an id and a token hash", ErrInvalid)
	}
	if _, err := s.visitors.Insert(ctx, v); err != nil {
		return fmt.Errorf("import visitor %s: %w", v.ID, err)
	}
	// Indexed as CreateVisitor does, so the imported visitor is listed and
	// its conversation can be set before the store is opened again.
	s.inbox.change(v.ID, true, func(e *inboxEntry) { e.seen = v.LastSeen.UnixNano() })
	s.search.setVisitor(v.ID, v.Name, "", nil)
	return nil
}

// ImportMessage stores m with its own offset, for migrations. Offsets must
// be imported in increasing order, each above LastOffset: the offsets
// between are taken by placeholder messages removed at once, so they stay
// unused, as on the source.
func (s *Store) ImportMessage(ctx context.Context, m Message) error {
	if m.Offset <= s.messages.Seq() {
		return fmt.Errorf("%w: import offset %d is not above the last offset %d", ErrInvalid, m.Offset, s.messages.Seq())
	}
	for s.messages.Seq()+1 < m.Offset {
		gap := Message{Client: "", From: FromClient, CID: "import-gap-" + strconv.FormatUint(s.messages.Seq()+1, 10), Text: "-"}
		g, err := s.messages.Insert(ctx, gap)
		if err != nil {
			return fmt.Errorf("import: fill offset %d: %w", s.messages.Seq()+1, err)
		}
		if err := s.messages.Remove(ctx, db.SeqID(g.Offset)); err != nil {
			return fmt.Errorf("import: free offset %d: %w", g.Offset, err)
		}
	}
	want := m.Offset
	m.Offset = 0
	got, err := s.messages.Insert(ctx, m)
	if err != nil {
		return fmt.Errorf("import message %d: %w", want, err)
	}
	if got.Offset != want {
		return fmt.Errorf("import message: stored at offset %d, want %d", got.Offset, want)
	}
	// Indexed as AddMessage does (its conversation's latest message, search).
	s.search.add(got.Offset, got.Text)
	s.inbox.change(got.Client, false, func(e *inboxEntry) { e.last = max(e.last, got.Offset) })
	return nil
}
