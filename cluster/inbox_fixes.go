package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/store"
)

// UnassignGone implements hub.InboxStore (store.Store.UnassignGone's rule):
// every conversation assigned to a login that is no longer an admin is
// unassigned; the changed ones are returned.
func (s *Store) UnassignGone(ctx context.Context) ([]store.Conversation, error) {
	admins, err := s.Admins()
	if err != nil {
		return nil, fmt.Errorf("unassign removed agents: %w", err)
	}
	known := make(map[string]bool, len(admins))
	for _, a := range admins {
		known[a.Name] = true
	}
	var ids []string
	s.convs.each(func(id string, d store.ConversationDoc) {
		if d.Assignee != "" && !known[d.Assignee] {
			ids = append(ids, id)
		}
	})
	var out []store.Conversation
	for _, id := range ids {
		c, changed, err := s.changeConversation(ctx, id, func(d *store.ConversationDoc, _ string, _ bool) bool {
			if d.Assignee == "" || known[d.Assignee] {
				return false
			}
			d.Assignee = ""
			return true
		})
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("unassign removed agents: %w", err)
		}
		if changed {
			out = append(out, c)
		}
	}
	return out, nil
}

// PartOf implements hub.InboxStore: how many of visitor id's messages have
// offsets from..to, and when the first was written.
func (s *Store) PartOf(id string, from, to uint64) (int, time.Time, error) {
	if to < from {
		return 0, time.Time{}, nil
	}
	after := uint64(0)
	if from > 0 {
		after = from - 1
	}
	ms := s.msgs.before(id, to+1, 0)
	n, first := 0, time.Time{}
	for _, m := range ms {
		if m.Offset > after {
			if n == 0 {
				first = m.At
			}
			n++
		}
	}
	return n, first, nil
}

// activeConversation reports whether visitor id's conversation keeps it
// from retention at cutoff: snoozed until a time still to come, or its
// state changed at or after cutoff (store.Store.Inactive's rule).
func (s *Store) activeConversation(id string, cutoff time.Time) bool {
	d, ok := s.convs.local(id)
	if !ok {
		return false
	}
	if d.Status == store.StatusSnoozed && d.SnoozeUntil.After(time.Now()) {
		return true
	}
	return !d.Updated.Before(cutoff)
}
