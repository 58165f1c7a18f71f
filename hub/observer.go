package hub

import "github.com/chatd/chatd/store"

// Observer is told what happens in the hub, for notifications (the
// notify/dispatch package implements it). The hub calls it inline, from
// socket handlers and under its own locks: every method must return at
// once, never block, and never call back into the hub.
type Observer interface {
	// MessageStored: a new message was stored (never a duplicate cid),
	// called in offset order once its frames are queued to the sockets.
	// Whether it opens a conversation is the observer's to decide.
	MessageStored(m store.Message)
	// VisitorPresence: a visitor's first socket opened (online) or its
	// last one closed.
	VisitorPresence(visitor string, online bool)
	// AgentsOnline: the number of agents online (status online and an open
	// admin socket) changed to n.
	AgentsOnline(n int)
}

// nopObserver is the Observer of a hub configured without one.
type nopObserver struct{}

func (nopObserver) MessageStored(store.Message)  {}
func (nopObserver) VisitorPresence(string, bool) {}
func (nopObserver) AgentsOnline(int)             {}

// AdminConnected reports whether admin name has an open, identified admin
// socket now (a portal open, whatever its status).
func (h *Hub) AdminConnected(name string) bool {
	p := h.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns[name] > 0
}

// VisitorOnline reports whether visitor id has an open socket now.
func (h *Hub) VisitorOnline(id string) bool {
	h.idx.mu.RLock()
	defer h.idx.mu.RUnlock()
	return h.idx.rooms[id] != nil
}
