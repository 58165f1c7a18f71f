// Package webhook posts chatd events (conversation.created, message.created)
// to the operator's HTTPS endpoints: a JSON body signed with HMAC-SHA256
// (header Chatd-Signature, see Sign and Verify and docs/notifications.md),
// retried with exponential backoff, with a bounded log of the last
// deliveries for admins. Publishing never blocks: each endpoint has its own
// bounded queue and worker, so a dead or slow endpoint delays only itself
// and, once its queue is full, loses events (counted and logged as dropped).
package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/notify"
)

// Event types.
const (
	ConversationCreated = "conversation.created"
	MessageCreated      = "message.created"
)

// Channel is the metrics label of this package.
const Channel = "webhook"

// Endpoint is one receiver.
type Endpoint struct {
	// URL is where events are POSTed: http or https, no user info.
	URL string
	// Secret keys the HMAC of HeaderSignature; at least MinSecret bytes.
	Secret string
	// Events filters the event types sent (empty = all).
	Events []string
	// Format is FormatJSON (default) or FormatSlack.
	Format string
}

// Body formats.
const (
	// FormatJSON is chatd's own body: {"id","type","created","data"}.
	FormatJSON = "json"
	// FormatSlack is {"text": "..."} for a Slack-compatible incoming webhook,
	// with user text escaped (&, <, >) so it cannot mention or link.
	FormatSlack = "slack"
)

// MinSecret is the shortest accepted endpoint secret, in bytes.
const MinSecret = 16

// Config configures a Notifier. Zero values take the defaults given.
type Config struct {
	Endpoints []Endpoint
	// Timeout bounds one attempt: connect, send, and read the answer (default 10s).
	Timeout time.Duration
	// Backoff bounds retries (default 6 attempts, 2s doubling to 5m: about
	// a minute of retries for a receiver that is down).
	Backoff notify.Backoff
	// QueueSize is the number of events waiting per endpoint (default 1000).
	QueueSize int
	// LogSize is the number of deliveries kept for Deliveries (default 100).
	LogSize int
	Metrics notify.Metrics
	Logger  zerolog.Logger
	// Transport sends the requests (default: a clone of http.DefaultTransport).
	Transport http.RoundTripper
}

