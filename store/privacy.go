package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chatd/chatd/db"
)

// Privacy: one visitor's data can be exported whole, and deleted whole: its
// messages (notes included), its visitor document (name, token hash, meta),
// its pages, profile (e-mail, attributes, identity) and further device
// tokens, its visits, its conversation, and its entries in every index and
// in the search index. Deletion first bars the visitor (its token and id
// stop working, nothing more is stored for it), then removes the messages in
// small transactions (the hub's writes go on between them), then the other
// documents, the visitor document last: a crash in between leaves a visitor
// with fewer messages, and deleting it again finishes the job. The data file
// keeps the removed records' bytes until it is compacted, which a deletion
// schedules within compactDelay; backups taken after that no longer hold it.

// compactDelay is how soon after a deletion the data file is compacted
// (deletions in a burst, as a retention sweep makes, share one compaction).
const compactDelay = time.Minute

// deleteChunk is how many messages one deletion step removes before yielding.
const deleteChunk = 200

// VisitorExport is everything chatd keeps of one visitor, as GET
// /api/visitors/{id}/export returns it. It holds no secret (not the token's hash).
type VisitorExport struct {
	Exported     time.Time         `json:"exported"`
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Created      time.Time         `json:"created"`
	LastSeen     time.Time         `json:"last_seen"`
	Meta         map[string]string `json:"meta"`
	Email        string            `json:"email"`
	Attributes   map[string]string `json:"attributes"`
	Identity     string            `json:"identity"`
	DeviceTokens int               `json:"device_tokens"`
	Visits       VisitInfo         `json:"visits"`
	Page         *PageView         `json:"page"`
	Pages        []PageView        `json:"pages"`
	Conversation ExportedConv      `json:"conversation"`
	Messages     []Message         `json:"messages"` // oldest first, notes included (marked "note")
}

// ExportedConv is the conversation's state in an export.
type ExportedConv struct {
	Status      string    `json:"status"`
	Assignee    string    `json:"assignee"`
	SnoozeUntil time.Time `json:"snooze_until,omitzero"`
	VisitorSeen uint64    `json:"visitor_seen"`
	AgentSeen   uint64    `json:"agent_seen"`
	Segments    []Segment `json:"segments"`
}

// privacy holds the visitors being deleted and the pending compaction.
type privacy struct {
	mu       sync.Mutex
	deleting map[string]bool
	compact  *time.Timer
	closed   bool
}

// barred reports whether visitor id is being deleted: nothing is stored for it.
func (s *Store) barred(id string) bool {
	s.priv.mu.Lock()
	defer s.priv.mu.Unlock()
	return s.priv.deleting[id]
}

// ExportVisitor returns everything kept of visitor id; ErrNotFound if unknown.
func (s *Store) ExportVisitor(id string) (VisitorExport, error) {
	v, err := s.Visitor(id)
	if err != nil {
		return VisitorExport{}, err
	}
	out := VisitorExport{Exported: s.now(), ID: v.ID, Name: v.Name, Created: v.Created, LastSeen: v.LastSeen,
		Meta: v.Meta, Attributes: map[string]string{}, Pages: []PageView{}, Messages: []Message{}}
	if out.Meta == nil {
		out.Meta = map[string]string{}
	}
	if p, err := s.Profile(id); err == nil {
		out.Email, out.Identity = p.Email, p.Identity
		if p.Attributes != nil {
			out.Attributes = p.Attributes
		}
	}
	out.DeviceTokens = s.DeviceTokens(id)
	if out.Visits, err = s.Visits(id); err != nil {
		return VisitorExport{}, err
	}
	if cur, trail, err := s.Page(id); err == nil {
		out.Page = &cur
		out.Pages = append(trail, cur)
	}
	c, err := s.Conversation(id)
	if err != nil {
		return VisitorExport{}, err
	}
	segs, err := s.Segments(id)
	if err != nil {
		return VisitorExport{}, err
	}
	out.Conversation = ExportedConv{Status: c.Status, Assignee: c.Assignee, SnoozeUntil: c.SnoozeUntil,
		VisitorSeen: c.VisitorSeen, AgentSeen: c.AgentSeen, Segments: segs}
	if out.Conversation.Segments == nil {
		out.Conversation.Segments = []Segment{}
	}
	ms, err := s.MessagesOf(id, 0, 0)
	if err != nil {
		return VisitorExport{}, err
	}
	if ms != nil {
		out.Messages = ms
	}
	return out, nil
}

// Deleted says what DeleteVisitor removed.
type Deleted struct {
	Messages int
}

