package mail

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// AlertConfig configures the agents' e-mail alerts. Zero values take the
// defaults given.
type AlertConfig struct {
	// To are the agents' addresses; each gets its own copy of each digest.
	To []string
	// After is how long a visitor's message may stay unanswered, while no
	// agent is online, before it is mailed (default 3m).
	After time.Duration
	// Window is the least time between two digests: at most one mail per
	// recipient per Window, whatever the traffic (default 15m).
	Window time.Duration
	// PortalURL, optional, makes each conversation a link to the portal
	// ("<PortalURL>#visitor=<id>"); the portal asks for its own login.
	PortalURL string
	// SiteName, optional, prefixes subjects: "[Example Shop] ...".
	SiteName string
	// HideText leaves visitors' message text out of the mails (names and
	// counts only).
	HideText bool
	// MaxConversations bounds the conversations tracked (default 1000);
	// beyond it a digest says how many more are waiting.
	MaxConversations int
	// Grace is how long no agent must be online before the team counts as
	// offline (default DefaultAlertGrace): a portal reload closes the
	// agent's socket and opens a new one a moment later, which is not
	// leaving. Nothing is mailed before the grace has run out.
	Grace time.Duration
	// Zone is the time zone of the times in the mails, named in them (nil:
	// UTC); chatd passes --hours-tz.
	Zone *time.Location
}

// DefaultAlertGrace is AlertConfig.Grace's default: long enough for a portal
// reload, a network switch or a chatd restart to bring the agents' sockets
// back, short next to the default After (3m).
const DefaultAlertGrace = 30 * time.Second

// Alerts mails agents a digest of visitors waiting while no agent is online:
// a new conversation at once, a visitor's message once it has waited After
// unanswered, never more than one mail per recipient per Window. Its event
// methods take a lock for O(1) work and never block on the network; the mails
// go through the Mailer. Safe for concurrent use.
//
// The team went offline when the last agent left (or when Run started, with
// no agent online), and counts as offline once Grace has passed with still
// no agent. A conversation is new only if it started after the team went
// offline (an agent online since has seen it in the portal); a new one is due
// at max(created, went offline + Grace). Unanswered messages are due at
// max(max(first unanswered, went offline) + After, went offline + Grace).
// A conversation is mailed once per batch of unanswered messages: after a
// digest listed it, only messages that arrive later bring it back.
type Alerts struct {
	cfg    AlertConfig
	mailer *Mailer
	sched  *scheduler

	mu           sync.Mutex
	online       int
	offlineSince time.Time // when the last agent left (zero: none came since the start)
	convs        map[string]*waiting
	overflow     int // conversations waiting but not tracked (MaxConversations)
	lastSent     time.Time
}

// waiting is one conversation with something to report.
type waiting struct {
	id, name string
	isNew    bool
	created  time.Time
	count    int       // unanswered visitor messages not yet mailed
	first    time.Time // when the oldest of them came
	texts    []string  // the newest few, for previews
}

const previewsPerConv = 3

// NewAlerts checks cfg and returns Alerts that send through m; call Run.
func NewAlerts(cfg AlertConfig, m *Mailer) (*Alerts, error) {
	if len(cfg.To) == 0 {
		return nil, errors.New("alerts: no recipients")
	}
	to := make([]string, 0, len(cfg.To))
	for i, addr := range cfg.To {
		a, err := ValidAddress(addr)
		if err != nil {
			return nil, fmt.Errorf("alerts recipient %d: %w", i+1, err)
		}
		if !slices.ContainsFunc(to, func(b string) bool { return SameAddress(a, b) }) {
			to = append(to, a) // one copy per mailbox, however its case was written
		}
	}
	cfg.To = to
	if cfg.PortalURL != "" && safeLink(cfg.PortalURL) == "" {
		return nil, fmt.Errorf("alerts portal url %q: want an absolute http or https URL", cfg.PortalURL)
	}
	if cfg.After <= 0 {
		cfg.After = 3 * time.Minute
	}
	if cfg.Window <= 0 {
		cfg.Window = 15 * time.Minute
	}
	if cfg.MaxConversations <= 0 {
		cfg.MaxConversations = 1000
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultAlertGrace
	}
	a := &Alerts{cfg: cfg, mailer: m, convs: map[string]*waiting{}}
	a.sched = newScheduler(a.flush, m.Send)
	return a, nil
}

