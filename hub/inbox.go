package hub

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/store"
)

// The inbox: each visitor's conversation is open, resolved or snoozed, may
// be assigned to an agent, and every admin socket is told of each change
// (admin:conversation) and of the list counts (admin:counts). A visitor's
// message reopens a resolved or snoozed conversation; a snooze ends by
// itself; with the auto-assign setting on (settings.go), a conversation a
// visitor opens or reopens without an assignee goes to the next online agent
// in turn (round robin by login) who has fewer than the assign limit of open
// conversations.

// InboxStore is what the inbox needs from the store; *store.Store satisfies it.
type InboxStore interface {
	// Conversation returns visitor id's conversation; store.ErrNotFound for an unknown visitor.
	Conversation(id string) (store.Conversation, error)
	// SetStatus, Assign: see package store; changed is false when nothing changed.
	SetStatus(ctx context.Context, id, status string, until time.Time) (store.Conversation, bool, error)
	Assign(ctx context.Context, id, to string) (store.Conversation, bool, error)
	// UnassignGone unassigns the conversations of logins that are no longer agents.
	UnassignGone(ctx context.Context) ([]store.Conversation, error)
	// ConversationMessage applies a stored message (reopening); changed when it reopened or started it.
	ConversationMessage(ctx context.Context, m store.Message) (store.Conversation, bool, error)
	// NextWake and WakeSnoozed end snoozes.
	NextWake() (time.Time, bool)
	WakeSnoozed(ctx context.Context, now time.Time) ([]store.Conversation, error)
	// Counts per filter for agent me; OpenAssigned for the auto-assignment limit.
	Counts(me string) store.Counts
	OpenAssigned(name string) int
	// ConversationsPage is VisitorsPage over the visitors a filter selects.
	ConversationsPage(f store.Filter, cursor string, limit int) ([]store.VisitorSummary, string, bool, error)
	// SetAgentSeen and SetVisitorSeen move the seen offsets forward.
	SetAgentSeen(ctx context.Context, id string, offset uint64) (store.Conversation, bool, error)
	SetVisitorSeen(ctx context.Context, id string, offset uint64) (store.Conversation, bool, error)
	// PublicMessagesOf and PublicMessagesBefore read a conversation as its visitor may: without notes.
	PublicMessagesOf(id string, after uint64, limit int) ([]store.Message, error)
	PublicMessagesBefore(id string, before uint64, limit int) ([]store.Message, error)
	// Segments are the resolved parts of a conversation.
	Segments(id string) ([]store.Segment, error)
	// PartOf counts a part's messages (from..to) and dates its first.
	PartOf(id string, from, to uint64) (int, time.Time, error)
	// RecordVisit and Visits keep a visitor's browser, language, time zone, referrer and visit count.
	RecordVisit(ctx context.Context, id string, info store.VisitInfo, newVisit bool) (store.VisitInfo, error)
	Visits(id string) (store.VisitInfo, error)
	// Page is a visitor's current page and trail.
	Page(id string) (store.PageView, []store.PageView, error)
	// Canned replies (canned.go).
	CannedReplies() ([]store.Canned, error)
	SetCanned(ctx context.Context, shortcut, text, by string) (store.Canned, bool, error)
	DeleteCanned(ctx context.Context, shortcut string) error
	// Search looks through every conversation (search.go).
	Search(ctx context.Context, q string, limit int) ([]store.SearchResult, bool, error)
	// ExportVisitor, DeleteVisitor and Inactive serve privacy and retention (privacy.go).
	ExportVisitor(id string) (store.VisitorExport, error)
	DeleteVisitor(ctx context.Context, id string) (store.Deleted, error)
	Inactive(cutoff time.Time, max int) ([]string, error)
}

// countsEvery is the least time between two admin:counts broadcasts: counts
// change with every new visitor, and a burst of them is told once.
const countsEvery = 250 * time.Millisecond

