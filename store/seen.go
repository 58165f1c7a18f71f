package store

import (
	"context"
	"time"

	"github.com/chatd/chatd/db"
)

// seen is when a visitor was last seen, kept apart from the visitor document
// so that a connect or disconnect writes a record of ~100 bytes instead of
// rewriting the whole visitor (name, meta...).
type seen struct {
	ID       string    `json:"id"`
	LastSeen time.Time `json:"last_seen"`
}

func seenSchema() db.Schema[seen] {
	return db.Schema[seen]{Name: "seen", ID: func(s *seen) string { return s.ID }}
}

// TouchVisitor records that the visitor was seen at t. The update is a
// compare-and-set inside one commit: a later time is never overwritten by an
// earlier one, and concurrent touches lose nothing.
func (s *Store) TouchVisitor(ctx context.Context, id string, t time.Time) error {
	if id == "" || !s.visitors.Has(id) || s.barred(id) {
		return ErrNotFound
	}
	t = t.UTC()
	p, err := s.seen.Modify(ctx, id, func(p *seen, found bool) error {
		p.ID = id
		// Every later time is kept (the record is ~100 bytes): the visitor
		// list's order, which the portal reproduces live from status events,
		// depends on it.
		if !found || t.After(p.LastSeen) {
			p.LastSeen = t
		}
		return nil
	})
	if err != nil {
		return mapErr(err)
	}
	s.inbox.change(id, false, func(e *inboxEntry) { // the agents' list moves it (inbox.go)
		e.seen = max(e.seen, p.LastSeen.UnixNano())
	})
	return nil
}

// withSeen fills v.LastSeen from the seen collection when that is later than
// the document's own (which files written before the collection existed hold).
func (s *Store) withSeen(v Visitor) Visitor {
	if p, err := s.seen.Get(v.ID); err == nil && p.LastSeen.After(v.LastSeen) {
		v.LastSeen = p.LastSeen
	}
	return v
}

// allSeen returns every stored last-seen time by visitor id.
func (s *Store) allSeen() (map[string]time.Time, error) {
	all, err := s.seen.Find(db.Query{})
	if err != nil {
		return nil, err
	}
	m := make(map[string]time.Time, len(all))
	for _, p := range all {
		m[p.ID] = p.LastSeen
	}
	return m, nil
}
