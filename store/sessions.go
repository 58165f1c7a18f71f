package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/db"
)

// Session is an admin login kept across restarts. The token itself is never
// stored: ID is its hex SHA-256 (tokens carry 256 random bits, so a fast hash
// suffices, as for visitor tokens).
type Session struct {
	ID      string    `json:"id"`      // HashToken(token)
	Admin   string    `json:"admin"`   // login name
	Key     string    `json:"key"`     // ties the session to the password it was opened with (see auth)
	Addr    string    `json:"addr"`    // client address group at login (a familiar address for the login limits)
	Created time.Time `json:"created"` // UTC
	Expires time.Time `json:"expires"` // UTC; the session is dead from this instant on
}

func (s *Store) attachSessions(d *db.DB) error {
	var err error
	s.sessions, err = db.NewCollection(d, db.Schema[Session]{
		Name:    "sessions",
		ID:      func(v *Session) string { return v.ID },
		Indices: []db.Index{{Name: "admin", Fields: []string{"admin"}}},
	})
	return err
}

// AddSession stores a new session; ErrInvalid if its id or admin is empty.
func (s *Store) AddSession(ctx context.Context, v Session) error {
	if v.ID == "" || v.Admin == "" {
		return fmt.Errorf("%w: session needs an id and an admin", ErrInvalid)
	}
	v.Created, v.Expires = v.Created.UTC(), v.Expires.UTC()
	if _, err := s.sessions.Insert(ctx, v); err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	return nil
}

// DeleteSession removes session id; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.sessions.Remove(ctx, id)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Sessions lists every stored session, expired ones included.
func (s *Store) Sessions() ([]Session, error) {
	vs, err := s.sessions.Find(db.Query{})
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return vs, nil
}

// DropSessions removes every session (a restore: sessions in a backup may
// have been revoked since it was taken). It returns how many it removed.
func (s *Store) DropSessions(ctx context.Context) (int, error) {
	vs, err := s.Sessions()
	if err != nil {
		return 0, err
	}
	if err := s.sessions.Reseed(ctx, nil); err != nil {
		return 0, fmt.Errorf("drop sessions: %w", err)
	}
	return len(vs), nil
}

// RaiseOffsets makes every offset handed out from now on greater than n,
// durably before it returns (see db.Collection.RaiseSeq).
func (s *Store) RaiseOffsets(ctx context.Context, n uint64) error {
	if err := s.messages.RaiseSeq(ctx, n); err != nil {
		return fmt.Errorf("raise offsets above %d: %w", n, err)
	}
	return nil
}