// DeleteVisitor removes visitor id and everything kept of it (see above).
// ErrNotFound if there is no such visitor.
func (s *Store) DeleteVisitor(ctx context.Context, id string) (d Deleted, err error) {
	if id == "" || !s.visitors.Has(id) {
		return d, fmt.Errorf("%w: visitor %q", ErrNotFound, id)
	}
	s.priv.mu.Lock()
	if s.priv.deleting[id] {
		s.priv.mu.Unlock()
		return d, fmt.Errorf("%w: visitor %q is being deleted", ErrNotFound, id)
	}
	s.priv.deleting[id] = true
	s.priv.mu.Unlock()
	defer func() {
		if err != nil {
			s.reindex(id) // the steps committed before the failure stay: make the inbox say so
		}
		s.priv.mu.Lock()
		delete(s.priv.deleting, id)
		s.priv.mu.Unlock()
	}()
	// Messages, in chunks, newest first (MessagesBefore pages backwards).
	for {
		ms, err := s.MessagesBefore(id, 0, deleteChunk)
		if err != nil {
			return d, fmt.Errorf("delete visitor %s: %w", id, err)
		}
		if len(ms) == 0 {
			break
		}
		texts := make(map[uint64]string, len(ms))
		for _, m := range ms {
			if err := s.messages.Remove(ctx, db.SeqID(m.Offset)); err != nil && !errors.Is(err, db.ErrNotFound) {
				return d, fmt.Errorf("delete visitor %s: %w", id, err)
			}
			texts[m.Offset] = m.Text
			d.Messages++
		}
		s.search.remove(texts)
		if err := ctx.Err(); err != nil {
			return d, err
		}
	}
	// Then everything else, the visitor document last.
	remove := func(what string, fn func() error) error {
		if err := fn(); err != nil && !errors.Is(err, db.ErrNotFound) {
			return fmt.Errorf("delete visitor %s: %s: %w", id, what, err)
		}
		return nil
	}
	steps := []struct {
		what string
		fn   func() error
	}{
		{"pages", func() error { return s.pages.Remove(ctx, id) }},
		{"visits", func() error { return s.visits.Remove(ctx, id) }},
		{"last seen", func() error { return s.seen.Remove(ctx, id) }},
		{"conversation", func() error { return s.conv.docs.Remove(ctx, id) }},
		{"device tokens", func() error { return s.removeDeviceTokens(ctx, id) }},
		{"profile", func() error { return s.prof.docs.Remove(ctx, id) }},
		{"visitor", func() error { return s.visitors.Remove(ctx, id) }},
	}
	for _, st := range steps {
		if err := remove(st.what, st.fn); err != nil {
			return d, err
		}
	}
	// A message whose store began before the visitor was barred may have
	// landed after the loop above: take it too.
	if ms, err := s.MessagesOf(id, 0, 0); err == nil && len(ms) > 0 {
		texts := make(map[uint64]string, len(ms))
		for _, m := range ms {
			if err := s.messages.Remove(ctx, db.SeqID(m.Offset)); err == nil {
				texts[m.Offset] = m.Text
				d.Messages++
			}
		}
		s.search.remove(texts)
	}
	s.inbox.remove(id)
	s.search.setVisitor(id, "", "", nil)
	s.compactSoon()
	return d, nil
}

// removeDeviceTokens removes visitor id's further device tokens.
func (s *Store) removeDeviceTokens(ctx context.Context, id string) error {
	toks, err := s.prof.tokens.Find(db.Query{Index: "visitor", Values: []string{id}})
	if err != nil {
		return err
	}
	for _, t := range toks {
		if err := s.prof.tokens.Remove(ctx, t.Hash); err != nil && !errors.Is(err, db.ErrNotFound) {
			return err
		}
	}
	return nil
}

// compactSoon schedules a compaction of the data file within compactDelay,
// so that deleted records leave it.
func (s *Store) compactSoon() {
	s.priv.mu.Lock()
	defer s.priv.mu.Unlock()
	if s.priv.compact != nil || s.priv.closed {
		return
	}
	s.priv.compact = time.AfterFunc(compactDelay, func() {
		s.priv.mu.Lock()
		s.priv.compact = nil
		closed := s.priv.closed
		s.priv.mu.Unlock()
		if !closed {
			s.d.Shrink() // errors are logged by db; the next deletion tries again
		}
	})
}

// Inactive lists up to max visitors with no activity since cutoff: last
// seen, the last change of the conversation's state (resolve, assign,
// snooze...) and the latest message all before it. A conversation snoozed
// until a time still to come is never listed (an agent means to come back
// to it). The hub leaves out visitors that are online.
func (s *Store) Inactive(cutoff time.Time, max int) ([]string, error) {
	x := s.inbox
	now := s.now().UnixNano()
	x.mu.RLock()
	var cands []inboxEntry
	for _, e := range x.byID {
		if e.state() == stSnoozed && e.snooze > now {
			continue
		}
		if e.seen < cutoff.UnixNano() && e.updated < cutoff.UnixNano() {
			cands = append(cands, *e)
		}
	}
	x.mu.RUnlock()
	var out []string
	for _, e := range cands {
		if len(out) >= max {
			break
		}
		if e.last > 0 {
			m, err := s.messages.Get(db.SeqID(e.last))
			if err == nil && !m.At.Before(cutoff) {
				continue
			}
			if err != nil && !errors.Is(err, db.ErrNotFound) {
				return out, fmt.Errorf("read latest message: %w", err)
			}
		}
		out = append(out, e.id)
	}
	return out, nil
}
