// Package dispatch turns what happens in the hub into notifications. It is
// the hub's Observer (a message stored, a visitor's first socket opened or
// last one closed, the number of agents online) and the sink of the seen
// offsets visitors report; it hands each event, on its own goroutine, to
// the channels configured: alert digests to agents and reply mails to
// visitors (notify/mail), Web Push to agents' browsers (notify/push) and
// webhooks (notify/webhook).
//
// Nothing here slows the chat. The hub's calls return at once: events wait
// in a bounded queue (a full queue drops them, counted as channel "events",
// outcome "dropped"), and every channel has its own bounded, retrying queue
// behind it. A message is acknowledged whether or not anything was sent.
package dispatch

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/notify"
	"github.com/chatd/chatd/notify/mail"
	"github.com/chatd/chatd/notify/push"
	"github.com/chatd/chatd/notify/webhook"
	"github.com/chatd/chatd/store"
)

// Channel is the metrics label of the event queue.
const Channel = "events"

// Store is what the dispatcher reads; *store.Store satisfies it. It reads
// messages only through the store's Public* reads, which skip internal
// notes (store/notes.go): what it hands on may reach a visitor (reply
// mails) or the site's systems (webhooks), and a note reaches neither.
type Store interface {
	// Visitor finds a visitor by public id; store.ErrNotFound if none.
	Visitor(id string) (store.Visitor, error)
	// PublicMessagesBefore returns up to limit of visitor id's messages
	// that are not notes with offset < before, oldest first.
	PublicMessagesBefore(id string, before uint64, limit int) ([]store.Message, error)
	// PublicMessagesOf returns visitor id's messages that are not notes with
	// offset > after, oldest first; limit > 0 keeps only the newest limit of them.
	PublicMessagesOf(id string, after uint64, limit int) ([]store.Message, error)
}

// Contact is how a visitor can be reached outside the widget.
type Contact struct {
	Email string // the address the visitor left ("" if none)
	Seen  uint64 // the visitor has seen its conversation up to this offset
	Page  string // the visitor's current page URL ("" if unknown): the link back in mails
}

// Config configures a Dispatcher. Every channel is optional (nil: off).
type Config struct {
	Store Store
	// Contact reads a visitor's contact details (Page only when page is
	// true: it is needed for reply mails only); nil: no visitor has any.
	Contact func(visitor string, page bool) (Contact, error)
	// Online reports whether a visitor has an open widget socket now; nil: never.
	Online func(visitor string) bool
	// Agents lists the agents (logins) whose browsers are pushed to now:
	// a subscription of an agent not listed gets nothing. nil: every
	// subscription.
	Agents func() ([]string, error)

	// Mailer sends the mails of Alerts and Replies; Run runs it.
	Mailer *mail.Mailer
	// Alerts mails agents while none is online.
	Alerts *mail.Alerts
	// Replies mails visitors (Run runs it); with ReplyMails, agents'
	// replies to offline visitors who left an address.
	Replies    *mail.Continuity
	ReplyMails bool
	// ReplyDelay is how long a visitor who leaves with unread replies is
	// given to come back before they are mailed (default 2m, as the
	// Continuity's Delay: the same wait as for a reply written while away).
	ReplyDelay time.Duration
	Push       *push.Sender
	// PushGap is the push Sender's MinGap (default 30s): a conversation
	// pushed less than this ago is not looked at again, so a busy
	// conversation costs no store reads per message.
	PushGap  time.Duration
	Webhooks *webhook.Notifier

	// QueueSize bounds the events waiting (default 4096).
	QueueSize int
	Metrics   notify.Metrics
	Logger    zerolog.Logger
}

// Event kinds.
const (
	evMessage = iota + 1
	evPresence
	evSeen
	evLeft // a visitor who left ReplyDelay ago: mail its unread replies (never queued)
	evDeleted
	evSync // closes done once every earlier event is handled (tests)
)

type event struct {
	kind    int
	msg     store.Message
	visitor string
	name    string // evMessage: the visitor's name if the hub knew it
	online  bool
	offset  uint64
	at      time.Time
	done    chan struct{} // evSync
}

// agentsOnline is the latest agents-online count and when it changed.
type agentsOnline struct {
	n  int
	at time.Time
}

// Dispatcher is the hub's Observer; see the package doc. Its hub-facing
// methods are safe for concurrent use and never block.
type Dispatcher struct {
	cfg    Config
	events chan event
	wake   chan struct{} // agents count changed
	online atomic.Pointer[agentsOnline]
	lg     zerolog.Logger
	drops  zerolog.Logger // sampled

	// Owned by the Run goroutine.
	talked  map[string]bool      // visitors known to have written before
	handed  map[string]uint64    // per visitor: highest reply offset handed to Replies
	replied map[string]uint64    // per visitor: its latest agent's reply (not known seen)
	leftAt  map[string]time.Time // visitors gone with replies possibly unread: when they left
	leaving []event              // those departures, oldest first (evLeft)
	pushed  map[string]time.Time // per visitor: when its conversation was last pushed
	seen    map[string]known     // per visitor: what was read of it lately (cache.go)
	agents  agentList            // the agents to push to, read lately (cache.go)
}

