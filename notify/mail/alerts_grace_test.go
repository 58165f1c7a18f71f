package mail

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/notifytest"
)

// TestAlertsReloadIsNotLeaving: a portal reload (the agent's socket closes,
// a new one opens 0.3 s later) neither mails the conversations the agent had
// on screen as new, nor starts the offline clock; a conversation is new only
// if it started after the team went offline, and the team is offline only
// once Grace has passed with no agent.
func TestAlertsReloadIsNotLeaving(t *testing.T) {
	min, ms := time.Minute, time.Millisecond
	type flush struct {
		do    func(a *Alerts) // first, if any
		at    time.Duration
		names []string // listed (nil: no mail)
		isNew []string // of them, listed as a new conversation
		next  time.Duration
	}
	sec := time.Second
	for _, tc := range []struct {
		name  string
		flush []flush
	}{
		{"seen, then a reload, then the agent leaves for good", []flush{
			{func(a *Alerts) { a.Message("v1", "Ann", "hi", at(0), true); a.AgentsOnline(1, at(ms)) }, ms, nil, nil, -1},
			{func(a *Alerts) { a.AgentsOnline(0, at(5*min)) }, 5*min + 100*ms, nil, nil, 8 * min},
			{func(a *Alerts) { a.AgentsOnline(1, at(5*min+300*ms)) }, 5*min + 300*ms, nil, nil, -1},
			{func(a *Alerts) { a.AgentsOnline(0, at(10*min)) }, 10 * min, nil, nil, 13 * min},
			{nil, 13 * min, []string{"Ann"}, nil, -1},
		}},
		{"a conversation started during the reload is on the agent's screen", []flush{
			{func(a *Alerts) { a.AgentsOnline(1, at(0)); a.AgentsOnline(0, at(1*min)) }, 1 * min, nil, nil, -1},
			{func(a *Alerts) { a.Message("v2", "Bob", "hello", at(1*min+100*ms), true) }, 1*min + 100*ms, nil, nil, 1*min + 30*sec},
			{func(a *Alerts) { a.AgentsOnline(1, at(1*min+300*ms)) }, 1*min + 300*ms, nil, nil, -1},
			{func(a *Alerts) { a.AgentsOnline(0, at(2*min)) }, 2 * min, nil, nil, 5 * min},
			{nil, 5 * min, []string{"Bob"}, nil, -1},
		}},
		{"new while offline: mailed once the grace ran out, and as new", []flush{
			{func(a *Alerts) { a.AgentsOnline(1, at(0)); a.AgentsOnline(0, at(0)) }, 0, nil, nil, -1},
			{func(a *Alerts) { a.Message("v3", "Cy", "anyone?", at(10*sec), true) }, 10 * sec, nil, nil, 30 * sec},
			{nil, 30 * sec, []string{"Cy"}, []string{"Cy"}, -1},
		}},
		{"an agent back within the grace holds back a new conversation", []flush{
			{func(a *Alerts) { a.AgentsOnline(1, at(0)); a.AgentsOnline(0, at(0)) }, 0, nil, nil, -1},
			{func(a *Alerts) { a.NewConversation("v4", "Di", at(sec)) }, sec, nil, nil, 30 * sec},
			{func(a *Alerts) { a.AgentsOnline(1, at(20*sec)) }, 20 * sec, nil, nil, -1},
			{func(a *Alerts) { a.AgentsOnline(0, at(40*sec)) }, 40 * sec, nil, nil, -1}, // nothing unanswered, no longer new
			{nil, time.Hour, nil, nil, -1},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAlerts(t, AlertConfig{})
			for i, f := range tc.flush {
				if f.do != nil {
					f.do(a)
				}
				msgs, next := a.flush(at(f.at))
				if f.names == nil && len(msgs) > 0 {
					t.Fatalf("flush %d at %v: unexpected digest:\n%s", i, f.at, msgs[0].Text)
				}
				if f.names != nil {
					if len(msgs) != 2 {
						t.Fatalf("flush %d at %v: %d mails, want one per recipient", i, f.at, len(msgs))
					}
					for _, n := range f.names {
						if !strings.Contains(msgs[0].Text, n+" - ") {
							t.Fatalf("flush %d: %s missing:\n%s", i, n, msgs[0].Text)
						}
					}
					if got := strings.Count(msgs[0].Text, "new conversation since"); got != len(f.isNew) {
						t.Fatalf("flush %d: %d listed as new, want %v:\n%s", i, got, f.isNew, msgs[0].Text)
					}
				}
				if f.next < 0 && !next.IsZero() || f.next >= 0 && !next.Equal(at(f.next)) {
					t.Fatalf("flush %d at %v: next %v, want %v", i, f.at, next, f.next)
				}
			}
		})
	}
}

// TestAlertsGraceAtStartOverRealSMTP: Run starts the offline clock, so the
// agents' portals get Grace to come back after a restart; a conversation
// started then, and seen by an agent, is not mailed when the agent reloads;
// when the agent leaves for good it is mailed as waiting, not as new.
func TestAlertsGraceAtStartOverRealSMTP(t *testing.T) {
	srv := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: TLSNone})
	s, _ := NewSMTP(smtpConfig(srv, TLSNone))
	m, done, _ := runMailer(t, s, MailerConfig{})
	a, err := NewAlerts(AlertConfig{To: []string{"alice@example.com"}, After: time.Millisecond, Window: time.Millisecond,
		Grace: 400 * time.Millisecond}, m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	a.Message("9f2c1a7e5b3d4c21", "Ann", "Do you ship to Norway?", time.Now(), true)
	a.AgentsOnline(1, time.Now()) // within the grace: the agent sees it
	a.AgentsOnline(0, time.Now()) // reload
	a.AgentsOnline(1, time.Now())
	a.AgentsOnline(0, time.Now()) // gone for good
	left := time.Now()
	if d := waitDone(t, done); d.err != nil {
		t.Fatal(d.err)
	}
	got := srv.Next(t)
	if time.Since(left) < 400*time.Millisecond {
		t.Fatalf("mailed before the grace ran out")
	}
	if strings.Contains(got.Body, "new conversation") || !strings.Contains(got.Body, "Ann - 1 unanswered message") {
		t.Fatalf("digest after the agent left:\n%s", got.Body)
	}
	srv.None(t)
}
