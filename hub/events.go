package hub

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/store"
	"github.com/olahol/melody"
)

// delivery is what one stored message sends where, encoded once.
type delivery struct {
	visitor     string
	clientFrame []byte // client:message, to every socket of the visitor
	adminFrame  []byte // admin:message, to every admin socket
	only        *conn  // duplicate cid: answer the sender alone
	sender      *conn  // the socket whose held acknowledgement this is
	onlyFrame   []byte
	stored      *store.Message // a new message, told to the Observer
	storedName  string         // its visitor's name when the hub knows it ("" otherwise)
}

// deliver runs under the sequencer's lock, in offset order.
func (h *Hub) deliver(r release) {
	d := r.item
	if d.sender != nil {
		defer d.sender.released()
	}
	if d.only != nil {
		d.only.live(0, d.onlyFrame)
		return
	}
	var toClient func(*conn)
	if d.clientFrame != nil { // a note has none: it never reaches a visitor
		toClient = func(c *conn) { c.live(r.offset, d.clientFrame) }
	}
	h.idx.each(d.visitor, toClient, func(c *conn) { c.live(r.offset, d.adminFrame) })
	if d.stored != nil {
		h.cfg.Observer.MessageStored(*d.stored, d.storedName)
	}
}

// onMessage handles one text frame; melody calls it from the socket's read
// goroutine, so the events of one socket are handled one at a time, in order.
//
// The work runs on a short-lived goroutine while the read goroutine waits:
// the store calls go deep, and a stack grown by them would stay with the
// idle socket for its whole life (8 KiB instead of 4 KiB per socket).
func (h *Hub) onMessage(s *melody.Session, b []byte) {
	c := connOf(s)
	if c == nil || c.closing.Load() || c.reject != "" {
		return // a refused socket is only told why and closed: nothing it sends is read
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				h.log.Error().Str("panic", fmt.Sprint(v)).Bytes("stack", debug.Stack()).
					Str("visitor", c.logVisitor()).Str("admin", c.logAdmin()).Msg("bug: event handler panicked")
				h.reply(c, refuse(codeInternal, "internal error", ""))
			}
		}()
		h.handle(c, b)
	}()
	<-done
}

// handle decodes and runs one frame of socket c.
func (h *Hub) handle(c *conn, b []byte) {
	if !utf8.Valid(b) {
		// RFC 6455 §8.1: a text frame that is not UTF-8 fails the connection
		// (close code 1007, RFC 6455 §7.4.1). Nothing of it is read.
		h.reply(c, refuse(codeBadJSON, "frame is not valid UTF-8", ""))
		c.closeWith(CloseInvalidData, "invalid UTF-8")
		return
	}
	f, fe := decodeFrame(b, h.lim)
	known := socketTakes(c.kind, f.Type)
	switch {
	case fe == nil && !known:
		fe = refuse(codeUnknownType, "not an event of this socket", cidOf(f))
	case known && c.who() == nil && f.Type != addEvent(c):
		cid := cidOf(f)
		if fe != nil {
			cid = fe.CID
		}
		fe = refuse(codeNotIdentified, "send "+addEvent(c)+" first", cid)
	}
	if fe != nil {
		h.reply(c, fe)
		return
	}
	if f.Message != nil && !c.waitRoom(h.room(c), writeWait) {
		// Backpressure: a sender whose own acks are still queued waits here,
		// so pipelining many messages slows the sender instead of
		// overflowing its buffer. One that stopped reading is dropped.
		c.dropSlow("not reading its acknowledgements")
		return
	}
	switch f.Type {
	case evClientAdd:
		h.clientAdd(c, f.ClientAdd)
	case evClientMessage:
		h.clientMessage(c, f.Message)
	case evAdminAdd:
		h.adminAdd(c, f.AdminAdd)
	case evAdminMessage:
		if h.adminStillValid(c) {
			h.adminMessage(c, f.Message)
		}
	case evAdminHistory:
		if h.adminStillValid(c) {
			h.adminHistory(c, f.AdminHistory)
		}
	case evClientHistory:
		h.history(c, evClientHistory, c.who().visitor, f.AdminHistory)
	case evClientPage:
		h.clientPage(c, f.ClientPage)
	case evAdminVisitors:
		if h.adminStillValid(c) {
			h.adminVisitors(c, f.AdminVisitors)
		}
	case evAdminSetStatus:
		if h.adminStillValid(c) {
			h.adminStatus(c, f.Info.(*adminStatusEvent))
		}
	case evClientEmail, evClientAttributes, evClientSeen, evClientTranscript:
		h.visitorInfo(c, f.Type, f.Info)
	default:
		if f.Inbox != nil {
			h.inboxEvent(c, f.Type, f.Inbox)
		}
	}
}

