package cluster

import (
	"context"
	"errors"

	"github.com/chatd/chatd/store"
)

// Admin login sessions live in the chatd_sessions bucket, keyed by their id
// (the SHA-256 of the token, never the token): a login on one node is
// accepted on every node, a logout on one ends the session on all
// (auth.SharedSessions).

// AddSession stores a login session (auth.Sessions).
func (s *Store) AddSession(ctx context.Context, se store.Session) error {
	if err := s.usable(); err != nil {
		return err
	}
	b, err := jsonEncode(se)
	if err != nil {
		return err
	}
	var rev uint64
	err = retryKV(ctx, func(ctx context.Context) error {
		var err error
		rev, err = s.sessions.kv.Put(ctx, se.ID, b)
		return err
	})
	if err == nil {
		s.sessions.wrote(ctx, rev)
	}
	return err
}

// DeleteSession removes a session on every node (auth.Sessions).
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := retryKV(ctx, func(ctx context.Context) error { return s.sessions.kv.Delete(ctx, id) }); err != nil {
		return err
	}
	if last, err := s.streamLast(ctx, "KV_"+bucketSessions); err == nil {
		s.sessions.wrote(ctx, last) // ended here at once, on the other nodes within milliseconds
	}
	return nil
}

// Sessions lists the stored sessions (auth.Sessions).
func (s *Store) Sessions() ([]store.Session, error) {
	if !s.setup.Load() {
		return nil, nil // auth loads at start, before the node joined; Session finds them on demand
	}
	var out []store.Session
	s.sessions.each(func(_ string, se store.Session) { out = append(out, se) })
	return out, nil
}

// Session finds a session by id, from this node's view or, on a miss (a
// login on another node a moment ago), the leader (auth.SharedSessions).
func (s *Store) Session(id string) (store.Session, bool) {
	if s.usable() != nil || id == "" {
		return store.Session{}, false
	}
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	se, err := s.sessions.get(ctx, id)
	if err != nil {
		if !errors.Is(err, errNoKey) {
			s.log.Debug().Err(err).Msg("look up admin session")
		}
		return store.Session{}, false
	}
	return se, true
}
