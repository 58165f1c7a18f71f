package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/notify"
	"github.com/chatd/chatd/notify/mail"
	"github.com/chatd/chatd/notify/push"
	"github.com/chatd/chatd/notify/webhook"
	"github.com/chatd/chatd/store"
)

// rig is a Dispatcher over a real store, with its channels pointed at real
// receivers on 127.0.0.1. Contact and Online are the test's to set.
type rig struct {
	d     *Dispatcher
	st    *store.Store
	smtp  *notifytest.SMTPServer
	push  *notifytest.PushService
	hook  *notifytest.WebhookReceiver
	subs  *push.DBStore
	ps    *push.Sender
	c     *notify.Counters
	mu    sync.Mutex
	mails map[string]string // visitor -> e-mail
	on    map[string]bool   // visitors online
	seen  map[string]uint64
}

func newRig(t *testing.T, mod func(*Config)) *rig {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// The agent "alice" shows to visitors as "Alice" (its display name).
	if err := st.ReseedAdmins([]store.Admin{{Name: "alice", Display: "Alice", Hash: "x"}}); err != nil {
		t.Fatal(err)
	}
	r := &rig{st: st, c: &notify.Counters{}, mails: map[string]string{}, on: map[string]bool{}, seen: map[string]uint64{},
		smtp: notifytest.NewSMTP(t, notifytest.SMTPOptions{}),
		hook: notifytest.NewWebhookReceiver(t, "dispatch-secret-0123456789")}
	smtp, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: r.smtp.Port, TLS: mail.TLSNone, From: "chat@shop.test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := mail.NewMailer(smtp, mail.MailerConfig{Metrics: r.c})
	alerts, err := mail.NewAlerts(mail.AlertConfig{To: []string{"agent@shop.test"}, After: time.Millisecond, Window: time.Millisecond}, m)
	if err != nil {
		t.Fatal(err)
	}
	replies, err := mail.NewContinuity(mail.ContinuityConfig{Delay: time.Millisecond, MinGap: time.Millisecond, SiteName: "Shop"}, m)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := push.LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	r.push = notifytest.NewPushService(t, notifytest.PushOptions{VAPID: keys.Public})
	if r.subs, err = push.NewDBStore(st.DB()); err != nil {
		t.Fatal(err)
	}
	if r.ps, err = push.New(push.Config{Keys: keys, Subject: "mailto:ops@shop.test", AllowHTTP: true, AllowPrivate: true, Metrics: r.c}, r.subs); err != nil {
		t.Fatal(err)
	}
	wh, err := webhook.New(webhook.Config{Endpoints: []webhook.Endpoint{{URL: r.hook.URL, Secret: "dispatch-secret-0123456789"}}, Metrics: r.c})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, Mailer: m, Alerts: alerts, Replies: replies, ReplyMails: true, ReplyDelay: time.Millisecond,
		Push: r.ps, Webhooks: wh, Metrics: r.c, Logger: zerolog.Nop(),
		Contact: func(v string, _ bool) (Contact, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			return Contact{Email: r.mails[v], Seen: r.seen[v], Page: "https://shop.test/orders?secret=1"}, nil
		},
		Online: func(v string) bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.on[v]
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	r.d = New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.d.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return r
}