// socketTakes reports whether typ is an inbound event of a socket of kind.
func socketTakes(kind int, typ string) bool {
	if inboxTakes(kind, typ) {
		return true
	}
	if kind == kindAdmin {
		return typ == evAdminAdd || typ == evAdminMessage || typ == evAdminHistory || typ == evAdminVisitors || typ == evAdminSetStatus
	}
	return typ == evClientAdd || typ == evClientMessage || typ == evClientHistory || typ == evClientPage || infoEvent(typ)
}

func addEvent(c *conn) string {
	if c.kind == kindAdmin {
		return evAdminAdd
	}
	return evClientAdd
}

func cidOf(f frame) string {
	if f.Message != nil {
		return f.Message.CID
	}
	return ""
}

func storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), storeWait)
}

// clientMessage stores a visitor's message and sends it to its tabs and the admins.
func (h *Hub) clientMessage(c *conn, p *sendMessage) {
	id := c.who()
	if !id.limiter.Allow() {
		h.reply(c, refuse(codeRateLimited, "too many messages, slow down", p.CID))
		return
	}
	refund, ok := h.quota.take(id.visitor, c.addr, len(p.Text)+len(p.CID)+messageOverhead)
	if !ok {
		// A retry of a message already stored is answered as always: the
		// budget only refuses storing something new.
		if m, err := h.st.MessageByCID(id.visitor, p.CID); err == nil && m.From == store.FromClient {
			c.live(0, encodeFrame(evClientMessage, m.Public()))
			return
		}
		h.log.Debug().Str("visitor", id.visitor).Str("addr", c.addr).Msg("storage budget used up")
		h.reply(c, refuse(codeQuota, "storage budget of this visitor or its address is used up; nothing stored, retry later", p.CID))
		return
	}
	if m, ok := h.store(c, store.NewMessage{Client: id.visitor, From: store.FromClient, CID: p.CID, Text: p.Text}, refund); ok {
		h.afterMessage(m)
	}
}

// store adds m and, once AddMessage has returned, releases it in offset order:
// the acknowledgement (client:message to the visitor's sockets, admin:message
// to the admins) is never sent for a message that is not stored. A duplicate
// cid answers the sender alone with the stored message and tells nobody else.
//
// refund, if not nil, is called when nothing new was stored (an error or a
// duplicate), to give back the storage budget taken for m. It returns the
// stored message and true when m was stored now (not a duplicate).
func (h *Hub) store(c *conn, m store.NewMessage, refund func()) (store.Message, bool) {
	if h.feed != nil {
		return h.storeToFeed(c, m, refund)
	}
	ctx, cancel := storeCtx()
	defer cancel()
	// The ticket is always finished, also on a panic, or every later message would wait.
	var (
		rel    release
		stored bool
	)
	t := h.seq.begin()
	defer func() { h.seq.finish(t, rel, stored) }()
	msg, dup, err := h.st.AddMessage(ctx, m)
	if (err != nil || dup) && refund != nil {
		refund()
	}
	if !h.accepted(c, m, msg, dup, err) {
		return store.Message{}, false
	}
	c.held.Add(1)
	d := delivery{visitor: msg.Client, sender: c}
	if dup {
		typ := evClientMessage
		if c.kind == kindAdmin {
			typ = evAdminMessage
		}
		if c.kind == kindClient {
			msg = msg.Public()
		}
		d.only, d.onlyFrame = c, encodeFrame(typ, msg)
	} else {
		d.clientFrame, d.adminFrame = messageFrames(msg)
		if !msg.Note { // a note notifies nobody: no channel may carry it to a visitor (observer.go)
			d.stored, d.storedName = &msg, h.visitorName(c, msg.Client)
		}
		h.stored.Add(1)
	}
	rel, stored = release{offset: msg.Offset, item: d}, true
	return msg, !dup
}

// accepted answers the sender when AddMessage failed or the cid was another
// sender's; true if msg is to go out.
func (h *Hub) accepted(c *conn, m store.NewMessage, msg store.Message, dup bool, err error) bool {
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			h.reply(c, refuse(codeBadRequest, "message refused", m.CID))
			return false
		}
		h.log.Error().Err(err).Str("visitor", m.Client).Str("admin", m.Admin).Msg("store message")
		h.reply(c, refuse(codeUnavailable, "message not stored, retry with the same cid", m.CID))
		return false
	}
	if dup && (msg.From != m.From || msg.Admin != m.Admin || msg.Note != m.Note) {
		// Not a retry: another sender in this conversation used that cid.
		h.reply(c, refuse(codeBadRequest, "cid already used by another sender in this conversation; use random cids", m.CID))
		return false
	}
	return true
}

