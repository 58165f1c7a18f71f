package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chatd/chatd/notify/push"
	"github.com/chatd/chatd/store"
)

// frameSubject carries hub.Feed's Broadcast frames to every node (core NATS:
// at most once, in publish order per node). Payload: the target ("" for
// every admin, else a visitor id), a newline, then the frame.
const frameSubject = "chatd.frames"

// Broadcast implements hub.Feed.
func (s *Store) Broadcast(to string, f []byte) {
	b := make([]byte, 0, len(to)+1+len(f))
	b = append(append(append(b, to...), '\n'), f...)
	if err := s.nc.Publish(frameSubject, b); err != nil {
		s.log.Debug().Err(err).Msg("broadcast frame")
	}
}

// subscribeFrames delivers Broadcast frames of every node to the hub.
func (s *Store) subscribeFrames() {
	_, err := s.nc.Subscribe(frameSubject, func(m *nats.Msg) {
		ev := s.feed.Load()
		if ev == nil || ev.Frame == nil {
			return
		}
		to, f, ok := bytes.Cut(m.Data, []byte{'\n'})
		if !ok {
			return
		}
		ev.Frame(string(to), f)
	})
	if err != nil {
		s.log.Error().Err(err).Msg("cannot follow other nodes' frames: admin:client and similar changes reach this node's sockets only from this node")
	}
}

// hookViews makes the views' changes reach the hub: a session ended or an
// admin changed on any node rechecks this node's admin sockets.
func (s *Store) hookViews() {
	revoked := func() {
		if ev := s.feed.Load(); ev != nil && ev.Revoked != nil && s.setup.Load() {
			go ev.Revoked() // off the tail: a recheck may ask the leader
		}
	}
	s.sessions.onChange = func(_ string, _ store.Session, deleted bool, _ time.Time) {
		if deleted {
			revoked()
		}
	}
	s.admins.onChange = func(string, store.Admin, bool, time.Time) { revoked() }
	s.visitors.onChange = s.indexVisitor
	s.convs.onChange = s.applyConversation
}

// Shared returns the cluster-wide value of setting name: the one stored in
// the meta bucket, or candidate, stored now if none was (create if absent,
// so every node ends up with the same value whoever came first). For keys
// that must be one for the whole cluster: the VAPID key pair, the login
// device-token key.
func (s *Store) Shared(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	if err := s.WaitReady(ctx); err != nil {
		return nil, err
	}
	key := "shared." + name
	for {
		if v, err := s.meta.get(ctx, key); err == nil {
			return []byte(v), nil
		} else if !errors.Is(err, errNoKey) && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("read shared %s: %w", name, err)
		}
		err := retryKV(ctx, func(ctx context.Context) error {
			_, err := s.meta.kv.Create(ctx, key, candidate)
			return err
		})
		if err == nil {
			return candidate, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongLastSeq(err) {
			return nil, fmt.Errorf("store shared %s: %w", name, err)
		}
		// another node stored it first: read that one
	}
}

// Push subscriptions (push.Store) live in chatd_push, keyed by subscription
// id: an agent subscribes through any node and the notifying node pushes.

// SaveSubscription implements push.Store.
func (s *Store) SaveSubscription(ctx context.Context, sub push.Subscription) error {
	if err := s.usable(); err != nil {
		return err
	}
	if sub.ID == "" {
		sub.ID = push.SubscriptionID(sub.Endpoint)
	}
	b, err := jsonEncode(sub)
	if err != nil {
		return err
	}
	var rev uint64
	err = retryKV(ctx, func(ctx context.Context) error {
		var err error
		rev, err = s.push.kv.Put(ctx, sub.ID, b)
		return err
	})
	if err != nil {
		return fmt.Errorf("save push subscription %s: %w", sub.ID, err)
	}
	s.push.wrote(ctx, rev)
	return nil
}

// RemoveSubscription implements push.Store.
func (s *Store) RemoveSubscription(ctx context.Context, id string) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := retryKV(ctx, func(ctx context.Context) error { return s.push.kv.Delete(ctx, id) }); err != nil {
		return fmt.Errorf("remove push subscription %s: %w", id, err)
	}
	if last, err := s.streamLast(ctx, "KV_"+bucketPush); err == nil {
		s.push.wrote(ctx, last)
	}
	return nil
}

// Subscriptions implements push.Store.
func (s *Store) Subscriptions(admin string) ([]push.Subscription, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	var out []push.Subscription
	s.push.each(func(_ string, sub push.Subscription) {
		if admin == "" || sub.Admin == admin {
			out = append(out, sub)
		}
	})
	return out, nil
}