// Run mails digests until ctx is done. With no agent online yet, the team
// went offline now: the agents' portals get Grace to reconnect after a
// restart.
func (a *Alerts) Run(ctx context.Context) {
	a.mu.Lock()
	if a.online == 0 && a.offlineSince.IsZero() {
		a.offlineSince = time.Now()
	}
	a.mu.Unlock()
	a.sched.run(ctx)
}

// AgentsOnline reports how many agents are online (an open portal and
// status online) as of at. From >0 to 0 starts the offline clock (the team
// counts as offline after Grace); an agent coming back before then was
// never away.
func (a *Alerts) AgentsOnline(n int, at time.Time) {
	a.mu.Lock()
	if n == 0 && a.online > 0 {
		a.offlineSince = at
	}
	if n > 0 && a.online == 0 {
		// Every conversation so far is on the agents' screens now: none of
		// them is new when the team next goes offline.
		for _, w := range a.convs {
			w.isNew = false
			if w.count == 0 {
				delete(a.convs, w.id)
			}
		}
	}
	a.online = max(n, 0)
	a.mu.Unlock()
	a.sched.poke()
}

// NewConversation reports a visitor's first message (call it before
// VisitorMessage for that message, or use Message). While an agent is online
// it is theirs to see and is not mailed as new.
func (a *Alerts) NewConversation(visitor, name string, at time.Time) {
	a.mu.Lock()
	a.newConversationLocked(visitor, name, at)
	a.mu.Unlock()
	a.sched.poke()
}

func (a *Alerts) newConversationLocked(visitor, name string, at time.Time) {
	if a.online == 0 {
		if w := a.track(visitor, name); w != nil {
			w.isNew, w.created = true, at
		}
	}
}

// Message reports a message a visitor wrote, first marking the visitor's
// first message: NewConversation and VisitorMessage at once, so a digest
// never lists the new conversation without its text.
func (a *Alerts) Message(visitor, name, text string, at time.Time, first bool) {
	a.mu.Lock()
	if first {
		a.newConversationLocked(visitor, name, at)
	}
	a.visitorMessageLocked(visitor, name, text, at)
	a.mu.Unlock()
	a.sched.poke()
}

// VisitorMessage reports a message a visitor wrote (text for the preview).
func (a *Alerts) VisitorMessage(visitor, name, text string, at time.Time) {
	a.mu.Lock()
	a.visitorMessageLocked(visitor, name, text, at)
	a.mu.Unlock()
	a.sched.poke()
}

func (a *Alerts) visitorMessageLocked(visitor, name, text string, at time.Time) {
	if w := a.track(visitor, name); w != nil {
		if w.count == 0 {
			w.first = at
		}
		w.count++
		if !a.cfg.HideText {
			w.texts = append(w.texts, clip(text, previewBytes))
			if len(w.texts) > previewsPerConv {
				w.texts = w.texts[1:]
			}
		}
	}
}

// Answered reports that an agent replied to visitor: nothing of that
// conversation is waiting any more.
func (a *Alerts) Answered(visitor string) {
	a.mu.Lock()
	delete(a.convs, visitor)
	a.mu.Unlock()
	a.sched.poke()
}

// track returns visitor's entry, creating it; nil when over the bound.
func (a *Alerts) track(visitor, name string) *waiting {
	w := a.convs[visitor]
	if w == nil {
		if len(a.convs) >= a.cfg.MaxConversations {
			a.overflow++
			return nil
		}
		w = &waiting{id: visitor}
		a.convs[visitor] = w
	}
	w.name = name
	return w
}

