package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/cluster"
	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/notify/push"
	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/store"
)

// notifierGate lets one node of a cluster notify. Every node's hub tells
// its Observer of every committed message and every cluster-wide presence
// change (hub.Feed); only the node for which on() holds (cluster.Store.Notifier:
// the live node with the lowest name) passes them on, so a message is
// mailed, pushed and posted once, not once per node. The agents-online
// count goes through on every node: it is state, not an event, and a node
// that becomes the notifier must already know it.
type notifierGate struct {
	inner hub.Observer
	on    func() bool
}

func (g notifierGate) MessageStored(m store.Message, visitorName string) {
	if g.on() {
		g.inner.MessageStored(m, visitorName)
	}
}

func (g notifierGate) VisitorPresence(visitor string, online bool) {
	if g.on() {
		g.inner.VisitorPresence(visitor, online)
	}
}

func (g notifierGate) AgentsOnline(n int) { g.inner.AgentsOnline(n) }

// VisitorDeleted drops what waits for a deleted visitor: on any node, as it
// costs nothing where nothing waits.
func (g notifierGate) VisitorDeleted(visitor string) { g.inner.VisitorDeleted(visitor) }

// adoptShared makes the keys that must be one for the whole cluster the
// same on every node, once this node has joined: the device-token key of
// the admin logins and the VAPID key pair (a push subscription is bound
// to the public key it was made with, and any node may answer
// /api/push/vapid while the notifier pushes). The first node to store
// its own wins; the others adopt it. Retried until ctx ends.
func adoptShared(ctx context.Context, cs *cluster.Store, au *auth.Auth, sender *push.Sender, data string, log zerolog.Logger) {
	retryUntilDone(ctx, log, "cannot adopt the cluster's shared keys yet; retrying", func() error {
		if err := adoptOnce(ctx, cs, au, sender, data); err != nil {
			return err
		}
		log.Info().Bool("push", sender != nil).Msg("adopted the cluster's shared keys")
		return nil
	})
}

func adoptOnce(ctx context.Context, cs *cluster.Store, au *auth.Auth, sender *push.Sender, data string) error {
	cand := make([]byte, 32)
	if _, err := rand.Read(cand); err != nil {
		return fmt.Errorf("draw device key: %w", err)
	}
	k, err := cs.Shared(ctx, "device-key", cand)
	if err != nil {
		return err
	}
	if err := au.SetDeviceKey(k); err != nil {
		return err
	}
	if sender == nil {
		return nil
	}
	// This node's own key pair (from its data directory) is its candidate.
	own, err := push.LoadOrCreateKeys(data)
	if err != nil {
		return err
	}
	mine, err := json.Marshal(own)
	if err != nil {
		return err
	}
	b, err := cs.Shared(ctx, "vapid", mine)
	if err != nil {
		return err
	}
	var keys push.Keys
	if err := json.Unmarshal(b, &keys); err != nil {
		return fmt.Errorf("the cluster's VAPID keys: %w", err)
	}
	return sender.SetKeys(keys)
}

// clusterAgentsReload applies this node's admins file to the cluster (the
// agents API writes the file of the node it reached): the chatd_admins
// bucket is reseeded from it, so the change holds on every node and a
// removed or changed agent's sockets close everywhere.
func clusterAgentsReload(ctx context.Context, cs *cluster.Store, data string) func() error {
	return func() error {
		admins, err := seed.Load(data)
		if err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return cs.ReseedAdmins(rctx, admins)
	}
}
