package store

import (
	"fmt"
	"time"

	"github.com/chatd/chatd/db"
)

// PartOf describes the messages of visitor id with offsets from..to
// (inclusive): how many (notes included) and when the first was written.
// The count comes from the index alone; one message is read for the time.
func (s *Store) PartOf(id string, from, to uint64) (n int, started time.Time, err error) {
	if to < from {
		return 0, time.Time{}, nil
	}
	after := ""
	if from > 0 {
		after = db.SeqID(from - 1)
	}
	n, err = s.messages.CountIndex("client", []string{id}, after, db.SeqID(to+1))
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count messages: %w", err)
	}
	if n > 0 {
		ms, err := s.messages.Find(db.Query{Index: "client", Values: []string{id}, After: after, Limit: 1})
		if err != nil {
			return n, time.Time{}, fmt.Errorf("read first message: %w", err)
		}
		if len(ms) == 1 {
			started = ms[0].At
		}
	}
	return n, started, nil
}
