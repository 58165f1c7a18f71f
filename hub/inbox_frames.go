package hub

import (
	"errors"
	"time"

	"github.com/chatd/chatd/store"
)

// Events of the inbox (issue 13; docs/protocol.md "The inbox").
const (
	evAdminResolve      = "admin:resolve"
	evAdminReopen       = "admin:reopen"
	evAdminSnooze       = "admin:snooze"
	evAdminAssign       = "admin:assign"
	evAdminConversation = "admin:conversation"
	evAdminCounts       = "admin:counts"
	evAdminNote         = "admin:note"
	evAdminTyping       = "admin:typing"
	evClientTyping      = "client:typing"
	evAdminView         = "admin:view"
	evAdminViewers      = "admin:viewers"
)

// inboxAdminEvents are the inbox events an admin socket sends.
var inboxAdminEvents = map[string]bool{
	evAdminResolve: true, evAdminReopen: true, evAdminSnooze: true, evAdminAssign: true,
	evAdminNote: true, evAdminSeen: true, evAdminTyping: true, evAdminView: true,
	evAdminVisitor: true, evAdminSearch: true,
}

// inboxClientEvents are the inbox events a visitor socket sends.
var inboxClientEvents = map[string]bool{evClientTyping: true}

// isInbox reports whether typ is an inbound inbox event of any socket.
func isInbox(typ string) bool { return inboxAdminEvents[typ] || inboxClientEvents[typ] }

// inboxTakes reports whether a socket of kind takes inbox event typ.
func inboxTakes(kind int, typ string) bool {
	if kind == kindAdmin {
		return inboxAdminEvents[typ]
	}
	return inboxClientEvents[typ]
}

// convRequest is admin:resolve, admin:reopen, admin:snooze and admin:assign.
type convRequest struct {
	Client string  `json:"client"`
	CID    string  `json:"cid"`   // optional, echoed in errors
	Until  string  `json:"until"` // admin:snooze: RFC 3339
	To     *string `json:"to"`    // admin:assign: a login, or "" to unassign

	until time.Time
}

// seenRequest is admin:seen.
type seenRequest struct {
	Client string  `json:"client"`
	Offset *uint64 `json:"offset"`
}

// typingRequest is admin:typing (Client set) and client:typing (Text, optional).
type typingRequest struct {
	Client string `json:"client"`
	Typing *bool  `json:"typing"`
	Text   string `json:"text"`
}

// viewRequest is admin:view; Client "" means no conversation.
type viewRequest struct {
	Client *string `json:"client"`
}

// inboxFrame is a decoded inbox event: its payload and the cid to echo.
type inboxFrame struct {
	cid string
	p   any
}

// decodeInbox decodes and checks the payload of inbox event typ. cid reads
// the frame's cid for a refusal.
func decodeInbox(typ string, data []byte, lim limits, cid func() string) (*inboxFrame, *frameError) {
	bad := func(msg string) (*inboxFrame, *frameError) { return nil, refuse(codeBadRequest, msg, cid()) }
	switch typ {
	case evAdminResolve, evAdminReopen, evAdminSnooze, evAdminAssign:
		var p convRequest
		if err := decodeData(data, &p); err != nil {
			return bad(err.Error())
		}
		if err := checkCID(p.CID); err != nil {
			return bad(err.Error())
		}
		switch {
		case p.Client == "":
			return bad("client is required")
		case typ == evAdminAssign && p.To == nil:
			return bad("to is required (an agent's login, or \"\" to unassign)")
		case typ == evAdminSnooze:
			t, err := time.Parse(time.RFC3339Nano, p.Until)
			if err != nil {
				return bad("until must be an RFC 3339 time")
			}
			p.until = t
		}
		return &inboxFrame{cid: p.CID, p: &p}, nil
	case evAdminNote:
		var p sendMessage
		if err := decodeData(data, &p); err != nil {
			return bad(err.Error())
		}
		if p.Client == "" {
			return nil, refuse(codeBadRequest, "client is required", p.CID)
		}
		if fe := checkMessage(&p, lim); fe != nil {
			return nil, fe
		}
		return &inboxFrame{cid: p.CID, p: &noteRequest{p}}, nil
	case evAdminSeen:
		var p seenRequest
		if err := decodeData(data, &p); err != nil {
			return bad(err.Error())
		}
		if p.Client == "" || p.Offset == nil {
			return bad("client and offset are required")
		}
		return &inboxFrame{p: &p}, nil
	case evAdminTyping, evClientTyping:
		var p typingRequest
		if err := decodeData(data, &p); err != nil {
			return bad(err.Error())
		}
		switch {
		case p.Typing == nil:
			return bad("typing (true or false) is required")
		case typ == evAdminTyping && p.Client == "":
			return bad("client is required")
		case typ == evClientTyping:
			p.Client = "" // a visitor only ever types in its own conversation
		}
		if typ == evAdminTyping {
			p.Text = "" // agents' drafts are never sent anywhere
		}
		if lim.maxText > 0 && len(p.Text) > lim.maxText {
			return nil, refuse(codeTooLarge, "text longer than the limit", "")
		}
		return &inboxFrame{p: &p}, nil
	case evAdminSearch:
		return decodeSearch(data, cid)
	case evAdminVisitor:
		var p visitorRequest
		if err := decodeData(data, &p); err != nil {
			return bad(err.Error())
		}
		if p.Client == "" {
			return bad("client is required")
		}
		return &inboxFrame{p: &p}, nil
	case evAdminView:
		var p viewRequest
		if err := decodeData(data, &p); err != nil {
			return bad(err.Error())
		}
		if p.Client == nil {
			return bad("client is required (a visitor id, or \"\" for none)")
		}
		return &inboxFrame{p: &p}, nil
	}
	return bad("unknown inbox event")
}

