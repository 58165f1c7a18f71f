package mail

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/notify"
)

// ContinuityConfig configures the visitor mails. Zero values take the
// defaults given.
type ContinuityConfig struct {
	// Delay is how long an agent's reply waits for the visitor to read it in
	// the widget before it is mailed (default 2m).
	Delay time.Duration
	// MinGap is the least time between two reply mails to one address
	// (default 10m): replies in between join the next mail.
	MinGap time.Duration
	// TranscriptGap is the least time between two transcripts to one address
	// (default 1m).
	TranscriptGap time.Duration
	// SiteName names the site in subjects and text ("Example Shop").
	SiteName string
	// SiteURL is the link back when the visitor's page is unknown.
	SiteURL string
	// ReplyTo, optional, is where a visitor's answer to a mail goes (chatd
	// reads no mail).
	ReplyTo string
	// Zone is the time zone of the times in the mails, named in them (nil:
	// UTC); chatd passes --hours-tz.
	Zone *time.Location
	// MaxPending bounds the visitors with replies waiting (default 10000);
	// beyond it a reply is not mailed (counted as dropped on the Mailer's
	// Metrics).
	MaxPending int
	// MaxTranscript bounds a transcript's text in bytes (default 256 KiB);
	// the oldest messages are left out beyond it, and the mail says so.
	MaxTranscript int
}

// Reply is an agent's message to a visitor who left an address.
type Reply struct {
	Visitor string    // public id
	Email   string    // the visitor's address (as stored, validated)
	Name    string    // the visitor's name
	Page    string    // the visitor's last page: the link back (query and fragment dropped)
	Offset  uint64    // the message's offset, for Read
	Agent   string    // the agent's display name (never the login)
	Text    string    // the reply
	At      time.Time // when it was stored
}

// Line is one message of a transcript.
type Line struct {
	From string // "client" or "admin"
	Name string // who wrote it: the visitor's or the agent's display name
	Text string
	At   time.Time
}

// Transcript is a conversation a visitor asked to receive.
type Transcript struct {
	Visitor, Email, Name, Page string
	Lines                      []Line // oldest first
}

// Errors of SendTranscript.
var (
	ErrTooSoon   = errors.New("a transcript was sent to this address moments ago")
	ErrQueueFull = errors.New("mail queue is full, try again later")
)

// Continuity mails visitors: an agent's reply when they do not read it in
// the widget within Delay (several replies make one mail; at most one mail
// per address per MinGap), and the transcript on request. Safe for
// concurrent use; no method waits on the network.
type Continuity struct {
	cfg    ContinuityConfig
	mailer *Mailer
	sched  *scheduler

	mu          sync.Mutex
	pending     map[string]*unread // by visitor
	lastReply   map[string]time.Time
	lastTransc  map[string]time.Time
	lastPruning time.Time
}

type unread struct {
	email, name, page string
	first             time.Time
	replies           []Reply
}

const repliesPerMail = 20

// NewContinuity checks cfg and returns Continuity that sends through m;
// call Run.
func NewContinuity(cfg ContinuityConfig, m *Mailer) (*Continuity, error) {
	if cfg.SiteURL != "" && safeLink(cfg.SiteURL) == "" {
		return nil, fmt.Errorf("site url %q: want an absolute http or https URL", cfg.SiteURL)
	}
	if cfg.ReplyTo != "" {
		if _, err := ParseAddress(cfg.ReplyTo); err != nil {
			return nil, fmt.Errorf("reply-to: %w", err)
		}
	}
	if cfg.Delay <= 0 {
		cfg.Delay = 2 * time.Minute
	}
	if cfg.MinGap <= 0 {
		cfg.MinGap = 10 * time.Minute
	}
	if cfg.TranscriptGap <= 0 {
		cfg.TranscriptGap = time.Minute
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 10000
	}
	if cfg.MaxTranscript <= 0 {
		cfg.MaxTranscript = 256 << 10
	}
	c := &Continuity{cfg: cfg, mailer: m, pending: map[string]*unread{},
		lastReply: map[string]time.Time{}, lastTransc: map[string]time.Time{}}
	c.sched = newScheduler(c.flush, m.Send)
	return c, nil
}

// Run mails replies until ctx is done.
func (c *Continuity) Run(ctx context.Context) { c.sched.run(ctx) }

// AgentReply schedules r to be mailed after Delay unless Read covers it
// first. Call it for an agent's reply to a visitor who is offline (no open
// widget) and has an address; one without a valid address is ignored.
func (c *Continuity) AgentReply(r Reply) { c.AgentReplies(r) }

// AgentReplies is AgentReply for several replies at once (a visitor who
// left several unread): they join one mail, never split by a mail sent
// between two of them.
func (c *Continuity) AgentReplies(rs ...Reply) {
	c.mu.Lock()
	for _, r := range rs {
		c.addLocked(r)
	}
	c.mu.Unlock()
	c.sched.poke()
}

func (c *Continuity) addLocked(r Reply) {
	email, err := ValidAddress(r.Email)
	if err != nil {
		return
	}
	u := c.pending[r.Visitor]
	if u == nil {
		if len(c.pending) >= c.cfg.MaxPending {
			c.mailer.metrics.Count(Channel, notify.Dropped)
			return
		}
		u = &unread{first: r.At}
		c.pending[r.Visitor] = u
	}
	u.email, u.name, u.page = email, r.Name, r.Page
	u.replies = append(u.replies, r)
	if len(u.replies) > repliesPerMail {
		u.replies = u.replies[1:]
	}
}