// inboxHub is the hub's inbox state: the auto-assignment turn, the pending
// counts broadcast and the goroutine that ends snoozes.
type inboxHub struct {
	h *Hub

	assignMu sync.Mutex
	lastTurn string // agent the last conversation was auto-assigned to

	countsMu    sync.Mutex
	countsTimer *time.Timer
	stopped     bool

	wake chan struct{} // a snooze was set: look at the next wake time again
	stop chan struct{}
	done chan struct{}

	retentionWake chan struct{} // the retention setting changed (privacy.go)
	retentionDone chan struct{} // closed when the retention sweep stopped (privacy.go)
	sweeps        atomic.Uint64 // retention sweeps done
	retained      atomic.Uint64 // visitors deleted by retention sweeps
}

func newInboxHub(h *Hub) *inboxHub {
	ib := &inboxHub{h: h, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		retentionWake: make(chan struct{}, 1), retentionDone: make(chan struct{})}
	go ib.run()
	go ib.retention(h.cfg.RetentionEvery)
	return ib
}

// shutdown stops the snooze goroutine and the counts timer.
func (ib *inboxHub) shutdown() {
	ib.countsMu.Lock()
	ib.stopped = true
	if ib.countsTimer != nil {
		ib.countsTimer.Stop()
	}
	ib.countsMu.Unlock()
	close(ib.stop)
	<-ib.done
	<-ib.retentionDone
}

