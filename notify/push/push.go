// Package push sends Web Push notifications to agents' browsers (RFC 8030
// protocol, RFC 8291 aes128gcm payload encryption, RFC 8292 VAPID), through
// github.com/SherClockHolmes/webpush-go, so an agent is told of a new
// conversation or message with the portal closed. Keys are made once and
// kept in the data directory (LoadOrCreateKeys); subscriptions live in a
// Store. Notify never blocks: deliveries go through a bounded queue with
// retries; a subscription the push service reports gone (404, 410) is removed.
package push

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
	"github.com/rs/zerolog"

	"github.com/chatd/chatd/internal/jsontext"
	"github.com/chatd/chatd/notify"
)

// Channel is the metrics label of this package.
const Channel = "push"

// Notification types.
const (
	ConversationCreated = "conversation.created"
	MessageCreated      = "message.created"
)

// Subscription is a browser's PushSubscription (W3C Push API), owned by an admin.
type Subscription struct {
	ID       string    `json:"id"` // SubscriptionID(Endpoint)
	Admin    string    `json:"admin"`
	Endpoint string    `json:"endpoint"`
	Keys     SubKeys   `json:"keys"`
	Created  time.Time `json:"created"`
}

// SubKeys are the subscription's keys as PushSubscription.toJSON() gives
// them: p256dh (the browser's P-256 public key, 65 bytes) and auth (16
// bytes), base64url.
type SubKeys struct {
	P256dh string `json:"p256dh"`
	Auth   string `json:"auth"`
}

// Notification is what an agent's service worker receives, as JSON, after
// decryption. It never holds a visitor's token.
type Notification struct {
	Type    string    `json:"type"` // ConversationCreated or MessageCreated
	Visitor string    `json:"visitor"`
	Name    string    `json:"name"`
	Text    string    `json:"text,omitempty"`   // a preview, at most 200 bytes
	Offset  uint64    `json:"offset,omitempty"` // the message's offset
	URL     string    `json:"url"`              // where a click leads: "/portal/#visitor=<id>"
	At      time.Time `json:"at"`
}

// previewBytes bounds Notification.Text (the payload must fit in one
// 4096-byte record, RFC 8291 §4).
const previewBytes = 200

// Config configures a Sender. Zero values take the defaults given.
type Config struct {
	Keys Keys
	// Subject identifies the operator to push services (RFC 8292 §2.1):
	// "mailto:ops@example.com" or an https URL. Required.
	Subject string
	// TTL is how long a push service keeps a notification for an offline
	// browser (RFC 8030 §5.2; default 1h).
	TTL time.Duration
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration
	// Backoff bounds retries (default 4 attempts, 2s doubling to 1m).
	Backoff notify.Backoff
	// QueueSize is the number of pushes waiting (default 1000); Workers send
	// concurrently (default 4).
	QueueSize, Workers int
	// MinGap is the least time between two pushes about one conversation to
	// one subscription (default 30s): a visitor typing ten lines makes one
	// notification, not ten.
	MinGap time.Duration
	// MaxPerAdmin bounds the subscriptions (browsers) of one admin (default
	// 10): subscribing one more removes the oldest.
	MaxPerAdmin int
	// PortalPath is the portal's path for Notification.URL (default "/portal/").
	PortalPath string
	// AllowHTTP accepts http:// endpoints (tests on 127.0.0.1); real push
	// services are https.
	AllowHTTP bool
	// AllowPrivate accepts endpoints on addresses that are not public:
	// loopback, private (RFC 1918, RFC 4193), link-local, shared (RFC 6598,
	// 100.64.0.0/10, as Tailscale uses), unspecified, multicast,
	// documentation, benchmarking and other reserved ranges (publicAddr), and
	// localhost names: a push service on the operator's own network, tests
	// on 127.0.0.1. Off, such endpoints are refused when subscribing and
	// before or while connecting (endpoint.go); a refused push is counted
	// notify.Refused and not retried.
	AllowPrivate bool
	Metrics      notify.Metrics
	Logger       zerolog.Logger
	// Proxy chooses each request's proxy, as http.Transport.Proxy does
	// (default http.ProxyFromEnvironment: HTTPS_PROXY, HTTP_PROXY and
	// NO_PROXY, read once). Without AllowPrivate, a proxied request has its
	// endpoint checked before it is sent rather than at the dial (endpoint.go).
	// Unused when Transport is set.
	Proxy func(*http.Request) (*url.URL, error)
	// Transport sends the requests (default: a clone of http.DefaultTransport
	// that, without AllowPrivate, reaches public endpoints only).
	Transport http.RoundTripper
	// OnDone, optional, is told how each push ended. Must not block.
	OnDone func(sub Subscription, n Notification, attempts int, err error)

	resolve Resolver // tests' stand-in for DNS (default net.DefaultResolver)
}

