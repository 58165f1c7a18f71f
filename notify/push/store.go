package push

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/chatd/chatd/db"
)

// Store keeps push subscriptions. The chat store may implement it itself;
// DBStore implements it over a db collection.
type Store interface {
	// SaveSubscription inserts s, or replaces the subscription with the same
	// ID (the same endpoint, possibly re-subscribed by another admin).
	SaveSubscription(ctx context.Context, s Subscription) error
	// RemoveSubscription deletes the subscription with id; a missing one is
	// not an error.
	RemoveSubscription(ctx context.Context, id string) error
	// Subscriptions lists admin's subscriptions, or everyone's when admin is "".
	Subscriptions(admin string) ([]Subscription, error)
}

// SubscriptionID is the id of the subscription at endpoint: 32 hex digits of
// its SHA-256 (an endpoint URL is a capability: the id can be shown and logged).
func SubscriptionID(endpoint string) string {
	h := sha256.Sum256([]byte(endpoint))
	return hex.EncodeToString(h[:16])
}

// CollectionName is the db collection DBStore uses.
const CollectionName = "push_subscriptions"

// DBStore is a Store over the db collection "push_subscriptions", indexed
// by admin. It is in chatd's store file, so backups and restores carry it.
type DBStore struct {
	c *db.Collection[Subscription]
}

// NewDBStore opens (or creates) the collection in d.
func NewDBStore(d *db.DB) (*DBStore, error) {
	c, err := db.NewCollection(d, db.Schema[Subscription]{
		Name:    CollectionName,
		ID:      func(s *Subscription) string { return s.ID },
		Indices: []db.Index{{Name: "admin", Fields: []string{"admin"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("open push subscriptions: %w", err)
	}
	return &DBStore{c: c}, nil
}

// SaveSubscription implements Store.
func (s *DBStore) SaveSubscription(ctx context.Context, sub Subscription) error {
	if sub.ID == "" {
		sub.ID = SubscriptionID(sub.Endpoint)
	}
	err := s.c.Update(ctx, sub)
	if errors.Is(err, db.ErrNotFound) {
		_, err = s.c.Insert(ctx, sub)
		if errors.Is(err, db.ErrDuplicate) { // a concurrent save inserted it first
			err = s.c.Update(ctx, sub)
		}
	}
	if err != nil {
		return fmt.Errorf("save push subscription %s: %w", sub.ID, err)
	}
	return nil
}

// RemoveSubscription implements Store.
func (s *DBStore) RemoveSubscription(ctx context.Context, id string) error {
	if err := s.c.Remove(ctx, id); err != nil && !errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("remove push subscription %s: %w", id, err)
	}
	return nil
}

// Subscriptions implements Store.
func (s *DBStore) Subscriptions(admin string) ([]Subscription, error) {
	q := db.Query{}
	if admin != "" {
		q = db.Query{Index: "admin", Values: []string{admin}}
	}
	subs, err := s.c.Find(q)
	if err != nil {
		return nil, fmt.Errorf("list push subscriptions: %w", err)
	}
	return subs, nil
}
