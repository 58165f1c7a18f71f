package main

import (
	"flag"
	"net/url"
	"strings"
	"time"

	"github.com/chatd/chatd/notify/mail"
	"github.com/chatd/chatd/notify/webhook"
)

// notifyOpts configures the notification channels (docs/notifications.md):
// SMTP, alert mails to agents, reply mails and transcripts to visitors, Web
// Push and webhooks. Each channel is off until its required option is set.
type notifyOpts struct {
	SMTPHost     string
	SMTPPort     int
	SMTPTLS      string
	SMTPUsername string
	SMTPPassword string
	SMTPAuth     string
	SMTPFrom     string
	SMTPTimeout  time.Duration
	EmailQueue   int

	AlertEmails string
	AlertAfter  time.Duration
	AlertWindow time.Duration
	AlertGrace  time.Duration
	AlertText   bool
	PublicURL   string
	SiteName    string

	VisitorEmail      bool
	VisitorReplyDelay time.Duration
	VisitorReplyGap   time.Duration
	TranscriptGap     time.Duration
	SiteURL           string
	EmailReplyTo      string

	PushSubject string
	PushTTL     time.Duration
	PushGap     time.Duration
	// PushAllowPrivate lifts push's refusal of non-public endpoint addresses.
	PushAllowPrivate bool

	WebhookURLs     string
	WebhookSecret   string
	WebhookEvents   string
	WebhookFormat   string
	WebhookTimeout  time.Duration
	WebhookAttempts int
	WebhookQueue    int
	WebhookLog      int

	// Derived by validateNotify.
	alertTo     []string
	webhookURLs []string
	webhookEvts []string
}

// notifyFlags binds the notification options.
func notifyFlags(fs *flag.FlagSet, o *notifyOpts) {
	fs.StringVar(&o.SMTPHost, "smtp-host", "", "SMTP server for e-mail alerts and visitor mails (empty = no e-mail)")
	fs.IntVar(&o.SMTPPort, "smtp-port", 0, "SMTP port (0 = 587, or 465 with --smtp-tls tls)")
	fs.StringVar(&o.SMTPTLS, "smtp-tls", mail.TLSStartTLS, "SMTP encryption: starttls (required, RFC 3207), tls (from the first byte, RFC 8314), none (a relay on the same host only)")
	fs.StringVar(&o.SMTPUsername, "smtp-username", "", "SMTP AUTH user (empty = no AUTH)")
	fs.StringVar(&o.SMTPPassword, "smtp-password", "", "SMTP AUTH password (secret: CHATD_SMTP_PASSWORD_FILE works)")
	fs.StringVar(&o.SMTPAuth, "smtp-auth", "plain", "SMTP AUTH mechanism: plain, login, cram-md5, scram-sha-256")
	fs.StringVar(&o.SMTPFrom, "smtp-from", "", "sender of chatd's mails, e.g. 'Shop chat <chat@shop.example>' (required with --smtp-host)")
	fs.DurationVar(&o.SMTPTimeout, "smtp-timeout", 30*time.Second, "bound of one SMTP attempt, the whole session")
	fs.IntVar(&o.EmailQueue, "email-queue", 256, "mails waiting to be sent; beyond it new mails are dropped (counted)")

	fs.StringVar(&o.AlertEmails, "alert-emails", "", "comma list of agents' addresses mailed while no agent is online (empty = no alert mails)")
	fs.DurationVar(&o.AlertAfter, "alert-after", 3*time.Minute, "a visitor message unanswered this long while no agent is online is mailed to --alert-emails")
	fs.DurationVar(&o.AlertWindow, "alert-window", 15*time.Minute, "at most one alert mail per recipient per window")
	fs.DurationVar(&o.AlertGrace, "alert-grace", mail.DefaultAlertGrace, "the team counts as offline for alert mails only after no agent was online this long (a portal reload is not leaving)")
	fs.BoolVar(&o.AlertText, "alert-text", true, "quote visitors' last messages in alert mails (false = names and counts only)")
	fs.StringVar(&o.PublicURL, "public-url", "", "chatd's public base URL, e.g. https://chat.shop.example: alert mails link to its portal")
	fs.StringVar(&o.SiteName, "site-name", "", "site name shown in mail subjects and visitor mails")

	fs.BoolVar(&o.VisitorEmail, "visitor-email", true, "mail visitors who left an address: agents' replies they did not read in the widget, and transcripts on request (needs --smtp-host)")
	fs.DurationVar(&o.VisitorReplyDelay, "visitor-email-delay", 2*time.Minute, "how long a reply waits to be read in the widget before it is mailed")
	fs.DurationVar(&o.VisitorReplyGap, "visitor-email-gap", 10*time.Minute, "at most one reply mail per visitor address per gap; replies in between join the next mail")
	fs.DurationVar(&o.TranscriptGap, "transcript-gap", time.Minute, "at most one transcript mail per visitor address per gap")
	fs.StringVar(&o.SiteURL, "site-url", "", "link back to the site in visitor mails when the visitor's page is unknown, e.g. https://shop.example/")
	fs.StringVar(&o.EmailReplyTo, "email-reply-to", "", "Reply-To of visitor mails (chatd reads no mail: a mailbox someone reads)")

	fs.StringVar(&o.PushSubject, "push-subject", "", "contact for push services (RFC 8292), mailto:ops@shop.example or an https URL (empty = no web push)")
	fs.DurationVar(&o.PushTTL, "push-ttl", time.Hour, "how long a push service keeps a notification for an offline browser")
	fs.DurationVar(&o.PushGap, "push-gap", 30*time.Second, "at most one push per conversation per agent device per gap")
	fs.BoolVar(&o.PushAllowPrivate, "push-allow-private", false, "accept agents' push endpoints on addresses that are not public: loopback, private, link-local, shared 100.64.0.0/10 (Tailscale, CGNAT), unspecified, multicast, documentation and other reserved ranges, localhost names (a push service on your own network; off = refused, so an agent cannot aim chatd's requests at internal services; not needed behind HTTPS_PROXY)")

	fs.StringVar(&o.WebhookURLs, "webhook-urls", "", "comma list of http(s) URLs that receive chatd's events (empty = no webhooks)")
	fs.StringVar(&o.WebhookSecret, "webhook-secret", "", "HMAC-SHA256 key of the webhook signature, at least 16 bytes (secret: CHATD_WEBHOOK_SECRET_FILE works)")
	fs.StringVar(&o.WebhookEvents, "webhook-events", webhook.ConversationCreated+","+webhook.MessageCreated, "events sent to the webhooks")
	fs.StringVar(&o.WebhookFormat, "webhook-format", webhook.FormatJSON, "webhook body: json (chatd's event) or slack ({\"text\"} for a Slack incoming webhook)")
	fs.DurationVar(&o.WebhookTimeout, "webhook-timeout", 10*time.Second, "bound of one webhook attempt, from connect to the end of the answer")
	fs.IntVar(&o.WebhookAttempts, "webhook-attempts", 6, "attempts per webhook event (backoff from 2s, doubling)")
	fs.IntVar(&o.WebhookQueue, "webhook-queue", 1000, "events waiting per webhook URL; beyond it new events are dropped (counted)")
	fs.IntVar(&o.WebhookLog, "webhook-log", 100, "webhook deliveries kept in the admins' delivery log")
}

