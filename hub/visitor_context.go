package hub

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mileusna/useragent"

	"github.com/chatd/chatd/store"
)

// The visitor context panel: admin:visitor answers what the agents may know
// of one visitor (name, contact, current page and trail, where it came
// from, its browser, language and time zone, how often it came, its
// conversation's earlier parts). Its browser comes from the User-Agent
// header of its socket, parsed with github.com/mileusna/useragent; language,
// time zone and referrer from client:add's meta (lang, tz, referrer), which
// the widget fills from navigator.language, Intl's resolved time zone and
// document.referrer. They are recorded when a visit starts: the visitor's
// first socket after visitGap without one.

const evAdminVisitor = "admin:visitor"

// visitGap is how long a visitor is away before its next socket starts a new visit.
const visitGap = 30 * time.Minute

// visitorRequest is admin:visitor.
type visitorRequest struct {
	Client string `json:"client"`
}

// visitorReply is admin:visitor's answer.
type visitorReply struct {
	Client        string            `json:"client"`
	Name          string            `json:"name"`
	Email         string            `json:"email"`
	Identity      string            `json:"identity"`
	Created       string            `json:"created"`
	Seen          string            `json:"seen"`
	Visits        int               `json:"visits"`
	Page          *store.PageView   `json:"page"`
	Pages         []store.PageView  `json:"pages"`
	Referrer      string            `json:"referrer"`
	Browser       string            `json:"browser"`
	OS            string            `json:"os"`
	Device        string            `json:"device"`
	Lang          string            `json:"lang"`
	TZ            string            `json:"tz"`
	Attributes    map[string]string `json:"attributes"`
	Meta          map[string]string `json:"meta"`
	Conversations []convPart        `json:"conversations"`
	Conversation  *convEvent        `json:"conversation"` // its state now (as admin:conversation, without by)
}

// convPart is one part of a visitor's conversation: a resolved segment, or
// the current one (to is then its latest message).
type convPart struct {
	Client string `json:"client"`
	From   uint64 `json:"from"`
	To     uint64 `json:"to"`
	Status string `json:"status"`
	Ended  string `json:"ended,omitempty"`
	// Messages counts its messages (notes included); Started is the time of
	// the first. Offsets are global: show these, not from/to.
	Messages int    `json:"messages"`
	Started  string `json:"started,omitempty"`
}

// checkVisitMeta checks the visit fields of client:add's meta: lang a BCP 47
// tag (letters, digits, '-'), tz an IANA zone name (letters, digits, '_',
// '+', '-', '/'), referrer a URL like a page's.
func checkVisitMeta(meta map[string]string) error {
	if l, ok := meta["lang"]; ok && (l == "" || len(l) > store.MaxLang || strings.IndexFunc(l, func(r rune) bool { return !isAlnum(r) && r != '-' }) >= 0) {
		return errors.New("meta lang must be a language tag such as en-GB")
	}
	if z, ok := meta["tz"]; ok && (z == "" || len(z) > store.MaxTZ || strings.IndexFunc(z, func(r rune) bool { return !isAlnum(r) && !strings.ContainsRune("_+-/", r) }) >= 0) {
		return errors.New("meta tz must be a time zone name such as Europe/Paris")
	}
	if ref, ok := meta["referrer"]; ok && (len(ref) > maxPageURL || hasHidden(ref)) {
		return errors.New("meta referrer must be at most 1024 bytes without control, format or invisible characters")
	}
	return nil
}

func isAlnum(r rune) bool {
	return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
}

// cutUTF8 cuts s to at most n bytes at a rune boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// parseUA names the browser, operating system and kind of device of a User-Agent header.
func parseUA(s string) (browser, os, device string) {
	if s == "" {
		return "", "", ""
	}
	u := useragent.Parse(s)
	browser = strings.TrimSpace(u.Name + " " + u.Version)
	os = strings.TrimSpace(u.OS + " " + u.OSVersion)
	switch {
	case u.Bot:
		device = "bot"
	case u.Tablet:
		device = "tablet"
	case u.Mobile:
		device = "mobile"
	case u.Desktop:
		device = "desktop"
	}
	if u.Device != "" {
		device = strings.TrimSpace(device + " " + u.Device)
	}
	return browser, os, device
}

