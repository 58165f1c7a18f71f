package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chatd/chatd/store"
)

// Conversations (issue 13) live in the chatd_conversations bucket, one
// store.ConversationDoc per visitor, changed with compare-and-set so two
// nodes changing one conversation at once lose nothing (the second one
// reads the first's write and decides again). Every node keeps the same
// inbox index as the single node (store.InboxIndex), fed by what it applies
// (visitors, messages, conversation documents), so paging, filters and
// counts read memory.

// casJSON changes the JSON document at key of kv with fn (cur is the zero
// value when the key is missing), retrying on a concurrent change. changed
// is false when fn changed nothing; rev is the revision written.
func casJSON[T any](ctx context.Context, kv jetstream.KeyValue, key string, fn func(cur *T, exists bool) (bool, error)) (doc T, changed bool, rev uint64, err error) {
	for try := 0; try < 8; try++ {
		var (
			cur T
			old uint64
			e   jetstream.KeyValueEntry
		)
		err := retryKV(ctx, func(ctx context.Context) error {
			var err error
			e, err = kv.Get(ctx, key)
			return err
		})
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return cur, false, 0, fmt.Errorf("%w: read %s: %v", ErrUnavailable, key, err)
		default:
			if err := json.Unmarshal(e.Value(), &cur); err != nil {
				return cur, false, 0, fmt.Errorf("decode %s: %w", key, err)
			}
			old = e.Revision()
		}
		ch, err := fn(&cur, old != 0)
		if err != nil || !ch {
			return cur, false, 0, err
		}
		b, _ := json.Marshal(cur)
		var wrote uint64
		err = retryKV(ctx, func(ctx context.Context) error {
			var err error
			if old == 0 {
				wrote, err = kv.Create(ctx, key, b)
			} else {
				wrote, err = kv.Update(ctx, key, b, old)
			}
			return err
		})
		switch {
		case err == nil:
			return cur, true, wrote, nil
		case errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) || isWrongLastSeq(err):
			continue
		default:
			return cur, false, 0, fmt.Errorf("%w: store %s: %v", ErrUnavailable, key, err)
		}
	}
	var zero T
	return zero, false, 0, fmt.Errorf("%w: %s kept changing", ErrUnavailable, key)
}

// applyConversation is the conversations view's hook.
func (s *Store) applyConversation(id string, d store.ConversationDoc, deleted bool, _ time.Time) {
	if deleted {
		s.inbox.Apply(id, nil)
	} else {
		s.inbox.Apply(id, &d)
	}
}

// indexVisitor is the visitors view's hook: the index learns the visitor,
// its last-seen time, and what was applied of it before (its latest
// message, its conversation), whichever view got there first.
func (s *Store) indexVisitor(id string, v store.Visitor, deleted bool, _ time.Time) {
	if deleted {
		s.inbox.Remove(id)
		s.msgs.drop(id)
		return
	}
	known := s.inbox.Has(id)
	s.inbox.Visitor(id, v.LastSeen)
	if !known {
		if last := s.msgs.last(id); last > 0 {
			s.inbox.Message(store.Message{Client: id, Offset: last})
		}
		if d, ok := s.convs.local(id); ok {
			s.inbox.Apply(id, &d)
		}
	}
}

// conversationOf renders visitor id's document d (nil: none) as the agents see it.
func (s *Store) conversationOf(id string, d *store.ConversationDoc) store.Conversation {
	last := s.msgs.last(id)
	if l, ok := s.inbox.Last(id); ok && l > last {
		last = l
	}
	c := store.Conversation{Client: id, Last: last}
	if d == nil {
		if last > 0 {
			c.Status = store.StatusOpen
		}
		return c
	}
	c.Status, c.Assignee, c.VisitorSeen, c.AgentSeen, c.Updated = d.Status, d.Assignee, d.VisitorSeen, d.AgentSeen, d.Updated
	if d.Status == store.StatusSnoozed {
		c.SnoozeUntil = d.SnoozeUntil
	}
	return c
}

// Conversation implements hub.InboxStore.
func (s *Store) Conversation(id string) (store.Conversation, error) {
	if _, err := s.Visitor(id); err != nil {
		return store.Conversation{}, err
	}
	if d, ok := s.convs.local(id); ok {
		return s.conversationOf(id, &d), nil
	}
	return s.conversationOf(id, nil), nil
}

