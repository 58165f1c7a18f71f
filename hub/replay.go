package hub

import (
	"errors"

	"github.com/chatd/chatd/store"
)

// A replay is what a socket missed: the messages after its cursor, newest
// replayCap of them at most, in frames of chunkMessages, then always an end
// marker (client:replayed / admin:replayed) saying where it ended and whether
// older messages were left out. Live frames produced meanwhile wait in the
// socket's pending list and follow the marker.
//
// The cursor is only trusted when it can be: a client that names another
// epoch, or an offset this store never handed out (after a data reset or a
// restore), gets the replay of a cursor of 0 and resync: true. So a socket
// never filters live messages by an offset the store has not reached: every
// message stored from now on has an offset above the cursor.

// cursor returns where a replay for (epoch, after) starts.
func (h *Hub) cursor(epoch string, after uint64) (from uint64, resync bool) {
	if (epoch != "" && epoch != h.st.Epoch()) || after > h.st.LastOffset() {
		return 0, true
	}
	return after, false
}

// newest keeps the newest max of msgs (read as max+1) and reports whether any were cut.
func newest(msgs []store.Message, max int) ([]store.Message, bool) {
	if len(msgs) > max {
		return msgs[len(msgs)-max:], true
	}
	return msgs, false
}

// clientAdd identifies a visitor socket: restore or create the visitor, join
// its room, answer client:id, replay its messages after the cursor and mark
// the end with client:replayed.
func (h *Hub) clientAdd(c *conn, p *clientAdd) {
	if c.who() != nil {
		h.reply(c, refuse(codeBadRequest, "socket already identified", ""))
		return
	}
	ctx, cancel := storeCtx()
	defer cancel()
	var (
		v     store.Visitor
		err   error
		token = p.Token
		isNew bool
		idn   *identified
	)
	if p.Identity != nil { // a verified site user: its visitor's token (identify.go)
		if idn = h.identifyVisitor(ctx, c, p); idn == nil {
			return
		}
		token = idn.token
	}
	if token != "" {
		v, err = h.st.VisitorByToken(token)
		switch {
		case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid):
			token = "" // unknown token: a new visitor, never someone else's
		case err != nil:
			h.log.Error().Err(err).Str("remote", c.remote).Msg("look up visitor token")
			h.reply(c, refuse(codeUnavailable, "store unavailable, retry", ""))
			return
		}
	}
	if token == "" {
		if p.Name == "" {
			h.reply(c, refuse(codeBadRequest, "name is required for a new visitor", ""))
			return
		}
		if !h.newVisitors.allow(c.addr) {
			h.log.Info().Str("remote", c.remote).Str("addr", c.addr).Msg("visitor creation rate-limited")
			h.reply(c, refuse(codeRateLimited, "too many new visitors from this address, retry later", ""))
			return
		}
		cost := visitorOverhead + len(p.Name)
		for k, val := range p.Meta {
			cost += len(k) + len(val)
		}
		if !h.quota.takeAddr(c.addr, cost) {
			h.reply(c, refuse(codeQuota, "storage budget of this address is used up; no new visitor, retry later", ""))
			return
		}
		v, token, err = h.st.CreateVisitor(ctx, p.Name, p.Meta)
		if err != nil {
			if errors.Is(err, store.ErrInvalid) {
				h.reply(c, refuse(codeBadRequest, "visitor refused", ""))
				return
			}
			h.log.Error().Err(err).Str("remote", c.remote).Msg("create visitor")
			h.reply(c, refuse(codeUnavailable, "store unavailable, retry", ""))
			return
		}
		isNew = true
	}
	isNew = isNew || (idn != nil && idn.created)
	from, resync := h.cursor(p.Epoch, p.After)
	if idn != nil && idn.switched && p.After > 0 {
		from, resync = 0, true // the cursor was another conversation's (identify.go)
	}
	id := &identity{visitor: v.ID, name: v.Name, limiter: h.msgLimits.acquire(v.ID)}
	c.beginReplay(from)
	first, ok := h.idx.joinVisitor(c, id, h.cfg.SocketsPerVisit, isNew)
	if !ok {
		h.msgLimits.release(v.ID)
		h.log.Warn().Str("visitor", v.ID).Str("remote", c.remote).Msg("too many sockets for one visitor")
		h.reply(c, refuse(codeTooMany, "too many sockets for this visitor", ""))
		c.closeWith(ClosePolicy, codeTooMany)
		return
	}
	h.log.Debug().Str("visitor", v.ID).Str("remote", c.remote).Bool("new", isNew).Bool("resync", resync).Msg("visitor connected")
	if isNew {
		h.inbox.countsChanged() // "all" grew
	}
	ua := c.ua
	c.ua = "" // an idle socket keeps nothing of its request
	if first {
		h.recordVisit(v, ua, isNew, p.Meta)
		if h.feed == nil { // with a Feed, presence is told cluster-wide (deliverStatus)
			h.cfg.Observer.VisitorPresence(v.ID, true)
		}
		if err := h.st.TouchVisitor(ctx, v.ID, timeNow()); err != nil {
			h.log.Warn().Err(err).Str("visitor", v.ID).Msg("touch visitor on connect")
		}
	}
	epoch := h.st.Epoch()
	hello := clientID{ID: v.ID, Token: token, Name: v.Name, Epoch: epoch, Resync: resync, MaxText: h.lim.maxText}
	h.visitorHello(&hello)
	c.write(encodeFrame(evClientID, hello))
	h.identityChanged(idn)
	if page := p.Meta["page"]; page != "" {
		h.setPage(c, v.ID, page, p.Meta["title"], false)
	}
	// Every message published up to now is in the store, so it is in the
	// read below or older than what the cap keeps; so is every message with
	// an offset below the newest one read (offsets are handed out in commit
	// order, see sequencer). So "last" may be taken as the client's cursor
	// once the marker arrives: nothing at or below it can still arrive live.
	last := h.published()
	msgs, err := h.st.PublicMessagesOf(v.ID, from, replayCap+1) // never a note
	if err != nil {
		h.replayFailed(c, err)
		return
	}
	msgs, more := newest(msgs, replayCap)
	if !h.sendChunks(c, evClientMessages, store.PublicMessages(msgs)) {
		return
	}
	c.endReplay(lastOffset(msgs), encodeFrame(evClientReplayed, replayed{Epoch: epoch, Last: max(last, lastOffset(msgs)), Resync: resync, More: more}))
	if conv, err := h.st.Conversation(v.ID); err == nil {
		c.live(0, h.clientSeenFrame(conv))
	}
}

