package hub

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/chatd/chatd/store"
)

// Availability is what a visitor is told before writing: whether an agent is
// there to answer. The same object is GET /api/widget's body, client:id's
// availability and client:availability's data (docs/protocol.md).
type Availability struct {
	// Available: at least one agent is online (status online and an open
	// admin socket) and business hours are open.
	Available bool `json:"available"`
	// AgentsOnline counts the agents with status online and an open admin socket.
	AgentsOnline int `json:"agents_online"`
	// Open: business hours are open (always true without business hours).
	Open bool `json:"open"`
	// NextChange is when Open next changes, RFC 3339 UTC; nil without
	// business hours or when they never change.
	NextChange *string `json:"next_change"`
	// ReplyMinutes is the typical reply time the operator announces; nil when not set.
	ReplyMinutes *int `json:"reply_minutes"`
	// Email says whether the widget asks a visitor for an e-mail address when
	// nobody is available: EmailOff, EmailOptional or EmailRequired.
	Email string `json:"email"`
	// Transcript: the server can e-mail a visitor its conversation (client:transcript).
	Transcript bool `json:"transcript"`
	// TypingPreview: agents see the text being typed (the inbox setting in
	// force), so the widget sends it with client:typing; a change reaches
	// connected visitors in client:availability.
	TypingPreview bool `json:"typing_preview"`
}

// same reports whether a and b tell a visitor the same.
func (a Availability) same(b Availability) bool {
	eqS := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqI := func(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Available == b.Available && a.AgentsOnline == b.AgentsOnline && a.Open == b.Open &&
		eqS(a.NextChange, b.NextChange) && eqI(a.ReplyMinutes, b.ReplyMinutes) && a.Email == b.Email &&
		a.Transcript == b.Transcript && a.TypingPreview == b.TypingPreview
}

// Values of Config.EmailCapture and Availability.Email.
const (
	EmailOff      = "off"      // the widget never asks; client:email is refused
	EmailOptional = "optional" // asked when nobody is available; the visitor may skip it
	EmailRequired = "required" // when nobody is available, the visitor leaves an address before writing
)

// Agent statuses (admin:status, admin:agents).
const (
	StatusOnline = "online"
	StatusAway   = "away"
)

// Hours says whether business hours are open at t and when that next changes
// (zero: never). *hours.Schedule satisfies it.
type Hours interface {
	At(t time.Time) (open bool, next time.Time)
}

// DefaultAvailabilityEvery is the least time between two client:availability
// broadcasts: an agent whose connection flaps makes one change, not many.
const DefaultAvailabilityEvery = 2 * time.Second

// agentRow is one entry of admin:agents.
type agentRow struct {
	Name      string `json:"name"`
	Display   string `json:"display"`
	Status    string `json:"status"`
	Connected bool   `json:"connected"`
}

// presence tracks the agents (status and open admin sockets) and tells the
// visitors when their availability changes: at most once per every, and at
// each business-hours change. Lock order: presence.mu, then the index's.
type presence struct {
	h     *Hub
	every time.Duration

	mu    sync.Mutex
	away  map[string]bool // agents who chose away (in memory: a restart makes everyone online again); with a Feed, the cluster's
	conns map[string]int  // open, identified admin sockets per agent, on this node
	// With a Feed (feed_agents.go): the agents with an admin socket on some
	// live node, as the feed last told; nil without a Feed.
	remote  map[string]bool
	sent    Availability // last told to every visitor socket
	sentAt  time.Time
	dirty   bool        // a client:id told something else than sent
	timer   *time.Timer // pending broadcast
	clock   *time.Timer // next business-hours change
	stopped bool
}

func newPresence(h *Hub, every time.Duration) *presence {
	p := &presence{h: h, every: every, away: map[string]bool{}, conns: map[string]int{}}
	if _, ok := h.st.(Feed); ok {
		p.remote = map[string]bool{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = p.computeLocked(timeNow())
	p.armClockLocked(p.sent)
	return p
}

// Availability returns what visitors are told now.
func (h *Hub) Availability() Availability {
	p := h.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.computeLocked(timeNow())
}

// onlineLocked counts the agents online: status online and a socket open.
func (p *presence) onlineLocked() int {
	n := 0
	for _, name := range p.connectedNamesLocked() {
		if !p.away[name] {
			n++
		}
	}
	return n
}

func (p *presence) computeLocked(now time.Time) Availability {
	cfg := &p.h.cfg
	open, next := true, time.Time{}
	if cfg.Hours != nil {
		open, next = cfg.Hours.At(now)
	}
	n := p.onlineLocked()
	email := cfg.EmailCapture
	if cfg.CheckEmail == nil {
		email = EmailOff // nothing to check addresses with: none are taken
	}
	a := Availability{Available: n > 0 && open, AgentsOnline: n, Open: open, Email: email,
		Transcript: cfg.Mailer != nil && email != EmailOff, TypingPreview: p.h.settings().TypingPreview}
	if !next.IsZero() {
		s := next.UTC().Format(time.RFC3339)
		a.NextChange = &s
	}
	if cfg.ReplyMinutes > 0 {
		m := cfg.ReplyMinutes
		a.ReplyMinutes = &m
	}
	return a
}

// told records that a visitor socket was just told a (in client:id): when
// that is not what the others were last told, the next broadcast goes out
// even if the availability then went back to it.
func (p *presence) told(a Availability) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !a.same(p.sent) {
		p.dirty = true
		p.changedLocked()
	}
}

// changedLocked plans a broadcast: at once if none went out for every, else
// when that time is up. Changes in between make one broadcast.
func (p *presence) changedLocked() {
	if p.timer != nil || p.stopped {
		return
	}
	wait := max(p.every-time.Since(p.sentAt), 0)
	p.timer = time.AfterFunc(wait, p.flush)
}

// flush tells every visitor socket the availability, if it changed.
func (p *presence) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	if p.stopped {
		return
	}
	now := timeNow()
	a := p.computeLocked(now)
	p.armClockLocked(a)
	if a.same(p.sent) && !p.dirty {
		return
	}
	p.sent, p.sentAt, p.dirty = a, now, false
	f := encodeFrame(evClientAvailability, a)
	p.h.idx.eachVisitorSocket(func(c *conn) { c.live(0, f) })
}

// settingsChanged broadcasts at once after an inbox setting visitors are told
// (the typing preview) changed: an admin's rare change skips the wait that
// spaces out presence broadcasts.
func (p *presence) settingsChanged() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timer = time.AfterFunc(0, p.flush)
}

