package hub

import (
	"strings"

	"github.com/chatd/chatd/store"
)

// Feed is implemented by a Store shared by several chatd processes (package
// cluster): there the log, not this process, decides the order of messages,
// and a visitor may have sockets on other nodes. With such a Store the hub
// changes in three places, and nowhere else:
//
//   - A stored message is not released by the hub's sequencer: every message
//     committed by any node, the sender's own included, comes from the Feed's
//     onMessage, once, in offset order, and goes to this node's sockets from
//     there. So a socket never gets a message twice (once from its own
//     AddMessage and once from the feed), and all nodes deliver in the same
//     order. A duplicate cid is still answered to its sender alone.
//   - The room index does not announce admin:client_status itself: it reports
//     this node's first and last socket of a visitor with SetPresence, and
//     the announcements come from onStatus, aggregated over all nodes.
//   - admin:list's "connected" comes from Online, not from local sockets.
//   - admin:client_page comes from FeedEvents.Page (a page recorded on any node).
//   - Agents: this node's first and last admin socket of an agent and the
//     agent's chosen status go to SetAgent and SetAgentStatus; availability,
//     admin:agents and AdminConnected come from FeedEvents.Agents, the
//     cluster-wide view (feed_agents.go).
//   - Frames that tell every admin or every tab of a visitor of a change
//     (tellAdmins, tellVisitor: admin:client, client:email, ...) go through
//     Broadcast and come back to every node, this one included, from
//     FeedEvents.Frame.
//   - The Observer hears of committed messages and of cluster-wide presence
//     changes from the feed, on every node (cmd/chatd lets one node notify).
//   - FeedEvents.Revoked (a session ended or an admin changed on any node)
//     rechecks this node's admin sockets.
//
// A single-node store does not implement Feed and keeps today's path.
type Feed interface {
	// Subscribe registers the hub's callbacks; New calls it once, before any
	// socket. Message is called from one goroutine, in offset order. No
	// callback may block.
	Subscribe(FeedEvents)
	// SetPresence says that visitor id now has (online) or no longer has a
	// socket on this node. It must not block: it is called under the room
	// index's lock, so calls reach the store in the order of the changes.
	SetPresence(id, name string, online, isNew bool)
	// Online returns the visitors with a socket on any live node, id -> name.
	Online() map[string]string
	// Applied is the last offset onMessage has been called with (or passed
	// over): no message at or below it can still come from the feed. It
	// plays the part of the sequencer's published offset in replay markers.
	Applied() uint64
	// SetAgent says that agent name now has (connected) or no longer has an
	// admin socket on this node. Must not block (called under the hub's
	// presence lock, so calls reach the store in the order of the changes).
	SetAgent(name string, connected bool)
	// SetAgentStatus records agent name's chosen status (away or online)
	// for every node. Must not block.
	SetAgentStatus(name string, away bool)
	// Broadcast sends frame f to every node's FeedEvents.Frame, this one's
	// included: to "" means every admin socket, else the sockets of visitor
	// to. Must not block; a frame may be lost when a node is cut off (what
	// it tells is stored and read again by a reconnecting client).
	Broadcast(to string, f []byte)
}

// FeedEvents are the hub's callbacks for a Feed.
type FeedEvents struct {
	Message func(store.Message)                       // every committed message, once, in offset order
	Status  func(id, name string, online, isNew bool) // a visitor's presence changed cluster-wide
	Page    func(id string, current store.PageView)   // a visitor's current page changed
	// Agents: the agents with an admin socket on some live node, and those
	// who chose away, changed (whole sets, owned by the callee).
	Agents func(connected, away map[string]bool)
	// Frame: a frame of Broadcast (any node's) for this node's sockets.
	Frame func(to string, f []byte)
	// Revoked: an admin session ended or an admin changed on some node.
	Revoked func()
}

// deliverCommitted sends one committed message to this node's sockets: the
// visitor's tabs and every admin. The conn's floor drops what a replay
// already carried.
func (h *Hub) deliverCommitted(m store.Message) {
	clientFrame, adminFrame := messageFrames(m)
	var toClient func(*conn)
	if clientFrame != nil { // a note has none: it never reaches a visitor
		toClient = func(c *conn) { c.live(m.Offset, clientFrame) }
	}
	h.idx.each(m.Client, toClient, func(c *conn) { c.live(m.Offset, adminFrame) })
	if !m.Note { // a note notifies nobody (observer.go)
		h.cfg.Observer.MessageStored(m, h.visitorName(nil, m.Client))
	}
	h.inbox.countsChanged() // a message may have made a conversation on another node
}

// kickTo prefixes the Broadcast target that tells every node a visitor was
// deleted: its sockets there are closed (a visitor id never holds ':').
const kickTo = "kick:"

// feedFrame is FeedEvents.Frame: a Broadcast frame of any node for this
// node's sockets. A frame to the admins may tell of a change another node
// made to a conversation: the counts are told again (debounced).
func (h *Hub) feedFrame(to string, f []byte) {
	if id, ok := strings.CutPrefix(to, kickTo); ok { // a visitor deleted on some node
		h.kickVisitor(id)
		h.cfg.Observer.VisitorDeleted(id)
		return
	}
	h.deliverFrame(to, f)
	if to == "" {
		h.inbox.countsChanged()
	}
}

// deliverStatus announces a visitor's cluster-wide presence change to this
// node's admin sockets.
func (h *Hub) deliverStatus(id, name string, online, isNew bool) {
	f := encodeFrame(evAdminStatus, clientStatus{ID: id, Name: name, Status: online, New: isNew})
	h.idx.each("", nil, func(a *conn) { a.live(0, f) })
	h.cfg.Observer.VisitorPresence(id, online)
	if isNew {
		h.inbox.countsChanged() // "all" grew on another node
	}
}

// published is the offset at or below which no message can still reach a
// socket live: the sequencer's, or the Feed's.
func (h *Hub) published() uint64 {
	if h.feed != nil {
		return h.feed.Applied()
	}
	return h.seq.published()
}

// deliverPage tells this node's admins of a visitor's new current page.
func (h *Hub) deliverPage(id string, cur store.PageView) {
	f := encodeFrame(evAdminClientPage, pageEvent{ID: id, URL: cur.URL, Title: cur.Title, At: rfc3339(cur.At)})
	h.idx.each("", nil, func(a *conn) { a.live(0, f) })
}

// online returns the visitors online: on any node with a Feed, else here.
func (h *Hub) online() map[string]string {
	if h.feed != nil {
		return h.feed.Online()
	}
	return h.idx.online()
}

// storeToFeed is store for a Feed: AddMessage, then nothing to release, as
// the feed brings the message to every socket here, the sender's included.
// A duplicate cid answers the sender alone, as on a single node.
func (h *Hub) storeToFeed(c *conn, m store.NewMessage, refund func()) (store.Message, bool) {
	ctx, cancel := storeCtx()
	defer cancel()
	msg, dup, err := h.st.AddMessage(ctx, m)
	if (err != nil || dup) && refund != nil {
		refund()
	}
	if !h.accepted(c, m, msg, dup, err) {
		return store.Message{}, false
	}
	if dup {
		typ := evClientMessage
		if c.kind == kindAdmin {
			typ = evAdminMessage
		} else {
			msg = msg.Public()
		}
		c.live(0, encodeFrame(typ, msg))
		return msg, false
	}
	h.stored.Add(1)
	return msg, true
}
