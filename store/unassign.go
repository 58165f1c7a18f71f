package store

import (
	"context"
	"errors"
	"fmt"
)

// assignedOutside lists the visitors whose conversation is assigned to an
// agent keep refuses (any state).
func (x *inbox) assignedOutside(keep func(login string) bool) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var ids []string
	for id, e := range x.byID {
		if e.assignee != "" && !keep(e.assignee) {
			ids = append(ids, id)
		}
	}
	return ids
}

// UnassignGone unassigns every conversation whose assignee is not an admin
// of the store any more (removed from the admins file) and returns them as
// changed. It reads the whole inbox index: call it when the admins change
// and at boot, not per message.
func (s *Store) UnassignGone(ctx context.Context) ([]Conversation, error) {
	admins, err := s.Admins()
	if err != nil {
		return nil, fmt.Errorf("unassign removed agents: %w", err)
	}
	known := make(map[string]bool, len(admins))
	for _, a := range admins {
		known[a.Name] = true
	}
	var out []Conversation
	for _, id := range s.inbox.assignedOutside(func(login string) bool { return known[login] }) {
		c, changed, err := s.changeConversation(ctx, id, func(e *inboxEntry) bool {
			if e.assignee == "" || known[e.assignee] {
				return false
			}
			e.assignee = ""
			return true
		})
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
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
