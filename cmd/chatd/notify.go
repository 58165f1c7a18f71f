package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/notify"
	"github.com/chatd/chatd/notify/dispatch"
	"github.com/chatd/chatd/notify/mail"
	"github.com/chatd/chatd/notify/push"
	"github.com/chatd/chatd/notify/webhook"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/store"
)

// notifyChannels are the metrics labels of chatd_notify_total.
var notifyChannels = []string{mail.Channel, push.Channel, webhook.Channel, dispatch.Channel}

// notifications is the notification layer built from the options: the
// dispatcher the hub reports to and what the HTTP API and the hub use
// directly. Every field is nil when its channel is off.
type notifications struct {
	d        *dispatch.Dispatcher
	push     *push.Sender
	webhooks *webhook.Notifier
	visitors *mail.Continuity // transcripts (and reply mails through d)
}

// notifyStore is what the notifications read: *store.Store or *cluster.Store.
type notifyStore interface {
	dispatch.Store
	Profile(id string) (store.Profile, error)
	Page(id string) (current store.PageView, trail []store.PageView, err error)
	Admins() ([]store.Admin, error)
	Conversation(id string) (store.Conversation, error)
}

// buildNotifications makes the configured channels over st. online tells
// whether a visitor has an open widget, connected whether an agent has an
// open portal (the hub, built later). Nothing is sent before run.
func (c *config) buildNotifications(st notifyStore, subsOf func() (push.Store, error), online, connected func(string) bool, metrics notify.Metrics, log zerolog.Logger) (*notifications, error) {
	n := &notifications{}
	if !c.notifyEnabled() {
		return n, nil
	}
	lg := log.With().Str("component", "notify").Logger()
	dc := dispatch.Config{
		Store: st, Contact: contactOf(st), Online: online, Agents: agentsOf(st, connected),
		ReplyDelay: c.VisitorReplyDelay, Metrics: metrics, Logger: log,
	}
	if c.SMTPHost != "" {
		smtp, err := mail.NewSMTP(c.smtpConfig())
		if err != nil {
			return nil, err
		}
		dc.Mailer = mail.NewMailer(smtp, mail.MailerConfig{QueueSize: c.EmailQueue, Metrics: metrics, Logger: lg,
			OnDone: func(m mail.Message, attempts int, err error) {
				if err == nil {
					lg.Debug().Str("kind", m.Kind).Int("attempts", attempts).Msg("mail sent")
				}
			}})
		// Times in mails are in the business hours' zone (UTC by default),
		// named in the text; --hours-tz was checked at start.
		zone, err := time.LoadLocation(c.HoursTZ)
		if err != nil {
			return nil, fmt.Errorf("--hours-tz %q: %w", c.HoursTZ, err)
		}
		if len(c.alertTo) > 0 {
			portal := ""
			if c.PublicURL != "" {
				portal = strings.TrimRight(c.PublicURL, "/") + "/portal/"
			}
			if dc.Alerts, err = mail.NewAlerts(mail.AlertConfig{To: c.alertTo, After: c.AlertAfter, Window: c.AlertWindow, Grace: c.AlertGrace,
				PortalURL: portal, SiteName: c.SiteName, HideText: !c.AlertText, Zone: zone}, dc.Mailer); err != nil {
				return nil, err
			}
		}
		if c.VisitorEmail {
			if n.visitors, err = mail.NewContinuity(mail.ContinuityConfig{Delay: c.VisitorReplyDelay, MinGap: c.VisitorReplyGap,
				TranscriptGap: c.TranscriptGap, SiteName: c.SiteName, SiteURL: c.SiteURL, ReplyTo: c.EmailReplyTo, Zone: zone}, dc.Mailer); err != nil {
				return nil, err
			}
			dc.Replies, dc.ReplyMails = n.visitors, true
		}
	}
	if c.PushSubject != "" {
		keys, err := push.LoadOrCreateKeys(c.Data)
		if err != nil {
			return nil, err
		}
		subs, err := subsOf()
		if err != nil {
			return nil, err
		}
		if n.push, err = push.New(push.Config{Keys: keys, Subject: c.PushSubject, TTL: c.PushTTL, MinGap: c.PushGap,
			AllowPrivate: c.PushAllowPrivate, Metrics: metrics, Logger: lg}, subs); err != nil {
			return nil, err
		}
		dc.Push, dc.PushGap = n.push, c.PushGap
	}
	if len(c.webhookURLs) > 0 {
		var err error
		if n.webhooks, err = webhook.New(webhook.Config{Endpoints: c.webhookEndpoints(), Timeout: c.WebhookTimeout,
			Backoff:   notify.Backoff{Attempts: c.WebhookAttempts, Initial: 2 * time.Second, Max: 5 * time.Minute},
			QueueSize: c.WebhookQueue, LogSize: c.WebhookLog, Metrics: metrics, Logger: lg}); err != nil {
			return nil, err
		}
		dc.Webhooks = n.webhooks
	}
	n.d = dispatch.New(dc)
	lg.Info().Bool("email", c.SMTPHost != "").Int("alert_recipients", len(c.alertTo)).Bool("visitor_replies", c.SMTPHost != "" && c.VisitorEmail).
		Bool("push", n.push != nil).Int("webhooks", len(c.webhookURLs)).Msg("notifications enabled")
	return n, nil
}

