package store

import (
	"context"
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