// changeConversation runs fn on visitor id's conversation document (state
// is the conversation's state before, as the agents see it) and stores it
// when fn reports a change, as store.Store's does (a state set on a
// conversation without messages opens it; resolving records a segment).
func (s *Store) changeConversation(ctx context.Context, id string, fn func(d *store.ConversationDoc, state string, hasDoc bool) bool) (store.Conversation, bool, error) {
	if err := s.usable(); err != nil {
		return store.Conversation{}, false, err
	}
	if _, err := s.Visitor(id); err != nil {
		return store.Conversation{}, false, err
	}
	// A resolve records the conversation's last offset from this node's copy
	// of the log: let it catch up with every message this node knows is
	// committed (an agent's reply acknowledged here a moment ago included),
	// as a single node's store sees them at once.
	wctx, cancel := context.WithTimeout(ctx, readWait)
	s.msgTail.waitFor(wctx, s.known.Load())
	cancel()
	var last uint64
	d, changed, rev, err := casJSON(ctx, s.convs.kv, id, func(d *store.ConversationDoc, exists bool) (bool, error) {
		cur := s.conversationOf(id, nil)
		last = cur.Last
		state := cur.Status
		if exists {
			state = d.Status
		}
		before := state
		d.Client = id
		if !fn(d, state, exists) {
			return false, nil
		}
		now := time.Now().UTC()
		d.Updated = now
		if d.Status == "" {
			d.Status = store.StatusOpen
		}
		if d.Status == store.StatusResolved && before != store.StatusResolved && last > 0 {
			from := uint64(1)
			if n := len(d.Segments); n > 0 {
				from = d.Segments[n-1].To + 1
			}
			if from <= last {
				d.Segments = append(d.Segments, store.Segment{From: from, To: last, Ended: now})
				if n := len(d.Segments) - store.MaxSegments; n > 0 {
					d.Segments = append([]store.Segment(nil), d.Segments[n:]...)
				}
			}
		}
		if d.Status != store.StatusSnoozed {
			d.SnoozeUntil = time.Time{}
		}
		return true, nil
	})
	if err != nil {
		return store.Conversation{}, false, err
	}
	if changed {
		s.convs.wrote(ctx, rev)
	}
	return s.conversationOf(id, &d), changed, nil
}

// SetStatus implements hub.InboxStore (store.Store.SetStatus's rules).
func (s *Store) SetStatus(ctx context.Context, id, status string, until time.Time) (store.Conversation, bool, error) {
	if !store.ValidStatus(status) {
		return store.Conversation{}, false, fmt.Errorf("%w: status must be open, resolved or snoozed", store.ErrInvalid)
	}
	if status == store.StatusSnoozed {
		now := time.Now()
		if !until.After(now) || until.Sub(now) > store.MaxSnooze {
			return store.Conversation{}, false, fmt.Errorf("%w: snooze until must be in the future, at most %d days away", store.ErrInvalid, int(store.MaxSnooze.Hours()/24))
		}
	}
	since := s.LastOffset()
	if since == math.MaxUint64 { // no leader to ask: the highest offset this node has applied
		since = s.Applied()
	}
	return s.changeConversation(ctx, id, func(d *store.ConversationDoc, state string, hasDoc bool) bool {
		if state == status && (status != store.StatusSnoozed || d.SnoozeUntil.Equal(until)) && hasDoc {
			return false
		}
		d.Status, d.Since = status, since
		if status == store.StatusSnoozed {
			d.SnoozeUntil = until.UTC()
		}
		return true
	})
}

// Assign implements hub.InboxStore: to must be an admin ("" unassigns).
func (s *Store) Assign(ctx context.Context, id, to string) (store.Conversation, bool, error) {
	if to != "" {
		if _, err := s.Admin(to); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return store.Conversation{}, false, fmt.Errorf("%w: no agent %q", store.ErrInvalid, to)
			}
			return store.Conversation{}, false, err
		}
	}
	return s.changeConversation(ctx, id, func(d *store.ConversationDoc, _ string, hasDoc bool) bool {
		if d.Assignee == to && hasDoc {
			return false
		}
		d.Assignee = to
		return true
	})
}

// ConversationMessage implements hub.InboxStore: a visitor's message stored
// after the state was set reopens a resolved or snoozed conversation;
// changed is also true when m started the conversation (its visitor's
// first message). Called by the node that stored m, once.
func (s *Store) ConversationMessage(ctx context.Context, m store.Message) (store.Conversation, bool, error) {
	cur, err := s.Conversation(m.Client)
	if err != nil {
		return cur, false, err
	}
	// The decision needs this node's view to hold m and everything before
	// it only when m may start the conversation (no earlier message seen
	// yet) or reopen it; a message in an open conversation with earlier
	// messages costs no wait (the sender's socket reads its next frame
	// only once this returns).
	if len(s.msgs.before(m.Client, m.Offset, 1)) == 0 || cur.Status == store.StatusResolved || cur.Status == store.StatusSnoozed {
		wctx, cancel := context.WithTimeout(ctx, readWait)
		s.msgTail.waitFor(wctx, m.Offset)
		cancel()
		if cur, err = s.Conversation(m.Client); err != nil {
			return cur, false, err
		}
	}
	d, hasDoc := s.convs.local(m.Client)
	since := uint64(0)
	if hasDoc {
		since = d.Since
	}
	if m.From != store.FromClient || m.Note || (cur.Status != store.StatusResolved && cur.Status != store.StatusSnoozed) || m.Offset <= since {
		first := s.msgs.before(m.Client, m.Offset, 1)
		return cur, len(first) == 0 && !hasDoc, nil
	}
	return s.changeConversation(ctx, m.Client, func(d *store.ConversationDoc, state string, _ bool) bool {
		if (state != store.StatusResolved && state != store.StatusSnoozed) || m.Offset <= d.Since {
			return false
		}
		d.Status, d.Since = store.StatusOpen, m.Offset
		return true
	})
}