// adminStillValid re-checks the admin's token on every event, so an expired
// or revoked token ends the socket.
func (h *Hub) adminStillValid(c *conn) bool {
	if _, ok := h.auth.Verify(c.who().token); ok {
		return true
	}
	h.log.Info().Str("admin", c.who().name).Str("remote", c.remote).Msg("admin token expired")
	h.reply(c, refuse(codeUnauthorized, "token expired, log in again", ""))
	c.closeWith(ClosePolicy, codeUnauthorized)
	return false
}

// adminMessage stores an admin's reply to visitor p.Client.
func (h *Hub) adminMessage(c *conn, p *sendMessage) {
	if _, err := h.st.Visitor(p.Client); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			h.reply(c, refuse(codeNotFound, "no such visitor", p.CID))
			return
		}
		h.reply(c, refuse(codeUnavailable, "store unavailable, retry with the same cid", p.CID))
		return
	}
	if m, ok := h.store(c, store.NewMessage{Client: p.Client, From: store.FromAdmin, Admin: c.who().name, CID: p.CID, Text: p.Text}, nil); ok {
		h.afterMessage(m)
	}
}

// adminHistory answers older messages of one visitor, oldest first.
func (h *Hub) adminHistory(c *conn, p *adminHistory) {
	if _, err := h.st.Visitor(p.Client); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			h.reply(c, refuse(codeNotFound, "no such visitor", ""))
			return
		}
		h.reply(c, refuse(codeUnavailable, "store unavailable, retry", ""))
		return
	}
	h.history(c, evAdminHistory, p.Client, p)
}

// history answers typ (admin:history or client:history) with the newest
// p.Limit messages of visitor id before p.Before (0: from the newest),
// oldest first, and whether older ones remain.
func (h *Hub) history(c *conn, typ, id string, p *adminHistory) {
	before := p.Before
	if before == 0 {
		before = math.MaxUint64
	}
	read := h.st.MessagesBefore
	if c.kind == kindClient {
		read = h.st.PublicMessagesBefore // a visitor never reads a note
	}
	msgs, err := read(id, before, p.Limit+1)
	if err != nil {
		h.log.Error().Err(err).Str("visitor", c.logVisitor()).Str("admin", c.logAdmin()).Msg("read history")
		h.reply(c, refuse(codeUnavailable, "store unavailable, retry", ""))
		return
	}
	more := len(msgs) > p.Limit
	if more {
		msgs = msgs[len(msgs)-p.Limit:]
	}
	if c.kind == kindClient {
		msgs = store.WithoutNotes(msgs)
	}
	if msgs == nil {
		msgs = []store.Message{}
	}
	if c.kind == kindClient {
		msgs = store.PublicMessages(msgs) // an agent's display name, never its login
	}
	c.write(encodeFrame(typ, historyReply{Client: id, Messages: msgs, More: more}))
}

// sendChunks writes msgs as frames of at most chunkMessages, waiting for room
// in the socket's buffer between frames. An empty list still sends one frame.
func (h *Hub) sendChunks(c *conn, typ string, msgs []store.Message) bool {
	room := h.room(c)
	for first := true; first || len(msgs) > 0; first = false {
		n := min(len(msgs), chunkMessages)
		if !c.waitRoom(room, writeWait) {
			c.dropSlow("replay not read")
			return false
		}
		chunk := msgs[:n]
		if c.kind == kindClient {
			chunk = store.WithoutNotes(chunk) // the store read skipped them already: a last guard
		}
		if chunk == nil {
			chunk = []store.Message{}
		}
		c.write(encodeFrame(typ, chunk))
		msgs = msgs[n:]
	}
	return true
}

// room is how many frames may be queued on c before a replay or the
// socket's own next message waits: half its send buffer.
func (h *Hub) room(c *conn) int64 {
	buffer := h.cfg.SendBuffer
	if c.kind == kindAdmin {
		buffer = h.cfg.AdminSendBuffer
	}
	return max(int64(buffer/2), 1)
}

// replayFailed ends a socket whose history could not be read: it reconnects.
func (h *Hub) replayFailed(c *conn, err error) {
	h.log.Error().Err(err).Str("visitor", c.logVisitor()).Str("admin", c.logAdmin()).Msg("read history for replay")
	h.reply(c, refuse(codeUnavailable, "history unavailable, reconnect later", ""))
	c.closeWith(CloseError, codeUnavailable)
}

func lastOffset(msgs []store.Message) uint64 {
	if len(msgs) == 0 {
		return 0
	}
	return msgs[len(msgs)-1].Offset
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// timeNow is the hub's clock.
func timeNow() time.Time { return time.Now() }
