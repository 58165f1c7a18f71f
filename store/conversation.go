package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/chatd/chatd/db"
)

// A visitor has one conversation. It exists once a message was written in
// it (by the visitor or an agent) or an agent set its state; until then the
// visitor has no conversation (Status ""). It is open, resolved, or snoozed
// until a time; it may be assigned to an agent; and it remembers how far the
// visitor and the agents have seen it (offsets). A visitor's message reopens
// a resolved or snoozed conversation; a snooze ends by itself at its time.
//
// Its state lives in collection "conversations" (one small document per
// visitor, id = visitor id, written only when the state changes) and in the
// inbox index (inbox.go), which answers every read.

// Conversation is a visitor's conversation as the agents see it.
type Conversation struct {
	Client      string    // visitor public id
	Status      string    // StatusOpen, StatusResolved, StatusSnoozed, or "" (no conversation yet)
	SnoozeUntil time.Time // zero unless snoozed
	Assignee    string    // agent login, "" if unassigned
	VisitorSeen uint64    // the visitor has seen the conversation up to this offset
	AgentSeen   uint64    // an agent has seen it up to this offset
	Updated     time.Time // last change of the state (zero: never set)
	Last        uint64    // offset of its latest message, 0 if none
}

// convDoc is a conversation as stored. Since is the store's last offset when
// the state was last set: a visitor message above it reopens a resolved or
// snoozed conversation, also one stored just before a crash (see load).
type convDoc struct {
	Client      string    `json:"client"`
	Status      string    `json:"status"`
	SnoozeUntil time.Time `json:"snooze_until,omitzero"`
	Assignee    string    `json:"assignee,omitempty"`
	VisitorSeen uint64    `json:"visitor_seen,omitempty"`
	AgentSeen   uint64    `json:"agent_seen,omitempty"`
	Since       uint64    `json:"since"`
	Updated     time.Time `json:"updated"`
	Segments    []Segment `json:"segments,omitempty"` // resolved parts, oldest first, at most MaxSegments
}

// Segment is one resolved part of a conversation: the messages from From to
// To (offsets) up to the moment an agent resolved it. The context panel
// lists them as the visitor's previous conversations.
type Segment struct {
	From  uint64    `json:"from"`
	To    uint64    `json:"to"`
	Ended time.Time `json:"ended"`
}

// MaxSegments is how many resolved segments a conversation remembers.
const MaxSegments = 20

// MaxSnooze is the longest snooze.
const MaxSnooze = 366 * 24 * time.Hour

// conversations is the collection and the lock of its read-modify-writes.
type conversations struct {
	mu   sync.Mutex
	docs *db.Collection[convDoc]
}