// Bounds of the in-memory maps (entries; beyond them a map is cleared,
// which costs at most a store read or a repeated reply mail).
const (
	maxTalked = 100_000
	maxHanded = 100_000
	// maxLeaving bounds the departures waiting for ReplyDelay.
	maxLeaving = 100_000
	// firstScan is how many earlier messages are read to decide whether a
	// visitor message is the visitor's first (an agent may have written first).
	firstScan = 100
	// leftScan bounds the replies mailed to a visitor who left.
	leftScan = 100
)

// New returns a Dispatcher; call Run.
func New(cfg Config) *Dispatcher {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4096
	}
	if cfg.ReplyDelay <= 0 {
		cfg.ReplyDelay = 2 * time.Minute
	}
	if cfg.PushGap <= 0 {
		cfg.PushGap = 30 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = notify.Nop{}
	}
	lg := cfg.Logger.With().Str("component", "notify").Logger()
	return &Dispatcher{cfg: cfg, events: make(chan event, cfg.QueueSize), wake: make(chan struct{}, 1),
		lg: lg, drops: lg.Sample(&zerolog.BurstSampler{Burst: 1, Period: 10 * time.Second}),
		talked: map[string]bool{}, handed: map[string]uint64{}, replied: map[string]uint64{}, leftAt: map[string]time.Time{}, pushed: map[string]time.Time{},
		seen: map[string]known{}}
}

// MessageStored reports a message the hub stored (not a duplicate), with
// its visitor's name if the hub knows it. Never blocks.
func (d *Dispatcher) MessageStored(m store.Message, visitorName string) {
	d.enqueue(event{kind: evMessage, msg: m, name: visitorName})
}

// VisitorPresence reports that a visitor's first widget socket opened
// (online) or its last one closed. Never blocks.
func (d *Dispatcher) VisitorPresence(visitor string, online bool) {
	d.enqueue(event{kind: evPresence, visitor: visitor, online: online, at: time.Now()})
}

// VisitorSeen reports that a visitor's widget showed its conversation up to
// offset: replies up to there are not mailed. Never blocks.
func (d *Dispatcher) VisitorSeen(visitor string, offset uint64) {
	d.enqueue(event{kind: evSeen, visitor: visitor, offset: offset})
}

// VisitorDeleted reports that visitor's data was deleted: its replies
// waiting to be mailed and its conversation waiting in an alert digest are
// dropped, and nothing about it is kept here. Never blocks.
func (d *Dispatcher) VisitorDeleted(visitor string) {
	d.enqueue(event{kind: evDeleted, visitor: visitor})
}

// AgentsOnline reports how many agents are online (status online and an
// open portal). Only the latest count matters, so it is never dropped: it
// is kept and the dispatcher woken. Never blocks.
func (d *Dispatcher) AgentsOnline(n int) {
	d.online.Store(&agentsOnline{n: n, at: time.Now()})
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) enqueue(ev event) {
	select {
	case d.events <- ev:
	default:
		d.cfg.Metrics.Count(Channel, notify.Dropped)
		d.drops.Warn().Int("queued", len(d.events)).Msg("hub event dropped: notification queue full")
	}
}

// Run dispatches events and runs every configured channel until ctx is
// done; it returns once all of them have stopped. Events still queued are
// dropped (notifications are not persisted; messages are).
func (d *Dispatcher) Run(ctx context.Context) {
	var runs []func(context.Context)
	if d.cfg.Mailer != nil {
		runs = append(runs, d.cfg.Mailer.Run)
	}
	if d.cfg.Alerts != nil {
		runs = append(runs, d.cfg.Alerts.Run)
	}
	if d.cfg.Replies != nil {
		runs = append(runs, d.cfg.Replies.Run)
	}
	if d.cfg.Push != nil {
		runs = append(runs, d.cfg.Push.Run)
	}
	if d.cfg.Webhooks != nil {
		runs = append(runs, d.cfg.Webhooks.Run)
	}
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Go(func() { run(ctx) })
	}
	d.loop(ctx)
	wg.Wait()
}

func (d *Dispatcher) loop(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		t.Stop()
		var tc <-chan time.Time
		if next := d.due(time.Now()); !next.IsZero() {
			t.Reset(time.Until(next))
			tc = t.C
		}
		select {
		case <-ctx.Done():
			return
		case <-tc:
		case <-d.wake:
			d.agents.valid = false // an agent came, left or changed status
			if a := d.online.Load(); a != nil && d.cfg.Alerts != nil {
				d.cfg.Alerts.AgentsOnline(a.n, a.at)
			}
		case ev := <-d.events:
			d.handle(ev)
		}
	}
}

func (d *Dispatcher) handle(ev event) {
	switch ev.kind {
	case evMessage:
		d.message(ev.msg, ev.name)
	case evSeen:
		if d.cfg.Replies != nil {
			d.cfg.Replies.Read(ev.visitor, ev.offset)
		}
		if r, ok := d.replied[ev.visitor]; ok && ev.offset >= r {
			delete(d.replied, ev.visitor) // every reply seen: nothing to mail when it leaves
		}
	case evPresence:
		d.presence(ev)
	case evDeleted:
		d.forget(ev.visitor)
	case evSync:
		close(ev.done)
	}
}
