package hub

import "github.com/chatd/chatd/store"

// Observer is told what happens in the hub, for notifications (the
// notify/dispatch package implements it). The hub calls it inline, from
// socket handlers and under its own locks: every method must return at
// once, never block, and never call back into the hub.
type Observer interface {
	// MessageStored: a new message was stored (never a duplicate cid, never
	// an internal note: notes stay in the portal, so no notification channel
	// can mail, push or post one), called in offset order once its frames
	// are queued to the sockets.
	// visitorName is the visitor's name when the hub knows it (the sender's
	// own socket, or the visitor online), else "". Whether the message opens
	// a conversation is the observer's to decide.
	MessageStored(m store.Message, visitorName string)
	// VisitorPresence: a visitor's first socket opened (online) or its
	// last one closed.
	VisitorPresence(visitor string, online bool)
	// AgentsOnline: the number of agents online (status online and an open
	// admin socket) changed to n.
	AgentsOnline(n int)
	// VisitorDeleted: visitor's data was deleted (DELETE /api/visitors/{id}
	// or retention): nothing still waiting to be sent about it may go out.
	VisitorDeleted(visitor string)
}

// nopObserver is the Observer of a hub configured without one.
type nopObserver struct{}

func (nopObserver) MessageStored(store.Message, string) {}
func (nopObserver) VisitorPresence(string, bool)        {}
func (nopObserver) AgentsOnline(int)                    {}
func (nopObserver) VisitorDeleted(string)               {}

// AdminConnected reports whether admin name has an open, identified admin
// socket now (a portal open, whatever its status): on any node with a Feed.
func (h *Hub) AdminConnected(name string) bool {
	p := h.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connectedLocked(name)
}

// visitorName is the name of visitor id as the hub knows it: from the
// sender's own socket, else from the visitor's open sockets, else "".
func (h *Hub) visitorName(sender *conn, id string) string {
	if sender == nil {
		// from the feed: the name of a visitor with a socket here
	} else if who := sender.who(); who != nil && sender.kind == kindClient && who.visitor == id {
		return who.name
	}
	h.idx.mu.RLock()
	defer h.idx.mu.RUnlock()
	if r := h.idx.rooms[id]; r != nil {
		return r.name
	}
	return ""
}

// VisitorOnline reports whether visitor id has an open socket now (on any
// live node with a Feed).
func (h *Hub) VisitorOnline(id string) bool {
	if h.feed != nil {
		_, ok := h.feed.Online()[id]
		return ok
	}
	h.idx.mu.RLock()
	defer h.idx.mu.RUnlock()
	return h.idx.rooms[id] != nil
}