// armClockLocked wakes the presence when business hours next open or close.
func (p *presence) armClockLocked(a Availability) {
	if p.clock != nil {
		p.clock.Stop()
		p.clock = nil
	}
	if a.NextChange == nil || p.stopped {
		return
	}
	at, err := time.Parse(time.RFC3339, *a.NextChange)
	if err != nil {
		return
	}
	// RFC 3339 as sent has whole seconds: wake just after the change itself.
	wait := max(time.Until(at)+time.Second, 0)
	p.clock = time.AfterFunc(wait, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.changedLocked()
	})
}

func (p *presence) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	for _, t := range []*time.Timer{p.timer, p.clock} {
		if t != nil {
			t.Stop()
		}
	}
}

// adminJoined counts an identified admin socket. Every admin is told the new
// agent list when that agent was not connected before; the joining socket is
// told it in any case (after its replay, as every live frame).
func (p *presence) adminJoined(c *conn, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[name]++
	if p.conns[name] == 1 {
		if p.remote == nil {
			p.agentsChangedLocked()
			return
		}
		p.h.feed.SetAgent(name, true) // every admin is told when the cluster's view has it
	}
	c.live(0, p.agentsFrameLocked())
}

// adminLeft uncounts a closed admin socket of name.
func (p *presence) adminLeft(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[name]--; p.conns[name] > 0 {
		return
	}
	delete(p.conns, name)
	if p.remote != nil {
		p.h.feed.SetAgent(name, false)
		return
	}
	p.agentsChangedLocked()
}

// setStatus sets agent name's status. Every admin is told the agent list
// when it changed, the sender alone otherwise.
func (p *presence) setStatus(c *conn, name, status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	away := status == StatusAway
	if p.away[name] == away {
		c.live(0, p.agentsFrameLocked())
		return
	}
	if p.remote != nil {
		p.h.feed.SetAgentStatus(name, away) // every admin is told when the cluster's view has it
		return
	}
	if away {
		p.away[name] = true
	} else {
		delete(p.away, name)
	}
	p.agentsChangedLocked()
}

// agentsChangedLocked tells every admin socket the agent list and plans a
// visitor broadcast.
func (p *presence) agentsChangedLocked() {
	f := p.agentsFrameLocked()
	p.h.idx.each("", nil, func(a *conn) { a.live(0, f) })
	p.h.cfg.Observer.AgentsOnline(p.onlineLocked())
	p.changedLocked()
}

// agentsFrameLocked renders admin:agents: every known admin and every
// connected one, by name.
func (p *presence) agentsFrameLocked() []byte {
	rows := map[string]agentRow{}
	admins, err := p.h.st.Admins()
	if err != nil {
		p.h.log.Warn().Err(err).Msg("list admins for admin:agents")
	}
	for _, a := range admins {
		rows[a.Name] = agentRow{Name: a.Name, Display: a.AgentsSee()}
	}
	for _, name := range p.connectedNamesLocked() {
		if _, ok := rows[name]; !ok {
			rows[name] = agentRow{Name: name, Display: store.Admin{Name: name}.AgentsSee()}
		}
	}
	list := make([]agentRow, 0, len(rows))
	for name, r := range rows {
		r.Status = StatusOnline
		if p.away[name] {
			r.Status = StatusAway
		}
		r.Connected = p.connectedLocked(name)
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return encodeFrame(evAdminAgents, list)
}

// eachVisitorSocket calls fn for every identified visitor socket. fn must not block.
func (x *index) eachVisitorSocket(fn func(*conn)) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, r := range x.rooms {
		for c := range r.conns {
			fn(c)
		}
	}
}

// adminStatusEvent is admin:status's payload.
type adminStatusEvent struct {
	Status string `json:"status"`
}

func decodeAdminStatus(data []byte) (any, error) {
	var p adminStatusEvent
	if err := decodeData(data, &p); err != nil {
		return nil, err
	}
	if p.Status != StatusOnline && p.Status != StatusAway {
		return nil, errors.New(`status must be "online" or "away"`)
	}
	return &p, nil
}

// adminStatus handles admin:status.
func (h *Hub) adminStatus(c *conn, p *adminStatusEvent) {
	name := c.who().name
	h.log.Info().Str("admin", name).Str("status", p.Status).Msg("agent status")
	h.presence.setStatus(c, name, p.Status)
}