// Visitor is the visitor part of an event.
type Visitor struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Email   string            `json:"email,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
	Created time.Time         `json:"created,omitzero"`
}

// Message is a stored message, the protocol's message object plus the
// agent's display name.
type Message struct {
	Offset  uint64    `json:"offset"`
	Client  string    `json:"client"`
	From    string    `json:"from"`
	Admin   string    `json:"admin"`
	Display string    `json:"display,omitempty"`
	CID     string    `json:"cid"`
	Text    string    `json:"text"`
	At      time.Time `json:"at"`
}

// Event is the FormatJSON body.
type Event struct {
	ID      string    `json:"id"` // "evt_" + 24 hex digits, unique, same on retries
	Type    string    `json:"type"`
	Created time.Time `json:"created"`
	Data    EventData `json:"data"`
}

// EventData is the payload: Visitor always, Message for message.created.
type EventData struct {
	Visitor Visitor  `json:"visitor"`
	Message *Message `json:"message,omitempty"`
}

// Notifier delivers events to the configured endpoints.
type Notifier struct {
	eps []*endpoint
	log *deliveryLog
	lg  zerolog.Logger
}

type endpoint struct {
	Endpoint
	host   string
	events map[string]bool
	q      *notify.Queue[*job]
	client *http.Client
	n      *Notifier
	cfg    *Config
}

type job struct {
	id, event string
	ev        *Event // encoded at the first attempt (body), so a dropped event costs no encoding
	slack     bool
	body      []byte
	entry     *Delivery
}

// New checks cfg and returns a Notifier; call Run to start delivering. With
// no endpoints it accepts events and does nothing.
func New(cfg Config) (*Notifier, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Backoff == (notify.Backoff{}) {
		cfg.Backoff = notify.Backoff{Attempts: 6, Initial: 2 * time.Second, Max: 5 * time.Minute}
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	if cfg.LogSize <= 0 {
		cfg.LogSize = 100
	}
	if cfg.Metrics == nil {
		cfg.Metrics = notify.Nop{}
	}
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// One request at a time per endpoint (one worker): HTTP/2's streams
		// buy nothing here and cost CPU per request (a third more than
		// HTTP/1.1 keep-alive, which reuses the connection just as well).
		var p http.Protocols
		p.SetHTTP1(true)
		t.Protocols = &p
		if t.TLSClientConfig != nil { // may already offer h2 (ALPN) from the default transport's use
			c := t.TLSClientConfig.Clone()
			c.NextProtos = nil
			t.TLSClientConfig = c
		}
		cfg.Transport = t
	}
	n := &Notifier{log: newLog(cfg.LogSize), lg: cfg.Logger.With().Str("channel", Channel).Logger()}
	var errs []error
	for i, e := range cfg.Endpoints {
		if err := check(e); err != nil {
			errs = append(errs, fmt.Errorf("webhook %d: %w", i+1, err))
			continue
		}
		ep := &endpoint{Endpoint: e, host: notify.Host(e.URL), n: n, cfg: &cfg}
		if ep.Format == "" {
			ep.Format = FormatJSON
		}
		if len(e.Events) > 0 {
			ep.events = map[string]bool{}
			for _, ev := range e.Events {
				ep.events[ev] = true
			}
		}
		ep.client = &http.Client{
			Transport: cfg.Transport,
			// A redirect is not a delivery: its target never saw the signature's
			// endpoint, and following it would send the body somewhere unconfigured.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		ep.q = notify.NewQueue(notify.QueueConfig{
			Channel: Channel, Size: cfg.QueueSize, Workers: 1, Backoff: cfg.Backoff,
			Metrics: cfg.Metrics, Logger: cfg.Logger.With().Str("endpoint", ep.host).Logger(), // the queue adds the channel
		}, ep.attempt, ep.done)
		n.eps = append(n.eps, ep)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return n, nil
}

func check(e Endpoint) error {
	u, err := url.Parse(e.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %s: want an absolute http or https URL", notify.Host(e.URL))
	}
	if u.User != nil {
		return fmt.Errorf("url %s: user info in the URL is not supported (the body is signed instead)", notify.Host(e.URL))
	}
	if len(e.Secret) < MinSecret {
		return fmt.Errorf("url %s: secret of %d bytes, want at least %d (e.g. openssl rand -hex 32)", notify.Host(e.URL), len(e.Secret), MinSecret)
	}
	for _, ev := range e.Events {
		if ev != ConversationCreated && ev != MessageCreated {
			return fmt.Errorf("url %s: unknown event %q (want %s or %s)", notify.Host(e.URL), ev, ConversationCreated, MessageCreated)
		}
	}
	if e.Format != "" && e.Format != FormatJSON && e.Format != FormatSlack {
		return fmt.Errorf("url %s: format %q, want %s or %s", notify.Host(e.URL), e.Format, FormatJSON, FormatSlack)
	}
	return nil
}

// Run delivers until ctx is done; it returns when every endpoint's worker
// has stopped (an attempt in flight is cancelled); at once with no endpoints.
func (n *Notifier) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, ep := range n.eps {
		wg.Go(func() { ep.q.Run(ctx) })
	}
	wg.Wait()
}

// ConversationCreated publishes a new conversation. It never blocks.
func (n *Notifier) ConversationCreated(v Visitor) {
	n.publish(ConversationCreated, EventData{Visitor: v})
}

// MessageCreated publishes a stored message (from a visitor or an agent)
// of visitor v's conversation. It never blocks.
func (n *Notifier) MessageCreated(m Message, v Visitor) {
	n.publish(MessageCreated, EventData{Visitor: v, Message: &m})
}

// Deliveries returns the delivery log, newest first: at most Config.LogSize
// entries across all endpoints, each as it stands now.
func (n *Notifier) Deliveries() []Delivery { return n.log.list() }

func (n *Notifier) publish(typ string, data EventData) {
	if len(n.eps) == 0 {
		return
	}
	data.Visitor.Meta = notify.ScrubMeta(data.Visitor.Meta) // page URLs: scheme, host and path only
	ev := &Event{ID: newID(), Type: typ, Created: time.Now().UTC(), Data: data}
	for _, ep := range n.eps {
		if ep.events != nil && !ep.events[typ] {
			continue
		}
		entry := n.log.add(Delivery{ID: ev.ID, Event: typ, Endpoint: ep.host, Status: StatusPending,
			Created: ev.Created, Updated: ev.Created})
		ep.q.Offer(&job{id: ev.ID, event: typ, ev: ev, slack: ep.Format == FormatSlack, entry: entry})
	}
}

func encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // user text is sent as written, not as \u003c
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("webhook: encode event: %v", err)) // only plain types: cannot fail
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return "evt_" + hex.EncodeToString(b)
}

// attempt POSTs one job; it is the queue's Handler.
func (ep *endpoint) attempt(ctx context.Context, j *job, attempt int) error {
	ctx, cancel := context.WithTimeout(ctx, ep.cfg.Timeout)
	defer cancel()
	if j.body == nil { // the same bytes on every attempt: the Chatd-Delivery id stays true
		if j.slack {
			j.body = encode(map[string]string{"text": slackText(*j.ev)})
		} else {
			j.body = encode(j.ev)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(j.body))
	if err != nil {
		return notify.Permanent(notify.StripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "chatd-webhook/1")
	req.Header.Set(HeaderEvent, j.event)
	req.Header.Set(HeaderDelivery, j.id)
	req.Header.Set(HeaderSignature, Sign(ep.Secret, time.Now(), j.body)) // fresh timestamp per attempt
	start := time.Now()
	resp, err := ep.client.Do(req)
	code := 0
	if err == nil {
		code = resp.StatusCode
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
		resp.Body.Close()
		err = classify(resp)
	} else {
		err = notify.StripURL(err)
	}
	lat := time.Since(start)
	ep.n.log.update(j.entry, func(d *Delivery) {
		d.Attempts, d.Code, d.Latency = attempt, code, lat
		d.Error = ""
		if err != nil {
			d.Error = err.Error()
			d.Status = StatusRetrying
		}
	})
	return err
}

// classify maps an answer to nil (2xx), a retryable error (408, 425, 429,
// 5xx, honouring Retry-After) or a permanent one (any other status,
// redirects included).
func classify(resp *http.Response) error {
	c := resp.StatusCode
	switch {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooEarly || c == http.StatusTooManyRequests || c >= 500:
		err := fmt.Errorf("receiver answered %d", c)
		if d := notify.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 {
			return notify.RetryAfter(err, d)
		}
		return err
	default:
		return notify.Permanent(fmt.Errorf("receiver answered %d (not retried)", c))
	}
}

// done records the final state of a job; it is the queue's Done.
func (ep *endpoint) done(j *job, attempts int, err error) {
	ep.n.log.update(j.entry, func(d *Delivery) {
		switch {
		case err == nil:
			d.Status = StatusDelivered
		case errors.Is(err, notify.ErrDropped) || errors.Is(err, notify.ErrStopped):
			d.Status = StatusDropped
			d.Error = err.Error()
		default:
			d.Status = StatusFailed
		}
	})
}

// slackText renders an event as one line of Slack mrkdwn. User text is
// escaped as Slack documents (&amp; &lt; &gt;), so "<!channel>" or a
// "<url|label>" link in a visitor's message stays plain text.
func slackText(ev Event) string {
	name := slackEscape(ev.Data.Visitor.Name)
	if ev.Data.Message == nil {
		return "New conversation from " + name
	}
	m := ev.Data.Message
	who := name
	if m.From == "admin" {
		who = slackEscape(orElse(m.Display, m.Admin)) + " → " + name
	}
	return who + ": " + slackEscape(m.Text)
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var slackReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackEscape(s string) string { return slackReplacer.Replace(s) }
