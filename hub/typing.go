package hub

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/store"
)

// Typing and viewing are ephemeral: never stored, held in memory only while
// someone types or looks, and lost on restart (clients send them again).
//
// Typing: a visitor's client:typing reaches every admin socket as
// admin:typing {from: "client"}, with the text typed so far as preview only
// when the operator enabled Config.TypingPreview; an agent's admin:typing
// reaches the other admin sockets and the visitor (client:typing with the
// agent's display name, never the login). Each sender (a visitor, or an
// agent in one conversation) is throttled: a change of state goes out at
// once unless one went out less than typingGap ago, in which case the latest
// one follows when the gap is over (so the last state, "stopped", always
// arrives); a repeated "typing" without a preview change is sent again only
// every typingRefresh, which keeps indicators alive (clients drop one not
// refreshed for about twice that). A sender that leaves (its last socket)
// while typing is told as stopped.
//
// Viewing: admin:view says which conversation an admin socket shows; every
// admin socket gets admin:viewers with the logins looking at a conversation
// whenever that set changes, and the current sets after its admin:replayed.

const (
	typingGap     = 250 * time.Millisecond // least time between two forwards of one sender
	typingRefresh = 3 * time.Second        // a steady "typing" is repeated this often
	typingIdle    = time.Minute            // sender state kept this long after its last event
)

// typingEvent is one typing change to forward.
type typingEvent struct {
	typing  bool
	preview string
}

// typer is one sender's throttle state.
type typer struct {
	last    time.Time // last forward
	typing  bool      // last state forwarded
	preview string    // last preview forwarded
	pending *typingEvent
	timer   *time.Timer
	send    func(typingEvent) // the fan-out of this sender
}

// typingHub throttles typing events per sender.
type typingHub struct {
	mu      sync.Mutex
	senders map[string]*typer
	swept   time.Time
	preview func() bool // whether admins see previews now (the setting in force)
}

func newTypingHub(preview func() bool) *typingHub {
	return &typingHub{senders: make(map[string]*typer), preview: preview}
}

// event throttles ev from sender key; send forwards it.
func (t *typingHub) event(key string, ev typingEvent, send func(typingEvent)) {
	if !t.preview() {
		ev.preview = ""
	}
	now := time.Now()
	t.mu.Lock()
	t.sweep(now)
	s := t.senders[key]
	if s == nil {
		s = &typer{}
		t.senders[key] = s
	}
	s.send = send
	var out *typingEvent
	switch {
	case !ev.typing && !s.typing && s.pending == nil:
		// already stopped: nothing to tell
	case ev.typing && s.typing && ev.preview == s.preview && s.pending == nil && now.Sub(s.last) < typingRefresh:
		// nothing new
	case now.Sub(s.last) >= typingGap:
		out = &ev
		s.forwarded(ev, now)
	default:
		s.pending = &ev
		if s.timer == nil {
			s.timer = time.AfterFunc(s.last.Add(typingGap).Sub(now), func() { t.flush(key) })
		}
	}
	t.mu.Unlock()
	if out != nil {
		send(*out)
	}
}

func (s *typer) forwarded(ev typingEvent, now time.Time) {
	s.last, s.typing, s.preview, s.pending = now, ev.typing, ev.preview, nil
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// flush forwards a sender's pending event once its gap is over.
func (t *typingHub) flush(key string) {
	t.mu.Lock()
	s := t.senders[key]
	if s == nil || s.pending == nil {
		if s != nil {
			s.timer = nil
		}
		t.mu.Unlock()
		return
	}
	ev, send := *s.pending, s.send
	s.timer = nil
	s.forwarded(ev, time.Now())
	t.mu.Unlock()
	send(ev)
}

// stop tells every sender whose key starts with prefix, and is typing, as
// stopped (it left), and forgets those senders.
func (t *typingHub) stop(prefix string) {
	var sends []func(typingEvent)
	t.mu.Lock()
	for k, s := range t.senders {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if s.typing || (s.pending != nil && s.pending.typing) {
			sends = append(sends, s.send)
		}
		if s.timer != nil {
			s.timer.Stop()
		}
		delete(t.senders, k)
	}
	t.mu.Unlock()
	for _, send := range sends {
		send(typingEvent{typing: false})
	}
}

// quiet records that sender key stopped typing without telling anyone (its
// message arrived: clients end the indicator on the message itself).
func (t *typingHub) quiet(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.senders[key]; s != nil {
		s.typing, s.preview, s.pending = false, "", nil
		if s.timer != nil {
			s.timer.Stop()
			s.timer = nil
		}
	}
}

// sweep forgets senders idle for typingIdle, at most once a minute.
func (t *typingHub) sweep(now time.Time) {
	if now.Sub(t.swept) < time.Minute {
		return
	}
	t.swept = now
	for k, s := range t.senders {
		if s.pending == nil && now.Sub(s.last) > typingIdle {
			if s.timer != nil {
				s.timer.Stop()
			}
			delete(t.senders, k)
		}
	}
}

// shutdown stops every pending forward.
func (t *typingHub) shutdown() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, s := range t.senders {
		if s.timer != nil {
			s.timer.Stop()
		}
		delete(t.senders, k)
	}
}