// run ends snoozes at their time until shutdown.
func (ib *inboxHub) run() {
	defer close(ib.done)
	for {
		var fire <-chan time.Time
		var timer *time.Timer
		if t, ok := ib.h.st.NextWake(); ok {
			timer = time.NewTimer(max(time.Until(t), 0))
			fire = timer.C
		}
		select {
		case <-ib.stop:
			if timer != nil {
				timer.Stop()
			}
			return
		case <-ib.wake:
		case <-fire:
			ctx, cancel := storeCtx()
			woke, err := ib.h.st.WakeSnoozed(ctx, timeNow())
			cancel()
			if err != nil {
				ib.h.log.Error().Err(err).Msg("end snoozes")
			}
			for _, c := range woke {
				ib.h.convChanged(c, "")
				ib.h.autoAssign(c.Client)
			}
			if err != nil { // do not spin on a failing store
				select {
				case <-ib.stop:
				case <-time.After(time.Second):
				}
			}
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// countsChanged schedules admin:counts to every admin socket, at most once per countsEvery.
func (ib *inboxHub) countsChanged() {
	ib.countsMu.Lock()
	defer ib.countsMu.Unlock()
	if ib.countsTimer != nil || ib.stopped {
		return
	}
	ib.countsTimer = time.AfterFunc(countsEvery, func() {
		ib.countsMu.Lock()
		ib.countsTimer = nil
		ib.countsMu.Unlock()
		ib.h.idx.each("", nil, func(a *conn) { a.live(0, ib.h.countsFrame(a.who().name)) })
	})
}

func (h *Hub) countsFrame(me string) []byte {
	return encodeFrame(evAdminCounts, h.st.Counts(me))
}

// convFrame is admin:conversation for c, changed by agent by ("" for the server).
func convFrame(c store.Conversation, by string) []byte {
	e := convWire(c)
	e.By = &by
	return encodeFrame(evAdminConversation, e)
}

// convChanged tells every admin socket that conversation c changed.
func (h *Hub) convChanged(c store.Conversation, by string) {
	h.tellAdmins(convFrame(c, by))
	h.inbox.countsChanged()
	if c.Status == store.StatusSnoozed {
		select {
		case h.inbox.wake <- struct{}{}:
		default:
		}
	}
}

// inboxEvent runs one decoded inbox event of socket c.
func (h *Hub) inboxEvent(c *conn, typ string, in *inboxFrame) {
	if c.kind == kindAdmin && !h.adminStillValid(c) {
		return
	}
	switch p := in.p.(type) {
	case *convRequest:
		h.convRequest(c, typ, p)
	case *noteRequest:
		h.adminNote(c, p)
	case *seenRequest:
		h.adminSeen(c, p)
	case *typingRequest:
		if c.kind == kindClient {
			h.clientTyping(c, p)
		} else {
			h.adminTyping(c, p)
		}
	case *viewRequest:
		h.adminView(c, p)
	case *visitorRequest:
		h.adminVisitor(c, p)
	case *searchRequest:
		h.adminSearch(c, p)
	}
}

// adminNote stores an internal note: acknowledged like an agent's message,
// to the admin sockets only (messageFrames gives a note no visitor frame).
func (h *Hub) adminNote(c *conn, p *noteRequest) {
	if _, err := h.st.Conversation(p.Client); err != nil {
		h.inboxFailed(c, "note", err, p.CID)
		return
	}
	if m, ok := h.store(c, store.NewMessage{Client: p.Client, From: store.FromAdmin, Admin: c.who().name, CID: p.CID, Text: p.Text, Note: true}, nil); ok {
		h.afterMessage(m)
	}
}

// adminSeen records how far an agent has seen a conversation; a change goes
// to every admin socket (admin:seen) and to the visitor (client:seen).
func (h *Hub) adminSeen(c *conn, p *seenRequest) {
	ctx, cancel := storeCtx()
	defer cancel()
	prev, _ := h.st.Conversation(p.Client)
	conv, changed, err := h.st.SetAgentSeen(ctx, p.Client, *p.Offset)
	if err != nil {
		h.inboxFailed(c, "store seen", err, "")
		return
	}
	if !changed {
		return
	}
	// The visitor is told only when what it may see moved: an agent's seen
	// moving onto a note changes nothing for it (no duplicate client:seen).
	h.seenChanged(conv, h.visibleSeen(conv) != h.visibleSeen(prev))
}

// seenChanged tells the admins a conversation's seen offsets, and with
// toVisitor the visitor how far an agent has seen it.
func (h *Hub) seenChanged(conv store.Conversation, toVisitor bool) {
	h.tellAdmins(encodeFrame(evAdminSeen, seenEvent{Client: conv.Client, VisitorSeen: conv.VisitorSeen, AgentSeen: conv.AgentSeen}))
	if toVisitor {
		h.tellVisitor(conv.Client, h.clientSeenFrame(conv))
	}
}

// clientSeenFrame is client:seen for the visitor of conv: the offset of the
// newest message the visitor may see at or below agent_seen, so that the
// offset of a note never reaches it.
func (h *Hub) clientSeenFrame(conv store.Conversation) []byte {
	return encodeFrame(evClientSeen, clientSeenEvent{Offset: h.visibleSeen(conv)})
}

// visibleSeen is agent_seen as the visitor of conv may see it: the offset of
// its newest public message at or below agent_seen (0 if none).
func (h *Hub) visibleSeen(conv store.Conversation) uint64 {
	if conv.AgentSeen > 0 {
		if ms, err := h.st.PublicMessagesBefore(conv.Client, conv.AgentSeen+1, 1); err == nil && len(ms) == 1 {
			return ms[0].Offset
		}
	}
	return 0
}

// inboxFailed answers a failed inbox request.
func (h *Hub) inboxFailed(c *conn, what string, err error, cid string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.reply(c, refuse(codeNotFound, "no such visitor", cid))
	case errors.Is(err, store.ErrInvalid):
		msg := err.Error()
		msg = strings.TrimPrefix(msg, store.ErrInvalid.Error()+": ")
		h.reply(c, refuse(codeBadRequest, msg, cid))
	default:
		h.log.Error().Err(err).Str("admin", c.logAdmin()).Str("visitor", c.logVisitor()).Msg(what)
		h.reply(c, refuse(codeUnavailable, "store unavailable, retry", cid))
	}
}

// convRequest runs admin:resolve, admin:reopen, admin:snooze or admin:assign.
// A change goes to every admin socket; a request that changes nothing is
// answered to its sender alone with the conversation as it is.
func (h *Hub) convRequest(c *conn, typ string, p *convRequest) {
	ctx, cancel := storeCtx()
	defer cancel()
	var (
		conv    store.Conversation
		changed bool
		err     error
	)
	switch typ {
	case evAdminResolve:
		conv, changed, err = h.st.SetStatus(ctx, p.Client, store.StatusResolved, time.Time{})
	case evAdminReopen:
		conv, changed, err = h.st.SetStatus(ctx, p.Client, store.StatusOpen, time.Time{})
	case evAdminSnooze:
		conv, changed, err = h.st.SetStatus(ctx, p.Client, store.StatusSnoozed, p.until)
	case evAdminAssign:
		conv, changed, err = h.st.Assign(ctx, p.Client, *p.To)
	}
	if err != nil {
		h.inboxFailed(c, "change conversation", err, p.CID)
		return
	}
	by := c.who().name
	if !changed {
		c.live(0, convFrame(conv, by))
		return
	}
	h.log.Debug().Str("admin", by).Str("visitor", conv.Client).Str("status", conv.Status).Str("assignee", conv.Assignee).Msg("conversation changed")
	h.convChanged(conv, by)
}

// afterMessage applies a newly stored message to its conversation: a new
// conversation and a reopened one are told to the admins; a visitor's
// message in an open, unassigned conversation may auto-assign it.
func (h *Hub) afterMessage(m store.Message) {
	ctx := h.storeDeadline.get() // one per stored message: no timer of its own (deadline.go)
	conv, changed, err := h.st.ConversationMessage(ctx, m)
	if errors.Is(err, store.ErrNotFound) {
		// The visitor was deleted (privacy, retention) just after this
		// message was stored: the deletion took the message too.
		h.log.Debug().Str("visitor", m.Client).Msg("message for a deleted visitor: no conversation to update")
		return
	}
	if err != nil {
		h.log.Warn().Err(err).Str("visitor", m.Client).Msg("apply message to conversation")
		return
	}
	if changed {
		h.convChanged(conv, "")
	}
	if m.From == store.FromClient {
		h.typing.quiet(visitorTyper(m.Client))
	} else {
		h.typing.quiet(agentTyper(m.Admin, m.Client))
	}
	if m.From == store.FromClient && conv.Status == store.StatusOpen && conv.Assignee == "" {
		h.autoAssign(m.Client)
	}
}

// autoAssign gives visitor id's open, unassigned conversation to the next
// online agent in turn with room under the limit; nobody if none has room.
func (h *Hub) autoAssign(id string) {
	set := h.settings()
	if !set.AutoAssign {
		return
	}
	ib := h.inbox
	ib.assignMu.Lock()
	defer ib.assignMu.Unlock()
	conv, err := h.st.Conversation(id)
	if err != nil || conv.Status != store.StatusOpen || conv.Assignee != "" {
		return
	}
	agents := h.presence.onlineAgents()
	n := len(agents)
	start := sort.SearchStrings(agents, ib.lastTurn)
	if start < n && agents[start] == ib.lastTurn {
		start++
	}
	for i := 0; i < n; i++ {
		name := agents[(start+i)%n]
		if set.AssignLimit > 0 && h.st.OpenAssigned(name) >= set.AssignLimit {
			continue
		}
		ctx, cancel := storeCtx()
		conv, changed, err := h.st.Assign(ctx, id, name)
		cancel()
		if err != nil {
			h.log.Warn().Err(err).Str("visitor", id).Str("admin", name).Msg("auto-assign")
			return
		}
		ib.lastTurn = name
		if changed {
			h.log.Debug().Str("visitor", id).Str("admin", name).Msg("conversation auto-assigned")
			h.convChanged(conv, "")
		}
		return
	}
}

// onlineAgents returns the logins of the agents who are online (an open
// portal socket, status not away), sorted.
func (p *presence) onlineAgents() []string {
	p.mu.Lock()
	names := make([]string, 0, len(p.conns))
	for n, k := range p.conns {
		if k > 0 && !p.away[n] {
			names = append(names, n)
		}
	}
	p.mu.Unlock()
	sort.Strings(names)
	return names
}
