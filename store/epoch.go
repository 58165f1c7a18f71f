package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/chatd/chatd/db"
)

// The epoch names one sequence of offsets. It is a random id drawn when the
// data file is created (or, for a file written before epochs existed, when it
// is first opened) and kept in the file. It changes whenever the offsets may
// start over or be handed out again (a new store, a restore), so a client
// holding offsets of another epoch knows its cursor means nothing here.

// setting is one stored key/value of the store itself (collection "settings").
type setting struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

const epochKey = "epoch"

// MaxEpochLen bounds an epoch id given to SetEpoch, in bytes.
const MaxEpochLen = 64

// loadEpoch reads the epoch, drawing and storing one if the file has none.
func (s *Store) loadEpoch() error {
	e, err := s.settings.Get(epochKey)
	if err == nil && e.Value != "" {
		s.epoch.Store(&e.Value)
		return nil
	}
	// A damaged epoch record (db logged it) is an unknown epoch: a new one
	// makes every client resync, which is right whatever the old one was.
	if err != nil && !errors.Is(err, db.ErrNotFound) && !errors.Is(err, db.ErrDamaged) {
		return fmt.Errorf("read epoch: %w", err)
	}
	_, err = s.ResetEpoch(context.Background())
	return err
}

// Epoch returns the store's epoch id (16 hex digits for epochs it drew).
func (s *Store) Epoch() string { return *s.epoch.Load() }

// ResetEpoch draws a new random epoch, stores it durably and returns it.
func (s *Store) ResetEpoch(ctx context.Context) (string, error) {
	e, err := randomString(8, true)
	if err != nil {
		return "", err
	}
	return e, s.SetEpoch(ctx, e)
}

// SetEpoch stores epoch e (1 to MaxEpochLen printable ASCII bytes) durably.
// The restore tool gives a restored file a new epoch with it.
func (s *Store) SetEpoch(ctx context.Context, e string) error {
	if e == "" || len(e) > MaxEpochLen {
		return fmt.Errorf("%w: epoch must be 1 to %d bytes", ErrInvalid, MaxEpochLen)
	}
	for i := 0; i < len(e); i++ {
		if e[i] <= ' ' || e[i] > '~' {
			return fmt.Errorf("%w: epoch must be printable ASCII", ErrInvalid)
		}
	}
	doc := setting{ID: epochKey, Value: e}
	ctx = db.Durable(ctx) // an epoch that could vanish would hand old cursors a meaning
	err := s.settings.Update(ctx, doc)
	if errors.Is(err, db.ErrNotFound) {
		_, err = s.settings.Insert(ctx, doc)
	}
	if err != nil {
		return fmt.Errorf("store epoch: %w", err)
	}
	s.epoch.Store(&e)
	return nil
}

// Secret returns the random secret called name, drawing n random bytes and
// storing them on first use (the login layer keys its device tokens with one).
// It lives in the store file, like the password hashes.
func (s *Store) Secret(name string, n int) ([]byte, error) {
	key := "secret:" + name
	if v, err := s.settings.Get(key); err == nil {
		b, err := hex.DecodeString(v.Value)
		if err == nil && len(b) == n {
			return b, nil
		}
	} else if !errors.Is(err, db.ErrNotFound) {
		return nil, fmt.Errorf("read secret %s: %w", name, err)
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("draw secret %s: %w", name, err)
	}
	ctx := context.Background()
	v := setting{ID: key, Value: hex.EncodeToString(b)}
	err := s.settings.Update(ctx, v)
	if errors.Is(err, db.ErrNotFound) {
		_, err = s.settings.Insert(ctx, v)
	}
	if err != nil {
		return nil, fmt.Errorf("store secret %s: %w", name, err)
	}
	return b, nil
}