// NextWake implements hub.InboxStore.
func (s *Store) NextWake() (time.Time, bool) { return s.inbox.NextWake() }

// WakeSnoozed implements hub.InboxStore. Every node runs it; the
// compare-and-set lets one of them reopen each conversation.
func (s *Store) WakeSnoozed(ctx context.Context, now time.Time) ([]store.Conversation, error) {
	var out []store.Conversation
	for _, id := range s.inbox.Due(now) {
		c, changed, err := s.changeConversation(ctx, id, func(d *store.ConversationDoc, state string, _ bool) bool {
			if state != store.StatusSnoozed || d.SnoozeUntil.After(now) {
				return false
			}
			d.Status = store.StatusOpen
			return true
		})
		if errors.Is(err, store.ErrNotFound) {
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

// Counts implements hub.InboxStore.
func (s *Store) Counts(me string) store.Counts { return s.inbox.Counts(me) }

// OpenAssigned implements hub.InboxStore.
func (s *Store) OpenAssigned(name string) int { return s.inbox.OpenAssigned(name) }

// ConversationsPage implements hub.InboxStore.
func (s *Store) ConversationsPage(f store.Filter, cursor string, limit int) ([]store.VisitorSummary, string, bool, error) {
	if err := s.usable(); err != nil {
		return nil, "", false, err
	}
	return s.inbox.Page(f, cursor, limit, func(id string) (store.VisitorSummary, bool) {
		v, ok := s.visitors.local(id)
		if !ok {
			return store.VisitorSummary{}, false
		}
		vs := store.VisitorSummary{Visitor: v}
		if d, ok := s.pages.local(id); ok {
			cur := d.Current
			vs.Page = &cur
		}
		return vs, true
	})
}

// SetAgentSeen and SetVisitorSeen implement hub.InboxStore: offsets only
// grow, capped at the conversation's latest message.
func (s *Store) SetAgentSeen(ctx context.Context, id string, offset uint64) (store.Conversation, bool, error) {
	return s.setSeen(ctx, id, offset, false)
}

func (s *Store) SetVisitorSeen(ctx context.Context, id string, offset uint64) (store.Conversation, bool, error) {
	return s.setSeen(ctx, id, offset, true)
}

// SetSeen is SetVisitorSeen as the single node's store has it.
func (s *Store) SetSeen(ctx context.Context, id string, offset uint64) (uint64, bool, error) {
	c, changed, err := s.SetVisitorSeen(ctx, id, offset)
	return c.VisitorSeen, changed, err
}

func (s *Store) setSeen(ctx context.Context, id string, offset uint64, visitor bool) (store.Conversation, bool, error) {
	cur, err := s.Conversation(id)
	if err != nil {
		return cur, false, err
	}
	grows := func(vs, as, last uint64) bool {
		o := min(offset, last)
		if visitor {
			return o > vs
		}
		return o > as
	}
	if !grows(cur.VisitorSeen, cur.AgentSeen, cur.Last) {
		return cur, false, nil
	}
	last := cur.Last
	return s.changeConversation(ctx, id, func(d *store.ConversationDoc, _ string, _ bool) bool {
		if !grows(d.VisitorSeen, d.AgentSeen, last) {
			return false
		}
		if o := min(offset, last); visitor {
			d.VisitorSeen = o
		} else {
			d.AgentSeen = o
		}
		return true
	})
}

// Segments implements hub.InboxStore.
func (s *Store) Segments(id string) ([]store.Segment, error) {
	if _, err := s.Visitor(id); err != nil {
		return nil, err
	}
	d, _ := s.convs.local(id)
	return d.Segments, nil
}

// PublicMessagesOf and PublicMessagesBefore implement hub.InboxStore:
// MessagesOf and MessagesBefore without notes (the limit counts the others).
func (s *Store) PublicMessagesOf(id string, after uint64, limit int) ([]store.Message, error) {
	ms, err := s.MessagesOf(id, after, 0)
	if err != nil {
		return nil, err
	}
	return newest(store.WithoutNotes(ms), limit), nil
}

func (s *Store) PublicMessagesBefore(id string, before uint64, limit int) ([]store.Message, error) {
	ms, err := s.MessagesBefore(id, before, 0)
	if err != nil {
		return nil, err
	}
	return newest(store.WithoutNotes(ms), limit), nil
}

func newest(ms []store.Message, limit int) []store.Message {
	if limit > 0 && len(ms) > limit {
		return ms[len(ms)-limit:]
	}
	return ms
}