// checkCID checks an optional request cid: at most maxCID bytes, no control characters.
func checkCID(cid string) error {
	if len(cid) > maxCID || hasControl(cid) {
		return errors.New("cid is too long or has control characters")
	}
	return nil
}

// noteRequest is admin:note: a message for agents only.
type noteRequest struct{ sendMessage }

// Outbound payloads.

// seenEvent is admin:seen.
type seenEvent struct {
	Client      string `json:"client"`
	VisitorSeen uint64 `json:"visitor_seen"`
	AgentSeen   uint64 `json:"agent_seen"`
}

// clientSeenEvent is client:seen to a visitor: an agent has seen its conversation up to Offset.
type clientSeenEvent struct {
	Offset uint64 `json:"offset"`
}

// adminTypingEvent is admin:typing to admins.
type adminTypingEvent struct {
	Client  string  `json:"client"`
	From    string  `json:"from"`
	Admin   string  `json:"admin,omitempty"`
	Display string  `json:"display,omitempty"`
	Typing  bool    `json:"typing"`
	Preview *string `json:"preview,omitempty"`
}

// clientTypingEvent is client:typing to a visitor: Admin is the agent's display name.
type clientTypingEvent struct {
	Typing bool   `json:"typing"`
	Admin  string `json:"admin"`
}

// viewersEvent is admin:viewers.
type viewersEvent struct {
	Client string   `json:"client"`
	Admins []string `json:"admins"`
}

// convEvent is a conversation on the wire (admin:conversation, and the
// conversation fields of admin:list rows).
type convEvent struct {
	Client      string  `json:"client"`
	Status      string  `json:"status"`
	SnoozeUntil *string `json:"snooze_until"`
	Assignee    string  `json:"assignee"`
	VisitorSeen uint64  `json:"visitor_seen"`
	AgentSeen   uint64  `json:"agent_seen"`
	Updated     string  `json:"updated"`
	By          *string `json:"by,omitempty"`
}

func convWire(c store.Conversation) convEvent {
	e := convEvent{Client: c.Client, Status: c.Status, Assignee: c.Assignee,
		VisitorSeen: c.VisitorSeen, AgentSeen: c.AgentSeen, Updated: rfc3339ms(c.Updated)}
	if !c.SnoozeUntil.IsZero() {
		s := rfc3339ms(c.SnoozeUntil)
		e.SnoozeUntil = &s
	}
	return e
}

// rfc3339ms is t in RFC 3339 UTC with milliseconds, "" for the zero time.
func rfc3339ms(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// withConversation fills the conversation fields of an admin:list row.
func (e *listEntry) withConversation(c store.Conversation) {
	w := convWire(c)
	e.Status, e.Assignee, e.SnoozeUntil, e.VisitorSeen, e.AgentSeen = w.Status, w.Assignee, w.SnoozeUntil, w.VisitorSeen, w.AgentSeen
}
