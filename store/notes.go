package store

import (
	"fmt"

	"github.com/chatd/chatd/db"
)

// Internal notes are messages agents write in a visitor's conversation for
// each other (Message.Note). They are stored and numbered like any message,
// and a visitor never receives one: every read made for a visitor goes
// through the Public* methods below, which skip notes before they count
// toward a limit (so a page of 100 holds 100 messages the visitor may see).

// PublicMessagesOf is MessagesOf without notes: visitor id's messages with
// offset > after, oldest first; limit > 0 keeps the newest limit of them.
func (s *Store) PublicMessagesOf(id string, after uint64, limit int) ([]Message, error) {
	return s.public(db.Query{Index: "client", Values: []string{id}, After: db.SeqID(after), Reverse: limit > 0}, limit)
}

// PublicMessagesBefore is MessagesBefore without notes: up to limit of
// visitor id's messages with offset < before (0: no bound), oldest first.
func (s *Store) PublicMessagesBefore(id string, before uint64, limit int) ([]Message, error) {
	q := db.Query{Index: "client", Values: []string{id}, Reverse: true}
	if before > 0 {
		q.Before = db.SeqID(before)
	}
	return s.public(q, limit)
}

// public walks q, keeping up to limit messages that are not notes, and
// returns them oldest first.
func (s *Store) public(q db.Query, limit int) ([]Message, error) {
	var out []Message
	err := s.messages.Walk(q, func(m Message) bool {
		if m.Note {
			return true
		}
		out = append(out, m)
		return limit <= 0 || len(out) < limit
	})
	if err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	if q.Reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// WithoutNotes returns ms without notes (in place): a last guard on every list of
// messages bound for a visitor socket.
func WithoutNotes(ms []Message) []Message {
	out := ms[:0]
	for _, m := range ms {
		if !m.Note {
			out = append(out, m)
		}
	}
	return out
}
