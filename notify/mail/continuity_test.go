package mail

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/notify"
)

func newTestContinuity(t *testing.T, cfg ContinuityConfig, m *Mailer) *Continuity {
	t.Helper()
	if m == nil {
		m = NewMailer(nil, MailerConfig{})
	}
	c, err := NewContinuity(cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func reply(visitor, email string, offset uint64, text string, when time.Time) Reply {
	return Reply{Visitor: visitor, Email: email, Name: "Ann", Offset: offset, Agent: "Alice", Text: text, At: when,
		Page: "https://shop.example/orders/42?session=SECRETSESSION&token=mZ1qTOKEN#chat"}
}

func TestContinuitySchedule(t *testing.T) {
	min := time.Minute
	c := newTestContinuity(t, ContinuityConfig{SiteName: "Example Shop"}, nil)

	// Two replies within the delay make one mail, at first + Delay.
	c.AgentReply(reply("v1", "Ann@Example.COM", 44, "We do ship to Norway.", at(0)))
	c.AgentReply(reply("v1", "ann@example.com", 45, "Delivery takes 3 days.", at(30*time.Second)))
	if msgs, next := c.flush(at(1 * min)); len(msgs) != 0 || !next.Equal(at(2*min)) {
		t.Fatalf("before the delay: %d mails, next %v", len(msgs), next)
	}
	msgs, next := c.flush(at(2 * min))
	if len(msgs) != 1 || !next.IsZero() {
		t.Fatalf("at the delay: %d mails, next %v", len(msgs), next)
	}
	m := msgs[0]
	if m.To[0] != "ann@example.com" || m.Subject != "[Example Shop] New reply to your chat" || m.Kind != "reply" {
		t.Fatalf("mail %+v", m)
	}
	for _, want := range []string{"Hello Ann,", "Alice replied to your chat on Example Shop", "  We do ship to Norway.", "  Delivery takes 3 days.",
		"https://shop.example/orders/42\n", "does not sign you in"} {
		if !strings.Contains(m.Text, want) {
			t.Fatalf("mail lacks %q:\n%s", want, m.Text)
		}
	}
	for _, leak := range []string{"SECRETSESSION", "TOKEN", "#chat", "?"} {
		if strings.Contains(m.Text, leak) {
			t.Fatalf("mail leaks %q from the page URL:\n%s", leak, m.Text)
		}
	}

	// A reply read in the widget before the delay is not mailed; an unread
	// later one still is, but not before MinGap since the last mail to that address.
	c.AgentReply(reply("v1", "ann@example.com", 50, "read this", at(3*min)))
	c.Read("v1", 50)
	if msgs, next := c.flush(at(10 * min)); len(msgs) != 0 || !next.IsZero() {
		t.Fatalf("read reply: %d mails, next %v", len(msgs), next)
	}
	c.AgentReply(reply("v1", "ann@example.com", 51, "unread 1", at(4*min)))
	c.AgentReply(reply("v1", "ann@example.com", 52, "unread 2", at(4*min)))
	c.Read("v1", 51) // only the first was shown
	if msgs, next := c.flush(at(6 * min)); len(msgs) != 0 || !next.Equal(at(12*min)) {
		t.Fatalf("within MinGap: %d mails, next %v", len(msgs), next)
	}
	msgs, _ = c.flush(at(12 * min))
	if len(msgs) != 1 || strings.Contains(msgs[0].Text, "unread 1") || !strings.Contains(msgs[0].Text, "unread 2") {
		t.Fatalf("after MinGap: %+v", msgs)
	}

	// No valid address: nothing is scheduled.
	for _, bad := range []string{"", "not-an-address", "ann@localhost", "Ann <ann@example.com>", "ann@example.com\r\nBcc: x@example.com"} {
		c.AgentReply(reply("v2", bad, 60, "x", at(20*min)))
	}
	if msgs, next := c.flush(at(time.Hour)); len(msgs) != 0 || !next.IsZero() {
		t.Fatalf("invalid addresses: %d mails", len(msgs))
	}
}

func TestContinuityBoundsPendingVisitors(t *testing.T) {
	var counts notify.Counters
	c := newTestContinuity(t, ContinuityConfig{MaxPending: 2}, NewMailer(nil, MailerConfig{Metrics: &counts}))
	for i, v := range []string{"v1", "v2", "v3", "v4"} {
		c.AgentReply(reply(v, v+"@example.com", uint64(i), "x", at(0)))
	}
	c.AgentReply(reply("v1", "v1@example.com", 9, "more for a tracked visitor", at(0)))
	if d := counts.Get(Channel, notify.Dropped); d != 2 {
		t.Fatalf("drops %d, want 2", d)
	}
	if msgs, _ := c.flush(at(time.Hour)); len(msgs) != 2 {
		t.Fatalf("%d mails, want 2", len(msgs))
	}
}

func TestNewContinuityChecksConfig(t *testing.T) {
	for _, cfg := range []ContinuityConfig{{SiteURL: "shop.example"}, {SiteURL: "javascript:x"}, {ReplyTo: "not an address"}} {
		if _, err := NewContinuity(cfg, nil); err == nil {
			t.Errorf("NewContinuity(%+v) accepted", cfg)
		}
	}
}

func TestTranscript(t *testing.T) {
	srv := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: TLSNone})
	s, _ := NewSMTP(smtpConfig(srv, TLSNone))
	m, done, _ := runMailer(t, s, MailerConfig{})
	c := newTestContinuity(t, ContinuityConfig{SiteName: "Example Shop", SiteURL: "https://shop.example/", MaxTranscript: 2048,
		ReplyTo: "support@shop.example"}, m)
	lines := []Line{
		{From: "client", Name: "Ann", Text: "Do you ship to Norway?", At: t0},
		{From: "admin", Name: "Alice", Text: "We do!\nIn 3 days.", At: t0.Add(time.Minute)},
	}
	tr := Transcript{Visitor: "v1", Email: "ann@example.com", Name: "Ann", Page: "javascript:alert(1)", Lines: lines}
	if err := c.SendTranscript(tr); err != nil {
		t.Fatal(err)
	}
	if d := waitDone(t, done); d.err != nil {
		t.Fatal(d.err)
	}
	r := srv.Next(t)
	if r.Rcpt[0] != "ann@example.com" || r.Subject != "[Example Shop] Your chat transcript" || !strings.Contains(r.Header.Get("Reply-To"), "support@shop.example") {
		t.Fatalf("mail to %v %q %v", r.Rcpt, r.Subject, r.Header)
	}
	for _, want := range []string{"2026-11-22 10:00 UTC - Ann:\n  Do you ship to Norway?", "2026-11-22 10:01 UTC - Alice:\n  We do!\n  In 3 days.",
		"https://shop.example/\n"} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("transcript lacks %q:\n%s", want, r.Body)
		}
	}
	if strings.Contains(r.Body, "javascript") {
		t.Fatalf("a non-http page became a link:\n%s", r.Body)
	}

	// The same address again at once: refused; another address: fine.
	if err := c.SendTranscript(tr); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("second transcript: %v", err)
	}
	if err := c.SendTranscript(Transcript{Email: "not an address"}); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("bad address: %v", err)
	}

	// A long conversation keeps the newest messages within MaxTranscript.
	var long []Line
	for i := range 100 {
		long = append(long, Line{From: "client", Name: "Bob", Text: strings.Repeat("x", 50) + string(rune('A'+i%26)), At: t0})
	}
	if err := c.SendTranscript(Transcript{Email: "bob@example.com", Name: "Bob", Lines: long}); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done)
	r = srv.Next(t)
	if len(r.Body) > 2048+1024 || !strings.Contains(r.Body, "earlier messages left out") || !strings.Contains(r.Body, strings.Repeat("x", 50)+"V\n") {
		t.Fatalf("long transcript (%d bytes):\n%s", len(r.Body), r.Body)
	}
	srv.None(t)
}

// TestContinuityOverRealSMTP: a reply to one visitor is read in time and
// never mailed; a reply to another is mailed after the delay, once.
func TestContinuityOverRealSMTP(t *testing.T) {
	srv := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: TLSNone})
	s, _ := NewSMTP(smtpConfig(srv, TLSNone))
	m, done, _ := runMailer(t, s, MailerConfig{})
	c := newTestContinuity(t, ContinuityConfig{Delay: 50 * time.Millisecond, SiteName: "Example Shop"}, m)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	now := time.Now()
	c.AgentReply(reply("reader", "reader@example.com", 10, "you read this one", now))
	c.Read("reader", 10)
	c.AgentReply(reply("away", "away@example.com", 11, "Your order shipped.", now))
	if d := waitDone(t, done); d.err != nil {
		t.Fatal(d.err)
	}
	r := srv.Next(t)
	if len(r.Rcpt) != 1 || r.Rcpt[0] != "away@example.com" || !strings.Contains(r.Body, "Your order shipped.") {
		t.Fatalf("mail to %v:\n%s", r.Rcpt, r.Body)
	}
	c.mu.Lock()
	pending := len(c.pending)
	c.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d visitors still pending after the mail", pending)
	}
	srv.None(t)
}