// Read reports that visitor's widget showed every message up to offset
// upTo: those replies are not mailed.
func (c *Continuity) Read(visitor string, upTo uint64) {
	c.mu.Lock()
	if u := c.pending[visitor]; u != nil {
		kept := u.replies[:0]
		for _, r := range u.replies {
			if r.Offset > upTo {
				kept = append(kept, r)
			}
		}
		u.replies = kept
		if len(kept) == 0 {
			delete(c.pending, visitor)
		}
	}
	c.mu.Unlock()
}

// Forget drops the replies waiting to be mailed to visitor (its data was
// deleted): none of them is mailed.
func (c *Continuity) Forget(visitor string) {
	c.mu.Lock()
	delete(c.pending, visitor)
	c.mu.Unlock()
}

func (c *Continuity) flush(now time.Time) ([]Message, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune(now)
	var msgs []Message
	var next time.Time
	for id, u := range c.pending {
		due := u.first.Add(c.cfg.Delay)
		if last, ok := c.lastReply[AddressKey(u.email)]; ok {
			due = later(due, last.Add(c.cfg.MinGap))
		}
		if due.After(now) {
			if next.IsZero() || due.Before(next) {
				next = due
			}
			continue
		}
		msgs = append(msgs, c.replyMail(u))
		c.lastReply[AddressKey(u.email)] = now
		delete(c.pending, id)
	}
	return msgs, next
}

// prune forgets per-address send times that no longer hold anything back.
func (c *Continuity) prune(now time.Time) {
	if now.Sub(c.lastPruning) < time.Minute {
		return
	}
	c.lastPruning = now
	for a, t := range c.lastReply {
		if now.Sub(t) >= c.cfg.MinGap {
			delete(c.lastReply, a)
		}
	}
	for a, t := range c.lastTransc {
		if now.Sub(t) >= c.cfg.TranscriptGap {
			delete(c.lastTransc, a)
		}
	}
}

func (c *Continuity) site() string {
	if c.cfg.SiteName != "" {
		return oneLine(c.cfg.SiteName)
	}
	return "our site"
}

func (c *Continuity) link(page string) string {
	if l := safeLink(page); l != "" {
		return l
	}
	return safeLink(c.cfg.SiteURL)
}

func (c *Continuity) replyMail(u *unread) Message {
	agents := []string{}
	for _, r := range u.replies {
		if a := oneLine(r.Agent); a != "" && !slices.Contains(agents, a) {
			agents = append(agents, a)
		}
	}
	who := "We"
	if len(agents) > 0 {
		who = strings.Join(agents, ", ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n%s replied to your chat on %s:\n\n", oneLine(u.name), who, c.site())
	for _, r := range u.replies {
		quote(&b, "  ", r.Text)
		fmt.Fprintf(&b, "  (%s, %s)\n\n", orDefault(oneLine(r.Agent), "agent"), stamp(r.At, c.cfg.Zone))
	}
	c.footer(&b, u.page)
	b.WriteString("You get this mail because you left this address in the chat.\n")
	return Message{To: []string{u.email}, Subject: subjectPrefix(c.cfg.SiteName) + "New reply to your chat",
		Text: b.String(), ReplyTo: c.cfg.ReplyTo, Kind: "reply"}
}

func (c *Continuity) footer(b *strings.Builder, page string) {
	if l := c.link(page); l != "" {
		fmt.Fprintf(b, "Continue the conversation in the chat on %s\n(the chat opens on the browser you used; this link does not sign you in).\n\n", l)
	}
}

// SendTranscript queues t's conversation to t.Email. It returns
// ErrInvalidAddress (wrapped), ErrTooSoon when that address got one less
// than TranscriptGap ago, ErrQueueFull when the mail was dropped, else nil.
func (c *Continuity) SendTranscript(t Transcript) error {
	email, err := ValidAddress(t.Email)
	if err != nil {
		return err
	}
	now := time.Now()
	c.mu.Lock()
	if last, ok := c.lastTransc[AddressKey(email)]; ok && now.Sub(last) < c.cfg.TranscriptGap {
		c.mu.Unlock()
		return ErrTooSoon
	}
	c.lastTransc[AddressKey(email)] = now
	c.mu.Unlock()

	// Newest messages first into the budget, then written oldest first.
	lines := t.Lines
	size, from := 0, len(lines)
	for from > 0 {
		l := lines[from-1]
		n := len(l.Text) + len(l.Name) + 40
		if size+n > c.cfg.MaxTranscript {
			break
		}
		size += n
		from--
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nhere is your conversation on %s, as you asked.\n\n", oneLine(t.Name), c.site())
	if from > 0 {
		fmt.Fprintf(&b, "(%s left out: the transcript is limited to %d KiB.)\n\n", plural(from, "earlier message", "earlier messages"), c.cfg.MaxTranscript>>10)
	}
	for _, l := range lines[from:] {
		name := oneLine(l.Name)
		if name == "" {
			name = map[bool]string{true: "agent", false: "you"}[l.From == "admin"]
		}
		fmt.Fprintf(&b, "%s - %s:\n", stamp(l.At, c.cfg.Zone), name)
		quote(&b, "  ", l.Text)
		b.WriteString("\n")
	}
	if len(lines) == 0 {
		b.WriteString("(no messages yet)\n\n")
	}
	c.footer(&b, t.Page)
	b.WriteString("You get this mail because it was requested from the chat with this address.\n")
	if !c.mailer.Send(Message{To: []string{email}, Subject: subjectPrefix(c.cfg.SiteName) + "Your chat transcript",
		Text: b.String(), ReplyTo: c.cfg.ReplyTo, Kind: "transcript"}) {
		c.mu.Lock()
		delete(c.lastTransc, email) // nothing was sent: the visitor may ask again
		c.mu.Unlock()
		return ErrQueueFull
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
