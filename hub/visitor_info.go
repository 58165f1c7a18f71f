package hub

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/chatd/chatd/store"
)

// What a visitor tells about itself besides messages: a contact address
// (client:email), attributes its site sets (client:attributes), how far it
// has read (client:seen), and a request for its transcript by e-mail
// (client:transcript). Each change reaches the admins as admin:client or
// admin:seen; nothing of one visitor ever reaches another visitor's socket.

// Mailer hands visitor mail to the notification layer (notify/mail, through
// an adapter in cmd/chatd). Its methods must not wait on the network.
type Mailer interface {
	// Transcript queues t to t.Email. An error wrapping ErrMailTooSoon says
	// this address got one moments ago; any other error means it was not
	// queued (the visitor may ask again later).
	Transcript(t Transcript) error
	// Seen tells that visitor has seen its conversation up to offset: replies
	// up to there need no mail.
	Seen(visitor string, offset uint64)
}

// ErrMailTooSoon is what a Mailer wraps when it refuses a transcript because
// the address got one moments ago.
var ErrMailTooSoon = errors.New("a transcript was sent to this address moments ago")

// Transcript is a conversation a visitor asked to receive by e-mail. It
// holds what the visitor's own socket may read: no token, no agent login.
type Transcript struct {
	Visitor string // public id
	Email   string
	Name    string // the visitor's name
	Page    string // the visitor's last page, for the link back ("" if unknown)
	Lines   []TranscriptLine
}

// TranscriptLine is one message of a Transcript, oldest first.
type TranscriptLine struct {
	From string // store.FromClient or store.FromAdmin
	Name string // the agent's display name for agent lines, "" if unknown; the visitor's name otherwise
	Text string
	At   time.Time
}

// profileOverhead is what one profile write costs beyond the values it
// stores, charged to the storage budgets like a page change (the profile
// document is rewritten whole).
const profileOverhead = 100

// Limits of the visitor-info events, per visitor (shared by its tabs).
var (
	infoRate        = rate.Every(2 * time.Second) // client:email and client:attributes writes
	infoBurst       = 10
	seenRate        = rate.Every(time.Second) // client:seen writes
	seenBurst       = 10
	transcriptRate  = rate.Every(time.Minute) // client:transcript requests
	transcriptBurst = 2
	transcriptMax   = 1000 // newest messages a transcript holds
)

// Payloads of the visitor-info events.
type (
	clientEmail struct {
		Email string `json:"email"`
	}
	clientAttributes struct {
		Attributes map[string]string `json:"attributes"`
	}
	clientSeen struct {
		Offset *uint64 `json:"offset"`
	}
	clientTranscript struct{}
)

// decodeInfo decodes the payload of one visitor-info or agent event.
func decodeInfo(typ string, data []byte) (any, error) {
	switch typ {
	case evClientEmail:
		var p clientEmail
		if err := decodeData(data, &p); err != nil {
			return nil, err
		}
		if p.Email == "" {
			return nil, errors.New("email is required")
		}
		return &p, nil
	case evClientAttributes:
		var p clientAttributes
		if err := decodeData(data, &p); err != nil {
			return nil, err
		}
		if p.Attributes == nil {
			return nil, errors.New("attributes must be an object of strings")
		}
		if err := store.CheckAttributes(p.Attributes); err != nil {
			return nil, errors.New(trimInvalid(err))
		}
		return &p, nil
	case evClientSeen:
		var p clientSeen
		if err := decodeData(data, &p); err != nil {
			return nil, err
		}
		if p.Offset == nil {
			return nil, errors.New("offset is required")
		}
		return &p, nil
	case evClientTranscript:
		var p clientTranscript
		if err := decodeData(data, &p); err != nil {
			return nil, err
		}
		return &p, nil
	case evAdminSetStatus:
		return decodeAdminStatus(data)
	}
	return nil, fmt.Errorf("no decoder for %s", typ)
}

// infoEvent reports whether typ is one of this file's visitor events.
func infoEvent(typ string) bool {
	return typ == evClientEmail || typ == evClientAttributes || typ == evClientSeen || typ == evClientTranscript
}