// Sender keys.
func visitorTyper(visitor string) string      { return "c\x00" + visitor }
func agentTyper(login, visitor string) string { return "a\x00" + login + "\x00" + visitor }
func agentTypers(login string) string         { return "a\x00" + login + "\x00" }

// clientTyping forwards a visitor's typing to the admins.
func (h *Hub) clientTyping(c *conn, p *typingRequest) {
	id := c.who().visitor
	h.typing.event(visitorTyper(id), typingEvent{typing: *p.Typing, preview: p.Text}, h.visitorTypingSend(id))
}

// visitorTypingSend is the fan-out of visitor id's typing.
func (h *Hub) visitorTypingSend(id string) func(typingEvent) {
	return func(ev typingEvent) {
		e := adminTypingEvent{Client: id, From: store.FromClient, Typing: ev.typing}
		if ev.typing && h.settings().TypingPreview { // the setting now, not when the event came
			p := ev.preview
			e.Preview = &p
		}
		h.tellAdmins(encodeFrame(evAdminTyping, e))
	}
}

// adminTyping forwards an agent's typing to the other admin sockets and the visitor.
func (h *Hub) adminTyping(c *conn, p *typingRequest) {
	if _, err := h.st.Conversation(p.Client); err != nil {
		h.inboxFailed(c, "typing", err, "")
		return
	}
	login := c.who().name
	display := h.displayOf(login) // visitors: never the login
	shown := login                // agents: as in admin:agents (display name, or the login)
	if a, err := h.st.Admin(login); err == nil {
		shown = a.AgentsSee()
	}
	h.typing.event(agentTyper(login, p.Client), typingEvent{typing: *p.Typing}, func(ev typingEvent) {
		af := encodeFrame(evAdminTyping, adminTypingEvent{Client: p.Client, From: store.FromAdmin, Admin: login, Display: shown, Typing: ev.typing})
		vf := encodeFrame(evClientTyping, clientTypingEvent{Typing: ev.typing, Admin: display})
		var toVisitor func(*conn)
		if h.feed != nil {
			h.tellVisitor(p.Client, vf) // the visitor's tabs may be on other nodes
		} else {
			toVisitor = func(v *conn) { v.live(0, vf) }
		}
		h.idx.each(p.Client, toVisitor, func(a *conn) {
			if a != c {
				a.live(0, af)
			}
		})
	})
}

// displayOf is the name visitors see for agent login: its display name from
// the admins file, or store.DefaultDisplay; never the login.
func (h *Hub) displayOf(login string) string {
	a, err := h.st.Admin(login)
	if err != nil {
		return store.DefaultDisplay
	}
	return a.DisplayName()
}

// viewing tracks which conversation each admin socket shows.
type viewing struct {
	mu sync.Mutex
	of map[*conn]string          // socket -> visitor id shown
	by map[string]map[string]int // visitor id -> login -> sockets showing it
}

func newViewing() *viewing {
	return &viewing{of: make(map[*conn]string), by: make(map[string]map[string]int)}
}

// set makes socket c (agent login) show visitor id ("" for none) and
// returns the visitors whose set of viewing logins changed.
func (v *viewing) set(c *conn, login, id string) []viewersEvent {
	v.mu.Lock()
	defer v.mu.Unlock()
	old, had := v.of[c]
	if had && old == id {
		return nil
	}
	var changed []viewersEvent
	if had {
		m := v.by[old]
		if m[login]--; m[login] <= 0 {
			delete(m, login)
			changed = append(changed, viewersEvent{Client: old, Admins: logins(m)})
		}
		if len(m) == 0 {
			delete(v.by, old)
		}
		delete(v.of, c)
	}
	if id != "" {
		v.of[c] = id
		m := v.by[id]
		if m == nil {
			m = make(map[string]int)
			v.by[id] = m
		}
		if m[login]++; m[login] == 1 {
			changed = append(changed, viewersEvent{Client: id, Admins: logins(m)})
		}
	}
	return changed
}

// all returns every conversation being viewed with its logins.
func (v *viewing) all() []viewersEvent {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]viewersEvent, 0, len(v.by))
	for id, m := range v.by {
		out = append(out, viewersEvent{Client: id, Admins: logins(m)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Client < out[j].Client })
	return out
}

func logins(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for l := range m {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// adminView records what admin socket c shows and tells every admin socket
// whose viewer sets changed.
func (h *Hub) adminView(c *conn, p *viewRequest) {
	id := *p.Client
	if id != "" {
		if _, err := h.st.Conversation(id); err != nil {
			h.inboxFailed(c, "view", err, "")
			return
		}
	}
	for _, ev := range h.viewing.set(c, c.who().name, id) {
		h.tellAdmins(encodeFrame(evAdminViewers, ev))
	}
}

// adminLeft forgets an admin socket that closed: its view, and its typing
// if its agent has no other socket.
func (h *Hub) adminLeft(c *conn) {
	id := c.who()
	if id == nil {
		return
	}
	for _, ev := range h.viewing.set(c, id.name, "") {
		h.tellAdmins(encodeFrame(evAdminViewers, ev))
	}
	if !h.idx.hasAdmin(id.name) {
		h.typing.stop(agentTypers(id.name))
	}
}

// hasAdmin reports whether agent login has an identified admin socket.
func (x *index) hasAdmin(login string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for a := range x.admins {
		if id := a.who(); id != nil && id.name == login {
			return true
		}
	}
	return false
}