// Sender pushes notifications to stored subscriptions. Safe for concurrent use.
type Sender struct {
	cfg    Config
	store  Store
	q      *notify.Queue[job]
	client *http.Client
	lg     zerolog.Logger
	keys   atomic.Pointer[Keys] // cfg.Keys, or the ones SetKeys gave

	mu   sync.Mutex
	last map[gapKey]time.Time // last push per (subscription, visitor)
}

type gapKey struct{ sub, visitor string }

type job struct {
	sub Subscription
	n   Notification
	raw []byte
}

// New checks cfg and returns a Sender over store; call Run.
func New(cfg Config, store Store) (*Sender, error) {
	if err := cfg.Keys.check(); err != nil {
		return nil, fmt.Errorf("push: VAPID keys: %w", err)
	}
	sub := cfg.Subject
	if !strings.HasPrefix(sub, "mailto:") && !strings.HasPrefix(sub, "https://") {
		return nil, fmt.Errorf("push subject %q: want mailto:you@example.com or an https:// URL (RFC 8292 §2.1)", sub)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Backoff == (notify.Backoff{}) {
		cfg.Backoff = notify.Backoff{Attempts: 4, Initial: 2 * time.Second, Max: time.Minute}
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.MinGap <= 0 {
		cfg.MinGap = 30 * time.Second
	}
	if cfg.MaxPerAdmin <= 0 {
		cfg.MaxPerAdmin = 10
	}
	if cfg.PortalPath == "" {
		cfg.PortalPath = "/portal/"
	}
	if cfg.Metrics == nil {
		cfg.Metrics = notify.Nop{}
	}
	if cfg.Proxy == nil {
		cfg.Proxy = http.ProxyFromEnvironment
	}
	if cfg.resolve == nil {
		cfg.resolve = defaultResolve
	}
	if cfg.Transport == nil {
		if cfg.AllowPrivate {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.Proxy = cfg.Proxy
			cfg.Transport = t
		} else {
			cfg.Transport = newGuarded(cfg.Proxy, cfg.resolve)
		}
	}
	s := &Sender{cfg: cfg, store: store, last: map[gapKey]time.Time{},
		lg: cfg.Logger.With().Str("channel", Channel).Logger(),
		client: &http.Client{Transport: cfg.Transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	s.keys.Store(&cfg.Keys)
	var done notify.Done[job]
	if cfg.OnDone != nil {
		done = func(j job, attempts int, err error) { cfg.OnDone(j.sub, j.n, attempts, err) }
	}
	s.q = notify.NewQueue(notify.QueueConfig{Channel: Channel, Size: cfg.QueueSize, Workers: cfg.Workers,
		Backoff: cfg.Backoff, Metrics: cfg.Metrics, Logger: cfg.Logger}, s.attempt, done)
	return s, nil
}

// PublicKey is the VAPID public key, the portal's applicationServerKey
// for pushManager.subscribe.
func (s *Sender) PublicKey() string { return s.keys.Load().Public }

// Run sends until ctx is done; it returns when the workers have stopped.
func (s *Sender) Run(ctx context.Context) { s.q.Run(ctx) }

// Subscribe parses a PushSubscription JSON (as the portal's
// subscription.toJSON() gives it; expirationTime and unknown fields are
// ignored), checks it, and saves it for admin, whose oldest subscriptions
// beyond MaxPerAdmin are removed. A refused subscription is an error
// matching ErrInvalid (its message says why); others are the store's.
func (s *Sender) Subscribe(ctx context.Context, admin string, raw []byte) (Subscription, error) {
	var in struct {
		Endpoint string  `json:"endpoint"`
		Keys     SubKeys `json:"keys"`
	}
	// The decoder's own error names Go types: the caller is told what to send instead.
	if err := jsontext.Check(raw); err != nil {
		return Subscription{}, invalid(fmt.Errorf("push subscription: %w", err))
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return Subscription{}, invalid(errors.New(`push subscription: not a PushSubscription JSON object {"endpoint": "https://...", "keys": {"p256dh": "...", "auth": "..."}}`))
	}
	sub := Subscription{Admin: admin, Endpoint: in.Endpoint, Keys: in.Keys, Created: time.Now().UTC()}
	if err := s.check(sub); err != nil {
		return Subscription{}, invalid(err)
	}
	sub.ID = SubscriptionID(sub.Endpoint)
	if err := s.store.SaveSubscription(ctx, sub); err != nil {
		return Subscription{}, err
	}
	s.trim(ctx, admin)
	return sub, nil
}

// Unsubscribe removes admin's subscription at endpoint (a missing one is
// not an error; another admin's is left alone).
func (s *Sender) Unsubscribe(ctx context.Context, admin, endpoint string) error {
	id := SubscriptionID(endpoint)
	subs, err := s.store.Subscriptions(admin)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if sub.ID == id {
			return s.store.RemoveSubscription(ctx, id)
		}
	}
	return nil
}

// MaxEndpoint bounds a subscription's endpoint URL, in bytes.
const MaxEndpoint = 2048

func (s *Sender) check(sub Subscription) error {
	u, err := url.Parse(sub.Endpoint)
	switch {
	case sub.Admin == "":
		return errors.New("push subscription: no admin")
	case len(sub.Endpoint) > MaxEndpoint:
		return fmt.Errorf("push subscription: endpoint longer than %d bytes", MaxEndpoint)
	case err != nil || u.Host == "" || u.User != nil || !(u.Scheme == "https" || s.cfg.AllowHTTP && u.Scheme == "http"):
		return fmt.Errorf("push subscription: endpoint must be an https URL")
	case !s.cfg.AllowPrivate && checkHost(u.Hostname()) != nil:
		return refusal(sub.Endpoint)
	}
	p, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(sub.Keys.P256dh, "="))
	if err != nil || len(p) != 65 || p[0] != 4 {
		return errors.New("push subscription: keys.p256dh must be a base64url P-256 public key (65 bytes)")
	}
	a, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(sub.Keys.Auth, "="))
	if err != nil || len(a) != 16 {
		return errors.New("push subscription: keys.auth must be 16 bytes of base64url")
	}
	return nil
}

// Notify queues n for every subscription of admins (all admins when none
// are given), except where the same conversation was pushed to that
// subscription less than MinGap ago. It reads the Store but never waits on
// the network.
func (s *Sender) Notify(n Notification, admins ...string) {
	if n.URL == "" {
		n.URL = s.cfg.PortalPath + "#visitor=" + url.QueryEscape(n.Visitor)
	}
	n.Text = clip(n.Text, previewBytes)
	n.Name = clip(n.Name, 128)
	raw, err := json.Marshal(n)
	if err != nil {
		s.lg.Error().Err(err).Msg("encode push notification")
		return
	}
	var subs []Subscription
	if len(admins) == 0 {
		admins = []string{""}
	}
	for _, a := range admins {
		got, err := s.store.Subscriptions(a)
		if err != nil {
			s.lg.Error().Err(err).Msg("read push subscriptions")
			return
		}
		subs = append(subs, got...)
	}
	now := time.Now()
	s.mu.Lock()
	var due []Subscription
	for _, sub := range subs {
		k := gapKey{sub.ID, n.Visitor}
		if t, ok := s.last[k]; ok && now.Sub(t) < s.cfg.MinGap {
			continue
		}
		s.last[k] = now
		due = append(due, sub)
	}
	if len(s.last) > 4*s.cfg.QueueSize { // forget gaps that have passed
		for k, t := range s.last {
			if now.Sub(t) >= s.cfg.MinGap {
				delete(s.last, k)
			}
		}
	}
	s.mu.Unlock()
	for _, sub := range due {
		s.q.Offer(job{sub: sub, n: n, raw: raw})
	}
}

// attempt sends one push; it is the queue's Handler.
func (s *Sender) attempt(ctx context.Context, j job, _ int) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	subject := s.cfg.Subject
	// webpush-go prefixes "mailto:" itself unless the subject is an https URL.
	subject = strings.TrimPrefix(subject, "mailto:")
	// webpush-go appends its padding to the slice it is given (a
	// bytes.Buffer over it), writing into spare capacity: give each attempt
	// its own copy with no spare room, never the payload shared by all jobs.
	payload := make([]byte, len(j.raw))
	copy(payload, j.raw)
	keys := s.keys.Load()
	resp, err := webpush.SendNotificationWithContext(ctx, payload,
		&webpush.Subscription{Endpoint: j.sub.Endpoint, Keys: webpush.Keys{P256dh: j.sub.Keys.P256dh, Auth: j.sub.Keys.Auth}},
		&webpush.Options{
			HTTPClient:      s.client,
			Subscriber:      subject,
			Topic:           topic(j.n.Visitor),
			TTL:             int(s.cfg.TTL / time.Second),
			Urgency:         webpush.UrgencyHigh,
			VAPIDPublicKey:  keys.Public,
			VAPIDPrivateKey: keys.Private,
		})
	if errors.Is(err, ErrPrivateAddress) { // no retry changes the address: the operator's flag does
		return notify.RefusedErr(refusal(j.sub.Endpoint))
	}
	if err != nil {
		return notify.StripURL(err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	c := resp.StatusCode
	switch {
	case c >= 200 && c < 300: // 201 Created, RFC 8030 §5
		return nil
	case c == http.StatusNotFound || c == http.StatusGone:
		// RFC 8030 §7.3: the subscription expired or was unsubscribed.
		// Logged once, by the queue (info, "receiver gone"), and counted gone.
		if err := s.store.RemoveSubscription(context.WithoutCancel(ctx), j.sub.ID); err != nil {
			s.lg.Error().Err(err).Str("subscription", j.sub.ID).Msg("remove gone push subscription")
		}
		return notify.GoneErr(fmt.Errorf("push service %s answered %d: subscription %s of admin %s removed",
			notify.Host(j.sub.Endpoint), c, j.sub.ID, j.sub.Admin))
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		err := fmt.Errorf("push service %s answered %d", notify.Host(j.sub.Endpoint), c)
		if d := notify.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 {
			return notify.RetryAfter(err, d)
		}
		return err
	default: // 400, 401/403 (VAPID refused), 413 (too large): no retry fixes these
		return notify.Permanent(fmt.Errorf("push service %s answered %d", notify.Host(j.sub.Endpoint), c))
	}
}

// topic is the RFC 8030 §5.4 Topic for a conversation (at most 32
// base64url characters), so a newer push replaces an undelivered one.
func topic(visitor string) string {
	t := make([]byte, 0, 32)
	for i := 0; i < len(visitor) && len(t) < 32; i++ {
		c := visitor[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			t = append(t, c)
		}
	}
	return string(t)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