// adminAdd identifies an admin socket by its login token, then sends the
// visitor list, the messages after the cursor (the newest p.Limit, at most
// replayCap) and admin:replayed.
func (h *Hub) adminAdd(c *conn, p *adminAdd) {
	if c.who() != nil {
		h.reply(c, refuse(codeBadRequest, "socket already identified", ""))
		return
	}
	name, ok := h.auth.Verify(p.Token)
	if !ok {
		h.log.Info().Str("remote", c.remote).Msg("admin socket with a bad token")
		h.reply(c, refuse(codeUnauthorized, "invalid or expired token", ""))
		c.closeWith(ClosePolicy, codeUnauthorized)
		return
	}
	from, resync := h.cursor(p.Epoch, p.After)
	c.beginReplay(from)
	h.idx.joinAdmin(c, &identity{name: name, token: p.Token})
	h.presence.adminJoined(c, name)
	if !h.adminStillValid(c) { // revoked between Verify and joining: RecheckAdmins missed it
		return
	}
	h.log.Info().Str("admin", name).Str("remote", c.remote).Bool("resync", resync).Msg("admin connected")

	filter := store.Filter{Kind: p.Filter, Me: name}
	visitors, next, listMore, err := h.st.ConversationsPage(filter, "", listMax)
	if err != nil {
		h.replayFailed(c, err)
		return
	}
	online := h.online()
	list := h.listEntries(visitors, online)
	if !listMore && (filter.Kind == "" || filter.Kind == store.FilterAll) {
		listed := make(map[string]bool, len(list))
		for _, e := range list {
			listed[e.ID] = true
		}
		for vid, vname := range online { // created after the list was read
			if !listed[vid] {
				now := rfc3339(timeNow())
				list = append(list, listEntry{ID: vid, Name: vname, Connected: true, Seen: now, Created: now})
			}
		}
	}
	c.write(encodeFrame(evAdminList, list))
	limit := p.Limit
	if limit == 0 || limit > replayCap {
		limit = replayCap
	}
	last := h.published()
	msgs, err := h.st.MessagesAfter(from, limit+1)
	if err != nil {
		h.replayFailed(c, err)
		return
	}
	msgs, more := newest(msgs, limit)
	if !h.sendChunks(c, evAdminMessages, msgs) {
		return
	}
	end := replayed{Epoch: h.st.Epoch(), Last: max(last, lastOffset(msgs)), Resync: resync, More: more, ListMore: &listMore}
	if listMore {
		end.ListNext = next
	}
	c.endReplay(lastOffset(msgs), encodeFrame(evAdminReplayed, end))
	c.live(0, h.countsFrame(name))
	for _, v := range h.viewing.all() {
		c.live(0, encodeFrame(evAdminViewers, v))
	}
	if f, ok := h.cannedFrame(); ok {
		c.live(0, f)
	}
}

// listEntries renders visitor summaries as admin:list rows.
func (h *Hub) listEntries(vs []store.VisitorSummary, online map[string]string) []listEntry {
	list := make([]listEntry, 0, len(vs))
	for _, v := range vs {
		_, on := online[v.ID]
		list = append(list, listEntry{
			ID: v.ID, Name: v.Name, Connected: on, Last: v.Last, Meta: v.Meta, Page: v.Page,
			Seen: rfc3339(v.LastSeen), Created: rfc3339(v.Created),
		})
		list[len(list)-1].withConversation(v.Conversation)
		h.profileInfo(&list[len(list)-1])
	}
	return list
}

// adminVisitors answers one page of the visitor list after p.Before.
func (h *Hub) adminVisitors(c *conn, p *adminVisitors) {
	vs, next, more, err := h.st.ConversationsPage(store.Filter{Kind: p.Filter, Me: c.who().name}, p.Before, p.Limit)
	switch {
	case errors.Is(err, store.ErrInvalid):
		h.reply(c, refuse(codeBadRequest, "before is not a cursor this server gave", ""))
		return
	case err != nil:
		h.log.Error().Err(err).Str("admin", c.logAdmin()).Msg("list visitors")
		h.reply(c, refuse(codeUnavailable, "store unavailable, retry", ""))
		return
	}
	c.write(encodeFrame(evAdminVisitors, visitorsReply{Visitors: h.listEntries(vs, h.online()), More: more, Next: next}))
}