// recordVisit records a visitor's browser, language, time zone and
// referrer when its first socket opens; a new visit counts after visitGap
// away. ua is the socket's User-Agent header; v is the visitor as it was
// before this socket touched it.
func (h *Hub) recordVisit(v store.Visitor, ua string, isNew bool, meta map[string]string) {
	info := store.VisitInfo{UserAgent: ua, Lang: meta["lang"], TZ: meta["tz"], Referrer: meta["referrer"]}
	info.Browser, info.OS, info.Device = parseUA(ua)
	newVisit := isNew || timeNow().Sub(v.LastSeen) > visitGap
	ctx, cancel := storeCtx()
	defer cancel()
	if _, err := h.st.RecordVisit(ctx, v.ID, info, newVisit); err != nil {
		h.log.Warn().Err(err).Str("visitor", v.ID).Msg("record visit")
	}
}

// adminVisitor answers admin:visitor with the visitor's context.
func (h *Hub) adminVisitor(c *conn, p *visitorRequest) {
	v, err := h.st.Visitor(p.Client)
	if err != nil {
		h.inboxFailed(c, "read visitor", err, "")
		return
	}
	r := visitorReply{Client: v.ID, Name: v.Name, Created: rfc3339ms(v.Created), Seen: rfc3339ms(v.LastSeen),
		Meta: v.Meta, Pages: []store.PageView{}, Attributes: map[string]string{}, Conversations: []convPart{}}
	if r.Meta == nil {
		r.Meta = map[string]string{}
	}
	if cur, trail, err := h.st.Page(v.ID); err == nil {
		r.Page = &cur
		r.Pages = append(append(r.Pages, trail...), cur)
	}
	vi, err := h.st.Visits(v.ID)
	if err != nil {
		h.inboxFailed(c, "read visits", err, "")
		return
	}
	r.Visits, r.Referrer, r.Browser, r.OS, r.Device, r.Lang, r.TZ = vi.Visits, vi.Referrer, vi.Browser, vi.OS, vi.Device, vi.Lang, vi.TZ
	h.profileInto(&r)
	segs, err := h.st.Segments(v.ID)
	if err != nil {
		h.inboxFailed(c, "read conversation", err, "")
		return
	}
	next := uint64(1)
	for _, s := range segs {
		r.Conversations = append(r.Conversations, h.part(convPart{Client: v.ID, From: s.From, To: s.To, Status: store.StatusResolved, Ended: rfc3339ms(s.Ended)}))
		next = s.To + 1
	}
	if conv, err := h.st.Conversation(v.ID); err == nil {
		w := convWire(conv)
		r.Conversation = &w
		// The current part, once it holds a message: reopened without one, it
		// would be an empty range (from > to); its state is in conversation.
		if conv.Status != "" && conv.Last >= next {
			r.Conversations = append(r.Conversations, h.part(convPart{Client: v.ID, From: next, To: conv.Last, Status: conv.Status}))
		}
	}
	c.live(0, encodeFrame(evAdminVisitor, r))
}

// profileInto fills the contact fields of r (e-mail, verified identity, the
// site's attributes) from the visitor's profile.
func (h *Hub) profileInto(r *visitorReply) {
	p, err := h.st.Profile(r.Client)
	if err != nil {
		return
	}
	r.Email, r.Identity = p.Email, p.Identity
	if p.Attributes != nil {
		r.Attributes = p.Attributes
	}
}

// part fills in p's message count and start.
func (h *Hub) part(p convPart) convPart {
	n, started, err := h.st.PartOf(p.Client, p.From, p.To)
	if err != nil {
		h.log.Warn().Err(err).Str("visitor", p.Client).Msg("count a conversation's messages")
		return p
	}
	p.Messages = n
	if !started.IsZero() {
		p.Started = rfc3339ms(started)
	}
	return p
}
