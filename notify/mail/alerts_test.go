package mail

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/notifytest"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// newTestAlerts returns Alerts whose flush the test drives with explicit times.
func newTestAlerts(t *testing.T, cfg AlertConfig) *Alerts {
	t.Helper()
	if cfg.To == nil {
		cfg.To = []string{"alice@example.com", "bob@example.com"}
	}
	a, err := NewAlerts(cfg, NewMailer(nil, MailerConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAlertsSchedule(t *testing.T) {
	min := time.Minute
	type step struct {
		do      func(a *Alerts)
		flushAt time.Duration
		mails   int           // digests per recipient expected from this flush (0 or 1)
		names   []string      // visitors listed
		next    time.Duration // -1: no timer
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"new conversation is mailed at once, its message after After", []step{
			{func(a *Alerts) { a.NewConversation("v1", "Ann", at(0)); a.VisitorMessage("v1", "Ann", "hi", at(0)) }, 0, 1, []string{"Ann"}, -1},
			// Due at 4m, but the window is closed until 15m: the scheduler sleeps until then.
			{func(a *Alerts) { a.VisitorMessage("v1", "Ann", "hello?", at(1*min)) }, 1 * min, 0, nil, 15 * min},
			{nil, 4 * min, 0, nil, 15 * min},
			{nil, 15 * min, 1, []string{"Ann"}, -1},
		}},
		{"many messages, one digest per window", []step{
			{func(a *Alerts) {
				for i := range 50 {
					a.VisitorMessage("v1", "Ann", "msg", at(time.Duration(i)*time.Second))
					a.VisitorMessage("v2", "Bob", "msg", at(time.Duration(i)*time.Second))
				}
			}, 1 * min, 0, nil, 3 * min},
			{nil, 3 * min, 1, []string{"Ann", "Bob"}, -1},
		}},
		{"an answer cancels the alert", []step{
			{func(a *Alerts) {
				a.VisitorMessage("v1", "Ann", "hi", at(0))
				a.VisitorMessage("v2", "Bob", "hi", at(0))
			}, 0, 0, nil, 3 * min},
			{func(a *Alerts) { a.Answered("v1") }, 3 * min, 1, []string{"Bob"}, -1},
		}},
		{"nothing while an agent is online; the clock restarts when the last leaves", []step{
			{func(a *Alerts) {
				a.AgentsOnline(1, at(0))
				a.NewConversation("v1", "Ann", at(0))
				a.VisitorMessage("v1", "Ann", "hi", at(0))
			}, 10 * min, 0, nil, -1},
			{func(a *Alerts) { a.AgentsOnline(0, at(10*min)) }, 10 * min, 0, nil, 13 * min},
			{nil, 13 * min, 1, []string{"Ann"}, -1},
		}},
		{"an agent coming online holds back a due digest", []step{
			{func(a *Alerts) { a.VisitorMessage("v1", "Ann", "hi", at(0)) }, 0, 0, nil, 3 * min},
			{func(a *Alerts) { a.AgentsOnline(2, at(2*min)) }, 3 * min, 0, nil, -1},
		}},
		{"bounded tracking reports the overflow", []step{
			{func(a *Alerts) {
				a.VisitorMessage("v1", "Ann", "hi", at(0))
				a.VisitorMessage("v2", "Bob", "hi", at(0))
				a.VisitorMessage("v3", "Cy", "hi", at(0))
			}, 3 * min, 1, []string{"Ann", "Bob"}, -1},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAlerts(t, AlertConfig{MaxConversations: 2, PortalURL: "https://chat.example.com/portal/?x=1"})
			for i, s := range tc.steps {
				if s.do != nil {
					s.do(a)
				}
				msgs, next := a.flush(at(s.flushAt))
				if len(msgs) != 2*s.mails {
					t.Fatalf("step %d: %d mails, want %d per recipient", i, len(msgs), s.mails)
				}
				if s.next < 0 && !next.IsZero() || s.next >= 0 && !next.Equal(at(s.next)) {
					t.Fatalf("step %d: next %v, want %v", i, next, s.next)
				}
				if s.mails == 0 {
					continue
				}
				if msgs[0].To[0] != "alice@example.com" || msgs[1].To[0] != "bob@example.com" || msgs[0].Text != msgs[1].Text {
					t.Fatalf("step %d: recipients %v %v", i, msgs[0].To, msgs[1].To)
				}
				for _, n := range s.names {
					if !strings.Contains(msgs[0].Subject, n) || !strings.Contains(msgs[0].Text, n+" - ") {
						t.Fatalf("step %d: %q missing in %q\n%s", i, n, msgs[0].Subject, msgs[0].Text)
					}
				}
				if tc.name == "bounded tracking reports the overflow" && !strings.Contains(msgs[0].Text, "And 1 conversation more") {
					t.Fatalf("overflow not reported:\n%s", msgs[0].Text)
				}
				if strings.Contains(msgs[0].Text, "x=1") || !strings.Contains(msgs[0].Text, "https://chat.example.com/portal/#visitor=") {
					t.Fatalf("portal link:\n%s", msgs[0].Text)
				}
			}
		})
	}
}

func TestAlertsHideTextAndPreviewBounds(t *testing.T) {
	a := newTestAlerts(t, AlertConfig{HideText: true})
	a.VisitorMessage("v1", "Ann", "my card number is 4111", at(0))
	msgs, _ := a.flush(at(time.Hour))
	if len(msgs) != 2 || strings.Contains(msgs[0].Text, "4111") {
		t.Fatalf("HideText leaked text:\n%s", msgs[0].Text)
	}
	a = newTestAlerts(t, AlertConfig{})
	for i := range 10 {
		a.VisitorMessage("v1", "Ann", strings.Repeat(string(rune('a'+i)), 1000), at(0))
	}
	msgs, _ = a.flush(at(time.Hour))
	body := msgs[0].Text
	if strings.Count(body, "  > ") != 3 || strings.Contains(body, strings.Repeat("a", 10)) || !strings.Contains(body, strings.Repeat("j", 290)+"…") ||
		strings.Contains(body, strings.Repeat("j", 300)) || !strings.Contains(body, "10 unanswered messages") {
		t.Fatalf("previews: want the newest 3, each cut at 300 bytes, and the count:\n%s", body)
	}
}

func TestNewAlertsChecksRecipients(t *testing.T) {
	if _, err := NewAlerts(AlertConfig{}, nil); err == nil {
		t.Fatal("no recipients accepted")
	}
	if _, err := NewAlerts(AlertConfig{To: []string{"ok@example.com", "Bob <b@example.com>"}}, nil); err == nil ||
		!strings.Contains(err.Error(), "recipient 2") {
		t.Fatalf("bad recipient: %v", err)
	}
	if _, err := NewAlerts(AlertConfig{To: []string{"a@example.com"}, PortalURL: "chat.example.com/portal"}, nil); err == nil {
		t.Fatal("a relative portal URL accepted")
	}
}

// TestAlertsOverRealSMTP: two visitors write seven messages while no agent is
// online; each agent gets exactly one digest naming both, with previews, and
// nothing else.
func TestAlertsOverRealSMTP(t *testing.T) {
	srv := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: TLSNone})
	s, _ := NewSMTP(smtpConfig(srv, TLSNone))
	m, done, _ := runMailer(t, s, MailerConfig{})
	a, err := NewAlerts(AlertConfig{To: []string{"alice@example.com", "bob@example.com"}, After: 30 * time.Millisecond,
		Window: time.Hour, Grace: time.Millisecond, SiteName: "Example Shop", PortalURL: "https://chat.example.com/portal/"}, m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	now := time.Now()
	for i, text := range []string{"Do you ship to Norway?", "hello?", "anyone?", "ok", "please", "still here", "bye"} {
		id, name := "9f2c1a7e5b3d4c21", "Ann"
		if i%2 == 1 {
			id, name = "0a1b2c3d4e5f6071", "Bob"
		}
		a.VisitorMessage(id, name, text, now)
	}
	var got []notifytest.Mail
	for range 2 {
		if d := waitDone(t, done); d.err != nil {
			t.Fatal(d.err)
		}
		got = append(got, srv.Next(t))
	}
	srv.None(t)
	rcpts := map[string]bool{}
	for _, r := range got {
		rcpts[r.Rcpt[0]] = len(r.Rcpt) == 1
		if r.Subject != "[Example Shop] 2 visitors waiting: Ann, Bob" && r.Subject != "[Example Shop] 2 visitors waiting: Bob, Ann" {
			t.Fatalf("subject %q", r.Subject)
		}
		for _, want := range []string{"Ann - 4 unanswered messages", "Bob - 3 unanswered messages", "  > bye", "  > still here",
			"https://chat.example.com/portal/#visitor=9f2c1a7e5b3d4c21", "no agent is online"} {
			if !strings.Contains(r.Body, want) {
				t.Fatalf("digest lacks %q:\n%s", want, r.Body)
			}
		}
	}
	if !rcpts["alice@example.com"] || !rcpts["bob@example.com"] {
		t.Fatalf("recipients %v", rcpts)
	}
}

func TestAlertsMessageReportsANewConversationWithItsText(t *testing.T) {
	a := newTestAlerts(t, AlertConfig{})
	a.Message("v1", "Ann", "Do you ship to Norway?", at(0), true)
	msgs, _ := a.flush(at(0))
	if len(msgs) != 2 || !strings.Contains(msgs[0].Text, "new conversation since") ||
		!strings.Contains(msgs[0].Text, "> Do you ship to Norway?") || !strings.Contains(msgs[0].Text, "1 unanswered message") {
		t.Fatalf("digest %+v", msgs)
	}
	// A later message is not a new conversation.
	a.Message("v1", "Ann", "hello?", at(20*time.Minute), false)
	msgs, _ = a.flush(at(23 * time.Minute))
	if len(msgs) != 2 || strings.Contains(msgs[0].Text, "new conversation") || !strings.Contains(msgs[0].Text, "> hello?") {
		t.Fatalf("second digest %+v", msgs)
	}
}
