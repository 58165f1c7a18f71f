package store

import (
	"errors"

	"github.com/chatd/chatd/db"
)

// reindex sets visitor id's inbox entry from what is stored, as a load
// would: its newest message and its conversation document (none: the state
// the messages alone give); a visitor no longer stored leaves the index.
// A deletion that failed midway calls it, so that the counts and the list
// read the same before and after a restart (the commits it made are kept).
func (s *Store) reindex(id string) {
	if !s.visitors.Has(id) {
		s.inbox.remove(id)
		return
	}
	var last uint64
	if ms, err := s.MessagesBefore(id, 0, 1); err == nil && len(ms) == 1 {
		last = ms[0].Offset
	}
	var doc *convDoc
	if d, err := s.conv.docs.Get(id); err == nil {
		doc = &d
	} else if !errors.Is(err, db.ErrNotFound) {
		return // unreadable: keep the entry as it is
	}
	s.inbox.change(id, false, func(e *inboxEntry) { e.last = last })
	(&InboxIndex{x: s.inbox}).Apply(id, doc)
}
