package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/chatd/chatd/db"
)

// The store epoch is a random id that changes whenever the offset sequence
// may restart (a new store, a restore): a client that kept (epoch, offset)
// and finds another epoch resyncs instead of trusting its offset.

// setting is one named value of the settings collection.
type setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

const settingEpoch = "epoch"

func (s *Store) attachSettings(d *db.DB) error {
	var err error
	s.settings, err = db.NewCollection(d, db.Schema[setting]{
		Name: "settings",
		ID:   func(v *setting) string { return v.Key },
	})
	if err != nil {
		return err
	}
	e, err := s.settings.Get(settingEpoch)
	switch {
	case err == nil:
		s.epoch.Store(&e.Value)
		return nil
	case !errors.Is(err, db.ErrNotFound):
		return fmt.Errorf("read store epoch: %w", err)
	}
	// A new store, or one written before epochs existed: its clients' offsets
	// cannot be vouched for, so it starts an epoch of its own.
	id, err := NewEpoch()
	if err != nil {
		return err
	}
	return s.SetEpoch(id)
}

// NewEpoch draws a random epoch id (16 hex digits).
func NewEpoch() (string, error) { return randomString(8, true) }

// Epoch is the store's current epoch id.
func (s *Store) Epoch() string {
	if p := s.epoch.Load(); p != nil {
		return *p
	}
	return ""
}

// SetEpoch stores epoch as the store's epoch.
func (s *Store) SetEpoch(epoch string) error {
	if epoch == "" {
		return fmt.Errorf("%w: empty epoch", ErrInvalid)
	}
	ctx := context.Background()
	v := setting{Key: settingEpoch, Value: epoch}
	err := s.settings.Update(ctx, v)
	if errors.Is(err, db.ErrNotFound) {
		_, err = s.settings.Insert(ctx, v)
	}
	if err != nil {
		return fmt.Errorf("store epoch: %w", err)
	}
	s.epoch.Store(&epoch)
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
	v := setting{Key: key, Value: hex.EncodeToString(b)}
	err := s.settings.Update(ctx, v)
	if errors.Is(err, db.ErrNotFound) {
		_, err = s.settings.Insert(ctx, v)
	}
	if err != nil {
		return nil, fmt.Errorf("store secret %s: %w", name, err)
	}
	return b, nil
}
