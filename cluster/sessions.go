package cluster

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Session is an admin login session as the sessions bucket keeps it, keyed
// by the hex SHA-256 of the login token (the token itself is never stored).
type Session struct {
	Admin   string    `json:"admin"`
	Expires time.Time `json:"expires"`
}

// PutSession stores a login session so that every node accepts its token.
func (s *Store) PutSession(hash [32]byte, admin string, expires time.Time) error {
	if err := s.usable(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(s.ctx, writeWait)
	defer cancel()
	b, _ := json.Marshal(Session{Admin: admin, Expires: expires.UTC()})
	var rev uint64
	err := retryKV(ctx, func(ctx context.Context) error {
		var err error
		rev, err = s.sessions.kv.Put(ctx, hex.EncodeToString(hash[:]), b)
		return err
	})
	if err == nil {
		s.sessions.wrote(ctx, rev)
	}
	return err
}

// GetSession finds a login session by its token's hash, from this node's
// view or, on a miss (a login on another node a moment ago), the leader.
func (s *Store) GetSession(hash [32]byte) (admin string, expires time.Time, ok bool) {
	if s.usable() != nil {
		return "", time.Time{}, false
	}
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	se, err := s.sessions.get(ctx, hex.EncodeToString(hash[:]))
	if err != nil {
		return "", time.Time{}, false
	}
	return se.Admin, se.Expires, true
}

// DeleteSession revokes a login session on every node; it reports whether it existed.
func (s *Store) DeleteSession(hash [32]byte) bool {
	if s.usable() != nil {
		return false
	}
	key := hex.EncodeToString(hash[:])
	_, existed := s.sessions.local(key)
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	if err := retryKV(ctx, func(ctx context.Context) error { return s.sessions.kv.Delete(ctx, key) }); err != nil {
		s.log.Warn().Err(err).Msg("revoke admin session")
	} else if last, err := s.streamLast(ctx, "KV_"+bucketSessions); err == nil {
		s.sessions.wrote(ctx, last) // revoked here at once (other nodes within milliseconds)
	}
	return existed
}