// run runs the channels until ctx ends and closes done once they stopped.
func (n *notifications) run(ctx context.Context) (done <-chan struct{}) {
	ch := make(chan struct{})
	if n.d == nil {
		close(ch)
		return ch
	}
	go func() {
		defer close(ch)
		n.d.Run(ctx)
	}()
	return ch
}

// notifyMetrics is chatd_notify_total, or nothing with --metrics=false.
func notifyMetrics(c config, m *server.Metrics) notify.Metrics {
	if !c.Metrics {
		return notify.Nop{}
	}
	return m.NotifyCounter(notifyChannels...)
}

// observer is the hub's Observer: nil (a true nil interface) when nothing
// is configured, so the hub does no notification work at all.
func (n *notifications) observer() hub.Observer {
	if n.d == nil {
		return nil
	}
	return n.d
}

// visitorMail is the hub's Mailer (transcripts, seen offsets): nil (a true
// nil interface) without mail to visitors, so the hub refuses transcripts.
func (n *notifications) visitorMail() hub.Mailer {
	if n.visitors == nil {
		return nil
	}
	return visitorMail{c: n.visitors, d: n.d}
}

// visitorMail hands the hub's transcripts to notify/mail and its seen
// offsets to the dispatcher (which then mails no reply the visitor saw).
type visitorMail struct {
	c *mail.Continuity
	d *dispatch.Dispatcher
}

// Transcript implements hub.Mailer.
func (m visitorMail) Transcript(t hub.Transcript) error {
	lines := make([]mail.Line, 0, len(t.Lines))
	for _, l := range t.Lines {
		lines = append(lines, mail.Line{From: l.From, Name: l.Name, Text: l.Text, At: l.At})
	}
	err := m.c.SendTranscript(mail.Transcript{Visitor: t.Visitor, Email: t.Email, Name: t.Name, Page: t.Page, Lines: lines})
	if errors.Is(err, mail.ErrTooSoon) {
		return fmt.Errorf("%w", hub.ErrMailTooSoon)
	}
	return err
}

// Seen implements hub.Mailer.
func (m visitorMail) Seen(visitor string, offset uint64) { m.d.VisitorSeen(visitor, offset) }

// pushAPI and webhookLog are the server's views, nil when off.
func (n *notifications) pushAPI() server.Push {
	if n.push == nil {
		return nil
	}
	return n.push
}

func (n *notifications) webhookLog() server.Webhooks {
	if n.webhooks == nil {
		return nil
	}
	return n.webhooks
}

// contactOf reads how a visitor can be reached: the address of its
// profile, the offset its conversation was seen up to (visitor_seen, kept
// in memory by the store's inbox index) and, with page, its current page.
func contactOf(st notifyStore) func(string, bool) (dispatch.Contact, error) {
	return func(id string, page bool) (dispatch.Contact, error) {
		var c dispatch.Contact
		p, err := st.Profile(id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return c, fmt.Errorf("read profile of %s: %w", id, err)
		}
		c.Email = p.Email
		if conv, err := st.Conversation(id); err == nil {
			c.Seen = conv.VisitorSeen
		}
		if !page {
			return c, nil
		}
		cur, _, err := st.Page(id)
		switch {
		case err == nil:
			c.Page = cur.URL
		case !errors.Is(err, store.ErrNotFound):
			return c, fmt.Errorf("read page of %s: %w", id, err)
		}
		return c, nil
	}
}

// agentsOf lists the agents to push to: the admins in the store (the
// admins file applied, so a removed agent's browsers get nothing) without
// an open portal (connected tells; an open portal shows its own desktop
// notifications).
func agentsOf(st notifyStore, connected func(string) bool) func() ([]string, error) {
	return func() ([]string, error) {
		admins, err := st.Admins()
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(admins))
		for _, a := range admins {
			if !connected(a.Name) {
				names = append(names, a.Name)
			}
		}
		return names, nil
	}
}