// visitor creates a visitor with an e-mail address (or none).
func (r *rig) visitor(t *testing.T, name, email string) string {
	t.Helper()
	v, _, err := r.st.CreateVisitor(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.mails[v.ID] = email
	r.mu.Unlock()
	return v.ID
}

func (r *rig) setOnline(t *testing.T, v string, on bool) {
	r.mu.Lock()
	r.on[v] = on
	r.mu.Unlock()
	r.d.VisitorPresence(v, on)
	r.sync(t)
}

// sync waits until the dispatcher has handled every event reported so far.
func (r *rig) sync(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	r.d.events <- event{kind: evSync, done: done}
	select {
	case <-done:
	case <-time.After(notifytest.Wait):
		t.Fatal("dispatcher did not catch up")
	}
}

// say stores a message and reports it, as the hub does.
func (r *rig) say(t *testing.T, visitor, admin, text string) store.Message {
	t.Helper()
	from := store.FromClient
	if admin != "" {
		from = store.FromAdmin
	}
	m, _, err := r.st.AddMessage(context.Background(), store.NewMessage{Client: visitor, From: from, Admin: admin,
		CID: fmt.Sprintf("cid-%d", time.Now().UnixNano()), Text: text})
	if err != nil {
		t.Fatal(err)
	}
	r.d.MessageStored(m, "")
	r.sync(t)
	return m
}

// mailTo waits for the next mail to addr, skipping mails to others (alerts).
func (r *rig) mailTo(t *testing.T, addr string) notifytest.Mail {
	t.Helper()
	for {
		m := r.smtp.Next(t)
		if len(m.Rcpt) == 1 && m.Rcpt[0] == addr {
			return m
		}
	}
}

func TestReplyToAnOfflineVisitorIsMailed(t *testing.T) {
	r := newRig(t, nil)
	ann := r.visitor(t, "Ann", "ann@example.com")
	r.say(t, ann, "", "where is my order?")
	r.say(t, ann, "alice", "It left yesterday.")
	m := r.mailTo(t, "ann@example.com")
	for _, want := range []string{"Hello Ann", "Alice replied", "It left yesterday.", "https://shop.test/orders\n"} {
		if !strings.Contains(m.Body, want) {
			t.Fatalf("reply mail lacks %q:\n%s", want, m.Body)
		}
	}
	if strings.Contains(m.Body, "secret=1") || strings.Contains(m.Body, "where is my order") || strings.Contains(m.Raw, "alice") {
		t.Fatalf("reply mail holds the page's query, the visitor's own message or the agent's login:\n%s", m.Raw)
	}
}

func TestSeenOrOnlineRepliesAreNotMailed(t *testing.T) {
	r := newRig(t, func(c *Config) { c.ReplyDelay = time.Hour })
	bob := r.visitor(t, "Bob", "bob@example.com")
	// Online when the agent replies: not mailed (he sees it in the widget).
	r.setOnline(t, bob, true)
	r.say(t, bob, "alice", "first reply, seen live")
	// Offline, but the visitor has seen it (its seen offset is already
	// there when the reply is handled): not mailed.
	r.setOnline(t, bob, false)
	r.mu.Lock()
	r.seen[bob] = r.st.LastOffset() + 1
	r.mu.Unlock()
	r.say(t, bob, "alice", "second reply, already seen")
	// A visitor without an address: nothing to mail.
	eve := r.visitor(t, "Eve", "")
	r.say(t, eve, "alice", "no address")
	// The barrier: an unseen reply to Bob is mailed, alone.
	r.mu.Lock()
	r.seen[bob] = 0
	r.mu.Unlock()
	r.say(t, bob, "alice", "third reply")
	m := r.mailTo(t, "bob@example.com")
	if !strings.Contains(m.Body, "third reply") || strings.Contains(m.Body, "first reply") || strings.Contains(m.Body, "second reply") {
		t.Fatalf("mail to Bob:\n%s", m.Body)
	}
	r.smtp.None(t)
}

func TestVisitorLeavingWithUnreadRepliesGetsThem(t *testing.T) {
	r := newRig(t, nil)
	cat := r.visitor(t, "Cat", "cat@example.com")
	r.setOnline(t, cat, true)
	r.say(t, cat, "alice", "reply while you were here")
	r.say(t, cat, "alice", "and another")
	r.setOnline(t, cat, false) // left without reading: mailed after ReplyDelay
	m := r.mailTo(t, "cat@example.com")
	if !strings.Contains(m.Body, "reply while you were here") || !strings.Contains(m.Body, "and another") {
		t.Fatalf("mail to Cat:\n%s", m.Body)
	}
	// Coming and going again does not mail the same replies twice.
	r.setOnline(t, cat, true)
	r.setOnline(t, cat, false)
	r.say(t, cat, "alice", "a new one")
	if m := r.mailTo(t, "cat@example.com"); strings.Contains(m.Body, "and another") || !strings.Contains(m.Body, "a new one") {
		t.Fatalf("second mail to Cat:\n%s", m.Body)
	}
}

func TestConversationCreatedOnTheVisitorsFirstMessage(t *testing.T) {
	r := newRig(t, nil)
	b := notifytest.NewBrowser(t, "b")
	if _, err := r.ps.Subscribe(context.Background(), "alice", b.Subscription(r.push.Add(b))); err != nil {
		t.Fatal(err)
	}
	dan := r.visitor(t, "Dan", "")
	r.say(t, dan, "alice", "Hello Dan, can I help?") // an agent writes first
	first := r.say(t, dan, "", "yes please")
	var events []string
	for range 3 { // message.created (agent), conversation.created, message.created
		h := r.hook.Next(t)
		events = append(events, h.Event)
	}
	if fmt.Sprint(events) != "[message.created conversation.created message.created]" {
		t.Fatalf("webhook events %v", events)
	}
	var n push.Notification
	if p := r.push.Next(t); json.Unmarshal(p.Plain, &n) != nil || n.Type != push.ConversationCreated || n.Offset != first.Offset {
		t.Fatalf("push %s", p.Plain)
	}
}

func TestPushOnlyToCurrentAgents(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Agents = func() ([]string, error) { return []string{"alice"}, nil } })
	for _, admin := range []string{"alice", "gone-agent"} {
		b := notifytest.NewBrowser(t, admin)
		if _, err := r.ps.Subscribe(context.Background(), admin, b.Subscription(r.push.Add(b))); err != nil {
			t.Fatal(err)
		}
	}
	v := r.visitor(t, "Eli", "")
	r.say(t, v, "", "hi")
	if p := r.push.Next(t); p.Browser != "alice" {
		t.Fatalf("pushed to %s", p.Browser)
	}
	v2 := r.visitor(t, "Fay", "")
	r.say(t, v2, "", "hi")
	if p := r.push.Next(t); p.Browser != "alice" {
		t.Fatalf("pushed to %s: an agent no longer in the admins file", p.Browser)
	}
}

func TestHubCallsNeverBlock(t *testing.T) {
	// Not running: nothing drains the queue. Every call returns; the
	// overflow is counted, and the agents count is kept, not queued.
	c := &notify.Counters{}
	d := New(Config{QueueSize: 2, Metrics: c, Logger: zerolog.Nop()})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 {
			d.MessageStored(store.Message{Offset: uint64(i + 1)}, "")
			d.VisitorPresence("v", i%2 == 0)
			d.VisitorSeen("v", uint64(i))
			d.AgentsOnline(i)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a hub call blocked on a full queue")
	}
	if got := c.Get(Channel, notify.Dropped); got != 28 {
		t.Fatalf("dropped %d events, want 28 (30 sent, 2 queued)", got)
	}
	if a := d.online.Load(); a == nil || a.n != 9 {
		t.Fatalf("agents online %+v, want the latest count 9", a)
	}
}