// openInbox opens the conversations collection and builds the inbox index
// from the visitors, their latest messages and the conversations.
func (s *Store) openInbox() error {
	docs, err := db.NewCollection(s.d, db.Schema[convDoc]{
		Name: "conversations",
		ID:   func(c *convDoc) string { return c.Client },
	})
	if err != nil {
		return err
	}
	s.conv = &conversations{docs: docs}
	s.inbox = newInbox()
	x := s.inbox
	lastSeen, err := s.allSeen()
	if err != nil {
		return fmt.Errorf("index visitors: %w", err)
	}
	err = s.visitors.Walk(db.Query{}, func(v Visitor) bool {
		if t, ok := lastSeen[v.ID]; ok && t.After(v.LastSeen) {
			v.LastSeen = t // as withSeen does
		}
		e := &inboxEntry{id: v.ID, seen: v.LastSeen.UnixNano()}
		s.search.who[v.ID] = foldVisitor(v.Name, "", nil)
		if id, ok := s.messages.LastID("client", v.ID); ok {
			e.last, _ = strconv.ParseUint(id, 10, 64)
		}
		x.byID[v.ID] = e
		return true
	})
	if err != nil {
		return fmt.Errorf("index visitors: %w", err)
	}
	defer s.startedAt(x)
	err = s.prof.docs.Walk(db.Query{}, func(p Profile) bool { // e-mail and attributes are searchable
		if e := x.byID[p.ID]; e != nil && (p.Email != "" || len(p.Attributes) > 0) {
			s.search.who[p.ID] = foldVisitor(s.nameOf(p.ID), p.Email, p.Attributes)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("index profiles: %w", err)
	}
	var reopen []string
	err = docs.Walk(db.Query{}, func(c convDoc) bool {
		e := x.byID[c.Client]
		if e == nil {
			return true // its visitor is gone
		}
		e.hasDoc, e.status, e.assignee = true, statusCode(c.Status), x.intern(c.Assignee)
		e.since, e.vseen, e.aseen, e.updated = c.Since, c.VisitorSeen, c.AgentSeen, c.Updated.UnixNano()
		if e.status == stSnoozed {
			e.snooze = c.SnoozeUntil.UnixNano()
		}
		if (e.status == stResolved || e.status == stSnoozed) && e.last > e.since {
			reopen = append(reopen, e.id)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("index conversations: %w", err)
	}
	for _, e := range x.byID {
		x.order.Set(e)
		x.tally(e, 1)
	}
	// A visitor message stored after the state was set, whose reopening was
	// lost in a crash, reopens it now.
	for _, id := range reopen {
		ms, err := s.MessagesOf(id, x.byID[id].since, 0)
		if err != nil {
			return fmt.Errorf("index conversations: %w", err)
		}
		for _, m := range ms {
			if m.From == FromClient {
				if _, _, err := s.ConversationMessage(context.Background(), m); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// conversationOf renders an index entry.
func conversationOf(e *inboxEntry) Conversation {
	c := Conversation{
		Client: e.id, Status: statusNames[e.state()], Assignee: e.assignee,
		VisitorSeen: e.vseen, AgentSeen: e.aseen, Last: e.last,
	}
	if e.snooze != 0 && e.state() == stSnoozed {
		c.SnoozeUntil = time.Unix(0, e.snooze).UTC()
	}
	if e.updated != 0 {
		c.Updated = time.Unix(0, e.updated).UTC()
	}
	return c
}

// Conversation returns visitor id's conversation; ErrNotFound for an unknown visitor.
func (s *Store) Conversation(id string) (Conversation, error) {
	e, ok := s.inbox.get(id)
	if !ok {
		return Conversation{}, fmt.Errorf("%w: visitor %q", ErrNotFound, id)
	}
	return conversationOf(&e), nil
}

// changeConversation runs fn on visitor id's conversation state and, when fn
// reports a change, stores it and updates the index. Serialized per store.
func (s *Store) changeConversation(ctx context.Context, id string, fn func(e *inboxEntry) bool) (Conversation, bool, error) {
	s.conv.mu.Lock()
	defer s.conv.mu.Unlock()
	cur, ok := s.inbox.get(id)
	if !ok || !s.visitors.Has(id) || s.barred(id) {
		return Conversation{}, false, fmt.Errorf("%w: visitor %q", ErrNotFound, id)
	}
	next := cur
	if !fn(&next) {
		return conversationOf(&cur), false, nil
	}
	now := s.now()
	next.updated = now.UnixNano()
	doc := convDoc{
		Client: id, Status: statusNames[next.state()], Assignee: next.assignee,
		VisitorSeen: next.vseen, AgentSeen: next.aseen, Since: next.since, Updated: now,
	}
	if doc.Status == "" {
		doc.Status = StatusOpen // a state set on a visitor without messages opens its conversation
		next.status = stOpen
	}
	if cur.hasDoc {
		old, err := s.conv.docs.Get(id)
		if err != nil {
			return conversationOf(&cur), false, fmt.Errorf("read conversation: %w", err)
		}
		doc.Segments = old.Segments
	}
	if doc.Status == StatusResolved && cur.state() != stResolved && next.last > 0 {
		from := uint64(1)
		if n := len(doc.Segments); n > 0 {
			from = doc.Segments[n-1].To + 1
		}
		if from <= next.last {
			doc.Segments = append(doc.Segments, Segment{From: from, To: next.last, Ended: now})
			if n := len(doc.Segments) - MaxSegments; n > 0 {
				doc.Segments = append([]Segment(nil), doc.Segments[n:]...)
			}
		}
	}
	next.status = statusCode(doc.Status)
	if next.status == stSnoozed {
		doc.SnoozeUntil = time.Unix(0, next.snooze).UTC()
	} else {
		next.snooze = 0
	}
	var err error
	if cur.hasDoc {
		err = s.conv.docs.Update(ctx, doc)
	} else {
		_, err = s.conv.docs.Insert(ctx, doc)
	}
	if err != nil {
		return conversationOf(&cur), false, fmt.Errorf("store conversation: %w", err)
	}
	next.hasDoc = true
	var out Conversation
	s.inbox.change(id, false, func(e *inboxEntry) {
		// last and seen may have moved meanwhile: keep them, take the state.
		e.status, e.hasDoc, e.assignee, e.snooze = next.status, true, next.assignee, next.snooze
		e.since, e.vseen, e.aseen, e.updated = next.since, next.vseen, next.aseen, next.updated
		out = conversationOf(e)
	})
	return out, true, nil
}

// SetStatus sets visitor id's conversation to status (StatusOpen,
// StatusResolved or StatusSnoozed; until is the end of a snooze, in the
// future and at most MaxSnooze away, and is ignored otherwise). changed is
// false when it already was in that state. ErrInvalid for a bad status or
// time, ErrNotFound for an unknown visitor.
func (s *Store) SetStatus(ctx context.Context, id, status string, until time.Time) (Conversation, bool, error) {
	st := statusCode(status)
	if st == stNone {
		return Conversation{}, false, fmt.Errorf("%w: status must be open, resolved or snoozed", ErrInvalid)
	}
	if st == stSnoozed {
		now := s.now()
		if !until.After(now) || until.Sub(now) > MaxSnooze {
			return Conversation{}, false, fmt.Errorf("%w: snooze until must be in the future, at most %d days away", ErrInvalid, int(MaxSnooze.Hours()/24))
		}
	}
	since := s.LastOffset()
	return s.changeConversation(ctx, id, func(e *inboxEntry) bool {
		if e.state() == st && (st != stSnoozed || e.snooze == until.UnixNano()) && e.hasDoc {
			return false
		}
		e.status, e.since = st, since
		if st == stSnoozed {
			e.snooze = until.UnixNano()
		}
		return true
	})
}

// Assign gives visitor id's conversation to agent to ("" unassigns it).
// to must be an admin of the store (ErrInvalid otherwise). changed is false
// when it already was.
func (s *Store) Assign(ctx context.Context, id, to string) (Conversation, bool, error) {
	if to != "" {
		if _, err := s.Admin(to); err != nil {
			if errors.Is(err, ErrNotFound) {
				return Conversation{}, false, fmt.Errorf("%w: no agent %q", ErrInvalid, to)
			}
			return Conversation{}, false, err
		}
	}
	return s.changeConversation(ctx, id, func(e *inboxEntry) bool {
		if e.assignee == to && e.hasDoc {
			return false
		}
		e.assignee = to
		return true
	})
}

// ConversationMessage applies stored message m to its conversation: a
// visitor's message reopens a resolved or snoozed conversation (unless the
// state was set after m was stored). changed is true when it reopened it, or
// when m is the message that started the conversation.
func (s *Store) ConversationMessage(ctx context.Context, m Message) (Conversation, bool, error) {
	cur, ok := s.inbox.get(m.Client)
	if !ok {
		return Conversation{}, false, fmt.Errorf("%w: visitor %q", ErrNotFound, m.Client)
	}
	st := cur.state()
	if m.From != FromClient || m.Note || (st != stResolved && st != stSnoozed) || m.Offset <= cur.since {
		started := false
		if cur.opened == m.Offset && m.Offset != 0 { // reported once
			s.inbox.change(m.Client, false, func(e *inboxEntry) {
				started, e.opened = e.opened == m.Offset, 0
			})
		}
		return conversationOf(&cur), started, nil
	}
	return s.changeConversation(ctx, m.Client, func(e *inboxEntry) bool {
		if st := e.state(); (st != stResolved && st != stSnoozed) || m.Offset <= e.since {
			return false
		}
		e.status, e.since = stOpen, m.Offset
		return true
	})
}

// NextWake is the earliest time a snooze ends, false if nothing is snoozed.
func (s *Store) NextWake() (time.Time, bool) { return s.inbox.nextWake() }

// WakeSnoozed reopens the conversations whose snooze ended at or before now.
func (s *Store) WakeSnoozed(ctx context.Context, now time.Time) ([]Conversation, error) {
	var out []Conversation
	for _, id := range s.inbox.due(now) {
		c, changed, err := s.changeConversation(ctx, id, func(e *inboxEntry) bool {
			if e.state() != stSnoozed || e.snooze > now.UnixNano() {
				return false
			}
			e.status = stOpen
			return true
		})
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return out, err
		}
		if changed {
			out = append(out, c)
		}
	}
	return out, nil
}

// Counts returns how many visitors each filter of the list selects for agent me.
func (s *Store) Counts(me string) Counts { return s.inbox.counts(me) }

// OpenAssigned is the number of open conversations assigned to agent name.
func (s *Store) OpenAssigned(name string) int { return s.inbox.openOf(name) }

// ConversationsPage is VisitorsPage over the visitors filter f selects:
// up to limit of them after cursor ("" = from the top), most recent activity
// first, each with its current page and conversation.
func (s *Store) ConversationsPage(f Filter, cursor string, limit int) (page []VisitorSummary, next string, more bool, err error) {
	return s.inbox.summaries(f, cursor, limit, func(id string) (VisitorSummary, bool, error) {
		v, err := s.visitors.Get(id)
		if errors.Is(err, db.ErrNotFound) {
			return VisitorSummary{}, false, nil // removed since the index was read
		}
		if err != nil {
			return VisitorSummary{}, false, fmt.Errorf("list visitors: %w", err)
		}
		vs := VisitorSummary{Visitor: v}
		if cur, _, err := s.Page(id); err == nil {
			p := cur
			vs.Page = &p
		}
		return vs, true, nil
	})
}

// SetAgentSeen records that an agent has seen visitor id's conversation up
// to offset, and SetVisitorSeen that the visitor has. Offsets only grow, and
// are capped at the conversation's latest message (a client cannot claim to
// have seen what does not exist). changed is false when nothing grew.
func (s *Store) SetAgentSeen(ctx context.Context, id string, offset uint64) (Conversation, bool, error) {
	return s.setSeen(ctx, id, offset, false)
}

// SetVisitorSeen: see SetAgentSeen.
func (s *Store) SetVisitorSeen(ctx context.Context, id string, offset uint64) (Conversation, bool, error) {
	return s.setSeen(ctx, id, offset, true)
}

func (s *Store) setSeen(ctx context.Context, id string, offset uint64, visitor bool) (Conversation, bool, error) {
	cur, ok := s.inbox.get(id)
	if !ok {
		return Conversation{}, false, fmt.Errorf("%w: visitor %q", ErrNotFound, id)
	}
	grows := func(e *inboxEntry) bool {
		o := min(offset, e.last)
		if visitor {
			return o > e.vseen
		}
		return o > e.aseen
	}
	if !grows(&cur) { // the common case: read without taking the write lock
		return conversationOf(&cur), false, nil
	}
	return s.changeConversation(ctx, id, func(e *inboxEntry) bool {
		if !grows(e) {
			return false
		}
		if o := min(offset, e.last); visitor {
			e.vseen = o
		} else {
			e.aseen = o
		}
		return true
	})
}

// Segments returns the resolved parts of visitor id's conversation, oldest first.
func (s *Store) Segments(id string) ([]Segment, error) {
	e, ok := s.inbox.get(id)
	if !ok {
		return nil, fmt.Errorf("%w: visitor %q", ErrNotFound, id)
	}
	if !e.hasDoc {
		return nil, nil
	}
	doc, err := s.conv.docs.Get(id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read conversation: %w", err)
	}
	return doc.Segments, nil
}

// startedAt gives every conversation that has messages but no stored state
// the time of its first message as its updated time: a conversation's
// updated is the last change of its state, and starting it is the first
// (the same time admin:conversation said when the visitor's first message
// started it). One read per such conversation, at start.
func (s *Store) startedAt(x *inbox) {
	for _, e := range x.byID {
		if e.hasDoc || e.last == 0 || e.updated != 0 {
			continue
		}
		if m, err := s.messages.FindOne("client", e.id); err == nil {
			e.updated = m.At.UnixNano()
		}
	}
}
