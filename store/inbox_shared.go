package store

import (
	"fmt"
	"time"
)

// InboxIndex is the inbox index (inbox.go) for a Store other than *Store
// (package cluster), which keeps its conversations elsewhere and feeds the
// index from what it applies: visitors, their last-seen times, messages and
// conversation documents. Paging, filters and counts then answer exactly
// as the single node's. Safe for concurrent use.
type InboxIndex struct{ x *inbox }

// ConversationDoc is a conversation document as stored (one per visitor):
// the state, the seen offsets, the segments, and Since, the last offset of
// the log when the state was last set (a visitor message above it reopens a
// resolved or snoozed conversation).
type ConversationDoc = convDoc

// NewInboxIndex returns an empty index.
func NewInboxIndex() *InboxIndex { return &InboxIndex{x: newInbox()} }

// Visitor indexes visitor id (if new) and moves its last-seen time to t if later.
func (b *InboxIndex) Visitor(id string, t time.Time) {
	b.x.change(id, true, func(e *inboxEntry) {
		if n := t.UnixNano(); n > e.seen {
			e.seen = n
		}
	})
}

// Remove forgets visitor id.
func (b *InboxIndex) Remove(id string) { b.x.remove(id) }

// Message records m as its visitor's latest message if it is later than
// the one known; false if the visitor is not indexed.
func (b *InboxIndex) Message(m Message) bool {
	return b.x.change(m.Client, false, func(e *inboxEntry) {
		if m.Offset > e.last {
			e.last = m.Offset
		}
	})
}

// Apply sets visitor id's conversation state from its document (d nil: no
// document, the state the messages alone give).
func (b *InboxIndex) Apply(id string, d *ConversationDoc) {
	b.x.change(id, false, func(e *inboxEntry) {
		if d == nil {
			e.hasDoc, e.status, e.assignee, e.snooze, e.since, e.vseen, e.aseen, e.updated = false, stNone, "", 0, 0, 0, 0, 0
			return
		}
		e.hasDoc, e.status, e.assignee = true, statusCode(d.Status), d.Assignee
		e.since, e.vseen, e.aseen, e.updated = d.Since, d.VisitorSeen, d.AgentSeen, d.Updated.UnixNano()
		e.snooze = 0
		if e.status == stSnoozed {
			e.snooze = d.SnoozeUntil.UnixNano()
		}
	})
}

// Conversation returns visitor id's conversation as indexed.
func (b *InboxIndex) Conversation(id string) (Conversation, bool) {
	e, ok := b.x.get(id)
	if !ok {
		return Conversation{}, false
	}
	return conversationOf(&e), true
}

// Counts, OpenAssigned, NextWake and Due: as *Store's (conversation.go).
func (b *InboxIndex) Counts(me string) Counts      { return b.x.counts(me) }
func (b *InboxIndex) OpenAssigned(name string) int { return b.x.openOf(name) }
func (b *InboxIndex) NextWake() (time.Time, bool)  { return b.x.nextWake() }
func (b *InboxIndex) Due(now time.Time) []string   { return b.x.due(now) }
func (b *InboxIndex) Has(id string) bool           { _, ok := b.x.get(id); return ok }
func (b *InboxIndex) Len() int                     { return b.x.counts("").All }
func (b *InboxIndex) Seen(id string) (time.Time, bool) {
	e, ok := b.x.get(id)
	return time.Unix(0, e.seen).UTC(), ok
}
func (b *InboxIndex) Last(id string) (uint64, bool) { e, ok := b.x.get(id); return e.last, ok }

// Page returns the ids, latest offsets, last-seen times and conversations of
// up to limit visitors filter f selects after cursor, in activity order, as
// *Store.ConversationsPage does; fill turns them into summaries (visitor
// documents and pages), dropping those it cannot find.
func (b *InboxIndex) Page(f Filter, cursor string, limit int, fill func(id string) (VisitorSummary, bool)) (page []VisitorSummary, next string, more bool, err error) {
	return b.x.summaries(f, cursor, limit, func(id string) (VisitorSummary, bool, error) {
		vs, ok := fill(id)
		return vs, ok, nil
	})
}

// summaries is the one paging of the agents' list, for *Store and for
// InboxIndex: up to limit visitors filter f selects after cursor ("" = from
// the top), in activity order. fill makes each summary from the visitor's
// records (false: gone since the index was read, skipped; an error ends the
// page); the index fills in Last, LastSeen and the conversation.
func (x *inbox) summaries(f Filter, cursor string, limit int, fill func(id string) (VisitorSummary, bool, error)) (page []VisitorSummary, next string, more bool, err error) {
	if !ValidFilter(f.Kind) {
		return nil, "", false, fmt.Errorf("%w: unknown filter %q", ErrInvalid, f.Kind)
	}
	var pivot *inboxEntry
	if cursor != "" {
		if e, ok := x.get(cursor); ok {
			pivot = &e
		} else {
			c, err := parseCursor(cursor)
			if err != nil {
				return nil, "", false, err
			}
			pivot = &inboxEntry{id: c.ID, last: c.Last, seen: c.LastSeen.UnixNano()}
		}
	}
	entries := x.page(f, pivot, limit)
	if limit > 0 && len(entries) > limit {
		entries, more = entries[:limit], true
	}
	page = make([]VisitorSummary, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		vs, ok, err := fill(e.id)
		if err != nil {
			return nil, "", false, err
		}
		if !ok {
			continue
		}
		vs.Last, vs.Conversation = e.last, conversationOf(e)
		vs.LastSeen = time.Unix(0, e.seen).UTC()
		page = append(page, vs)
	}
	if len(entries) > 0 {
		e := &entries[len(entries)-1]
		next = formatCursor(&VisitorSummary{Visitor: Visitor{ID: e.id, LastSeen: time.Unix(0, e.seen)}, Last: e.last})
	}
	return page, next, more, nil
}

// ValidStatus reports whether s is a conversation state that can be set.
func ValidStatus(s string) bool { return statusCode(s) != 0 }

// Search helpers for stores other than *Store, so a search answers alike
// everywhere (search.go): the words of a text as the index takes them,
// whether a text holds all of them, the snippet around a word, and the
// searchable form of a visitor's name, e-mail and attributes (a query's
// lower-case text is looked for in it).
func SearchWords(text string) []string       { return words(text) }
func HoldsAll(text string, ws []string) bool { return holdsAll(text, ws) }
func Snippet(text, word string) string       { return snippet(text, word) }
func FoldVisitor(name, email string, attrs map[string]string) string {
	return foldVisitor(name, email, attrs)
}
func SortedKeys(m map[string]string) []string { return sortedKeys(m) }