// trimInvalid is a model refusal as a wire message, without the sentinel's prefix.
func trimInvalid(err error) string {
	s := err.Error()
	if p := store.ErrInvalid.Error() + ": "; len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// visitorInfo runs one visitor-info event of an identified visitor socket.
func (h *Hub) visitorInfo(c *conn, typ string, p any) {
	switch p := p.(type) {
	case *clientEmail:
		h.clientEmail(c, p)
	case *clientAttributes:
		h.clientAttributes(c, p)
	case *clientSeen:
		h.clientSeen(c, p)
	case *clientTranscript:
		h.clientTranscript(c)
	}
}

// adminClient is admin:client: a visitor's changed fields.
type adminClient struct {
	ID         string            `json:"id"`
	Name       string            `json:"name,omitempty"`
	Email      string            `json:"email,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Identity   string            `json:"identity,omitempty"`
}

// tellAdmins sends frame f to every admin socket (of every node with a Feed).
func (h *Hub) tellAdmins(f []byte) {
	if h.feed != nil {
		h.feed.Broadcast("", f)
		return
	}
	h.deliverFrame("", f)
}

// tellVisitor sends frame f to every socket of visitor id (of every node
// with a Feed).
func (h *Hub) tellVisitor(id string, f []byte) {
	if h.feed != nil {
		h.feed.Broadcast(id, f)
		return
	}
	h.deliverFrame(id, f)
}

// deliverFrame sends f to this node's admin sockets (to "") or to visitor
// to's sockets; with a Feed, every node's FeedEvents.Frame.
func (h *Hub) deliverFrame(to string, f []byte) {
	if to == "" {
		h.idx.each("", nil, func(a *conn) { a.live(0, f) })
		return
	}
	h.idx.each(to, func(v *conn) { v.live(0, f) }, nil)
}

// storeFailed answers a failed store call: a refusal of the model is the
// sender's bad_request, anything else is unavailable.
func (h *Hub) storeFailed(c *conn, what string, err error) {
	if errors.Is(err, store.ErrInvalid) {
		h.reply(c, refuse(codeBadRequest, trimInvalid(err), ""))
		return
	}
	h.log.Error().Err(err).Str("visitor", c.logVisitor()).Msg(what)
	h.reply(c, refuse(codeUnavailable, "store unavailable, retry", ""))
}

// clientEmail stores the visitor's contact address. The rule is the
// configured CheckEmail (the mail package's: a plain local@domain.tld).
func (h *Hub) clientEmail(c *conn, p *clientEmail) {
	id := c.who().visitor
	if h.cfg.EmailCapture == EmailOff || h.cfg.CheckEmail == nil {
		h.reply(c, refuse(codeBadRequest, "this server does not take e-mail addresses", ""))
		return
	}
	email, err := h.cfg.CheckEmail(p.Email)
	if err != nil {
		h.reply(c, refuse(codeBadRequest, err.Error(), ""))
		return
	}
	if !h.infoLimits.allow(id) {
		h.reply(c, refuse(codeRateLimited, "too many changes, slow down", ""))
		return
	}
	refund, ok := h.chargeProfile(c, id, len(email))
	if !ok {
		return
	}
	ctx, cancel := storeCtx()
	defer cancel()
	changed, err := h.st.SetEmail(ctx, id, email)
	if err != nil || !changed {
		refund()
	}
	if err != nil {
		h.storeFailed(c, "store e-mail", err)
		return
	}
	// Every tab learns the address; the admins only when it changed.
	h.tellVisitor(id, encodeFrame(evClientEmail, clientEmail{Email: email}))
	if changed {
		h.log.Debug().Str("visitor", id).Msg("visitor left an e-mail address")
		h.tellAdmins(encodeFrame(evAdminClient, adminClient{ID: id, Email: email}))
	}
}

// clientAttributes merges attributes set by the visitor's site.
func (h *Hub) clientAttributes(c *conn, p *clientAttributes) {
	id := c.who().visitor
	if !h.infoLimits.allow(id) {
		h.reply(c, refuse(codeRateLimited, "too many changes, slow down", ""))
		return
	}
	size := 0
	for k, v := range p.Attributes {
		size += len(k) + len(v)
	}
	refund, ok := h.chargeProfile(c, id, size)
	if !ok {
		return
	}
	ctx, cancel := storeCtx()
	defer cancel()
	attrs, changed, err := h.st.MergeAttributes(ctx, id, p.Attributes)
	if err != nil || !changed {
		refund()
	}
	if err != nil {
		h.storeFailed(c, "store attributes", err)
		return
	}
	if attrs == nil {
		attrs = map[string]string{}
	}
	c.live(0, encodeFrame(evClientAttributes, clientAttributes{Attributes: attrs}))
	if changed {
		h.tellAdmins(encodeFrame(evAdminClient, struct {
			ID         string            `json:"id"`
			Attributes map[string]string `json:"attributes"`
		}{id, attrs}))
	}
}

// chargeProfile takes a profile write of n value bytes from the storage
// budgets of visitor id and its address, answering quota_exceeded when one
// is used up. refund gives it back when nothing was written.
func (h *Hub) chargeProfile(c *conn, id string, n int) (refund func(), ok bool) {
	refund, ok = h.quota.take(id, c.addr, n+profileOverhead)
	if !ok {
		h.reply(c, refuse(codeQuota, "storage budget of this visitor or its address is used up; nothing stored, retry later", ""))
	}
	return refund, ok
}

// clientSeen records how far the visitor has read; offsets above the
// store's last one are taken as the last one.
func (h *Hub) clientSeen(c *conn, p *clientSeen) {
	id := c.who().visitor
	off := min(*p.Offset, h.st.LastOffset())
	if !h.seenLimits.allow(id) {
		h.reply(c, refuse(codeRateLimited, "too many seen events, slow down", ""))
		return
	}
	refund, ok := h.chargeProfile(c, id, 0)
	if !ok {
		return
	}
	ctx, cancel := storeCtx()
	defer cancel()
	conv, changed, err := h.st.SetVisitorSeen(ctx, id, off) // on the conversation (store/conversation.go)
	seen := conv.VisitorSeen
	if err != nil || !changed {
		refund()
	}
	if err != nil {
		h.storeFailed(c, "store seen", err)
		return
	}
	if !changed {
		return
	}
	if h.cfg.Mailer != nil {
		h.cfg.Mailer.Seen(id, seen)
	}
	h.seenChanged(conv, false) // admin:seen with both offsets (inbox.go)
}

// clientTranscript hands the visitor's conversation to the Mailer for its address.
func (h *Hub) clientTranscript(c *conn) {
	id := c.who().visitor
	if h.cfg.Mailer == nil || h.cfg.EmailCapture == EmailOff || h.cfg.CheckEmail == nil {
		h.reply(c, refuse(codeBadRequest, "this server does not send transcripts", ""))
		return
	}
	prof, err := h.st.Profile(id)
	if err != nil {
		h.storeFailed(c, "read profile", err)
		return
	}
	if prof.Email == "" {
		h.reply(c, refuse(codeBadRequest, "leave an e-mail address first (client:email)", ""))
		return
	}
	if !h.transcriptLimits.allow(id) {
		h.reply(c, refuse(codeRateLimited, "a transcript was sent moments ago, retry later", ""))
		return
	}
	v, err := h.st.Visitor(id)
	if err != nil {
		h.storeFailed(c, "read visitor", err)
		return
	}
	msgs, err := h.st.PublicMessagesOf(id, 0, transcriptMax) // never a note
	if err != nil {
		h.storeFailed(c, "read transcript", err)
		return
	}
	page := v.Meta["page"]
	if cur, _, err := h.st.Page(id); err == nil {
		page = cur.URL
	}
	t := Transcript{Visitor: id, Email: prof.Email, Name: v.Name, Page: page, Lines: make([]TranscriptLine, 0, len(msgs))}
	for _, m := range msgs {
		line := TranscriptLine{From: m.From, Text: m.Text, At: m.At}
		if m.From == store.FromClient {
			line.Name = v.Name
		} else {
			line.Name = agentShownName(m)
		}
		t.Lines = append(t.Lines, line)
	}
	switch err := h.cfg.Mailer.Transcript(t); {
	case errors.Is(err, ErrMailTooSoon):
		h.reply(c, refuse(codeRateLimited, "a transcript was sent to this address moments ago, retry later", ""))
		return
	case err != nil:
		h.log.Warn().Err(err).Str("visitor", id).Msg("transcript not queued")
		h.reply(c, refuse(codeUnavailable, "the transcript could not be sent now, retry later", ""))
		return
	}
	h.log.Info().Str("visitor", id).Int("messages", len(t.Lines)).Msg("transcript queued")
	c.live(0, encodeFrame(evClientTranscript, clientEmail{Email: prof.Email}))
}

// agentShownName is the name a visitor may see for an agent's message: its
// display name (store.Message.Public), never the login.
func agentShownName(m store.Message) string { return m.Public().Admin }

// profileInfo fills a visitor's profile fields into an admin:list row.
func (h *Hub) profileInfo(e *listEntry) {
	p, err := h.st.Profile(e.ID)
	if err != nil {
		return
	}
	e.Email, e.Attributes, e.Identity = p.Email, p.Attributes, p.Identity
}

// visitorHello completes client:id with what the visitor is told at once:
// the availability and its own stored address.
func (h *Hub) visitorHello(id *clientID) {
	a := h.Availability()
	h.presence.told(a)
	id.Availability, id.AgentsOnline = &a, &a.AgentsOnline
	id.TypingPreview = h.settings().TypingPreview
	if p, err := h.st.Profile(id.ID); err == nil {
		id.Email = p.Email
	}
}