func (a *Alerts) dueAt(w *waiting) time.Time {
	var due time.Time
	if w.isNew {
		due = w.created
	}
	if w.count > 0 {
		d := later(w.first, a.offlineSince).Add(a.cfg.After)
		if due.IsZero() || d.Before(due) {
			due = d
		}
	}
	if due.IsZero() {
		return due
	}
	return later(due, a.offlineSince.Add(a.cfg.Grace))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// flush returns the digests due at now and when to look again.
func (a *Alerts) flush(now time.Time) ([]Message, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.online > 0 {
		return nil, time.Time{}
	}
	// Inside the window nothing can go out: look again when it ends, without
	// walking every conversation on each event (a busy site pokes this for
	// every visitor message).
	if open := a.lastSent.Add(a.cfg.Window); !a.lastSent.IsZero() && now.Before(open) {
		return nil, open
	}
	var due []*waiting
	var next time.Time
	for _, w := range a.convs {
		d := a.dueAt(w)
		if d.IsZero() {
			continue
		}
		if !d.After(now) {
			due = append(due, w)
		} else if next.IsZero() || d.Before(next) {
			next = d
		}
	}
	if len(due) == 0 {
		return nil, next
	}
	if open := a.lastSent.Add(a.cfg.Window); !a.lastSent.IsZero() && now.Before(open) {
		return nil, open
	}
	slices.SortFunc(due, func(x, y *waiting) int { return a.dueAt(x).Compare(a.dueAt(y)) })
	subject, body := a.render(due, a.overflow)
	for _, w := range due {
		delete(a.convs, w.id)
	}
	a.overflow = 0
	a.lastSent = now
	if open := now.Add(a.cfg.Window); !next.IsZero() && next.Before(open) {
		next = open
	}
	msgs := make([]Message, 0, len(a.cfg.To))
	for _, to := range a.cfg.To {
		msgs = append(msgs, Message{To: []string{to}, Subject: subject, Text: body, Kind: "alert"})
	}
	return msgs, next
}

func (a *Alerts) render(due []*waiting, overflow int) (subject, body string) {
	names := make([]string, 0, 3)
	for _, w := range due[:min(3, len(due))] {
		names = append(names, clip(oneLine(w.name), 32))
	}
	list := strings.Join(names, ", ")
	if len(due) > 3 {
		list += ", …"
	}
	n := len(due) + overflow
	subject = subjectPrefix(a.cfg.SiteName) + plural(n, "visitor", "visitors") + " waiting: " + list

	var b strings.Builder
	fmt.Fprintf(&b, "%s waiting for an answer, and no agent is online.\n\n", plural(n, "visitor is", "visitors are"))
	for _, w := range due {
		b.WriteString(oneLine(w.name))
		var what []string
		if w.isNew {
			what = append(what, "new conversation since "+stamp(w.created, a.cfg.Zone))
		}
		if w.count > 0 {
			what = append(what, plural(w.count, "unanswered message", "unanswered messages")+" since "+stamp(w.first, a.cfg.Zone))
		}
		b.WriteString(" - " + strings.Join(what, ", ") + "\n")
		for _, t := range w.texts {
			quote(&b, "  > ", t)
		}
		if link := portalLink(a.cfg.PortalURL, w.id); link != "" {
			b.WriteString("  " + link + "\n")
		}
		b.WriteString("\n")
	}
	if overflow > 0 {
		fmt.Fprintf(&b, "And %s more: open the portal to see them.\n\n", plural(overflow, "conversation", "conversations"))
	}
	fmt.Fprintf(&b, "You get at most one of these mails every %v, only while no agent is online.\n-- \nchatd\n", a.cfg.Window)
	return subject, b.String()
}