// validateNotify checks the notification options and fills the derived fields.
func (o *notifyOpts) validateNotify(bad func(string, ...any)) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"smtp-timeout", o.SMTPTimeout}, {"alert-after", o.AlertAfter}, {"alert-window", o.AlertWindow}, {"alert-grace", o.AlertGrace},
		{"visitor-email-delay", o.VisitorReplyDelay}, {"visitor-email-gap", o.VisitorReplyGap},
		{"transcript-gap", o.TranscriptGap}, {"push-ttl", o.PushTTL}, {"push-gap", o.PushGap}, {"webhook-timeout", o.WebhookTimeout}} {
		if d.v <= 0 {
			bad("--%s %v: must be positive", d.name, d.v)
		}
	}
	for _, l := range []struct {
		name string
		v    int
	}{{"email-queue", o.EmailQueue}, {"webhook-attempts", o.WebhookAttempts}, {"webhook-queue", o.WebhookQueue}, {"webhook-log", o.WebhookLog}} {
		checkCount(bad, l.name, l.v)
	}
	if o.SMTPHost != "" {
		if _, err := mail.NewSMTP(o.smtpConfig()); err != nil {
			bad("--smtp-*: %v", err)
		}
	} else if o.SMTPFrom != "" || o.SMTPUsername != "" {
		bad("--smtp-from and --smtp-username need --smtp-host")
	}
	o.alertTo = splitList(o.AlertEmails)
	for _, a := range o.alertTo {
		if _, err := mail.ValidAddress(a); err != nil {
			bad("--alert-emails %q: %v", a, err)
		}
	}
	if len(o.alertTo) > 0 && o.SMTPHost == "" {
		bad("--alert-emails needs --smtp-host (and --smtp-from)")
	}
	for _, u := range []struct{ name, v string }{{"public-url", o.PublicURL}, {"site-url", o.SiteURL}} {
		if u.v != "" && !absHTTP(u.v) {
			bad("--%s %q: want an absolute http or https URL", u.name, u.v)
		}
	}
	if o.EmailReplyTo != "" {
		if _, err := mail.ParseAddress(o.EmailReplyTo); err != nil {
			bad("--email-reply-to: %v", err)
		}
	}
	if o.PushSubject != "" && !strings.HasPrefix(o.PushSubject, "mailto:") && !strings.HasPrefix(o.PushSubject, "https://") {
		bad("--push-subject %q: want mailto:you@example.com or an https:// URL (RFC 8292 §2.1)", o.PushSubject)
	}
	o.webhookURLs = splitList(o.WebhookURLs)
	o.webhookEvts = splitList(o.WebhookEvents)
	if len(o.webhookURLs) > 0 {
		if _, err := webhook.New(webhook.Config{Endpoints: o.webhookEndpoints()}); err != nil {
			bad("--webhook-*: %v", err)
		}
	} else if o.WebhookSecret != "" {
		bad("--webhook-secret needs --webhook-urls")
	}
}

func (o *notifyOpts) smtpConfig() mail.SMTPConfig {
	return mail.SMTPConfig{Host: o.SMTPHost, Port: o.SMTPPort, TLS: o.SMTPTLS, Username: o.SMTPUsername,
		Password: o.SMTPPassword, Auth: o.SMTPAuth, From: o.SMTPFrom, Timeout: o.SMTPTimeout}
}

func (o *notifyOpts) webhookEndpoints() []webhook.Endpoint {
	eps := make([]webhook.Endpoint, 0, len(o.webhookURLs))
	for _, u := range o.webhookURLs {
		eps = append(eps, webhook.Endpoint{URL: u, Secret: o.WebhookSecret, Events: o.webhookEvts, Format: o.WebhookFormat})
	}
	return eps
}

// splitList splits a comma list, trimming spaces and dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func absHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// notifyEnabled reports whether any notification channel is configured.
func (o *notifyOpts) notifyEnabled() bool {
	return o.SMTPHost != "" || o.PushSubject != "" || len(o.webhookURLs) > 0
}
