// Package notify holds what chatd's notification channels (notify/mail,
// notify/push, notify/webhook) share: the Metrics hook each channel counts
// through, retry with exponential backoff, and Queue, the bounded queue that
// keeps a slow or dead receiver from ever blocking the caller (the hub, an
// acknowledgement). It knows nothing of e-mail, HTTP or chat.
package notify

import (
	"errors"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"
)

// Outcome is what happened to one notification, as counted by Metrics.
type Outcome string

// Outcomes counted by every channel.
const (
	// Sent: the receiver accepted it (SMTP 250 after DATA, push service 201,
	// webhook 2xx).
	Sent Outcome = "sent"
	// Failed: given up, after a permanent error or the last attempt.
	Failed Outcome = "failed"
	// Retried: one attempt failed and another one is scheduled.
	Retried Outcome = "retried"
	// Dropped: never attempted, because the queue was full or stopping.
	Dropped Outcome = "dropped"
	// Gone: the receiver says the address no longer exists (a push
	// subscription answered 404 or 410, RFC 8030 §7.3); the channel removed
	// it and does not retry. Not a failure of chatd's or the receiver's.
	Gone Outcome = "gone"
	// Refused: chatd itself refused to send to the receiver's address (a
	// push endpoint not on a public address, see notify/push); never
	// attempted again, since no retry changes the address: only the
	// operator's configuration (--push-allow-private) does.
	Refused Outcome = "refused"
)

// Outcomes lists every Outcome, for exporters that pre-create their series.
var Outcomes = []Outcome{Sent, Failed, Retried, Dropped, Gone, Refused}

// Metrics receives one count per outcome of a channel ("email", "push",
// "webhook"). Implementations must be safe for concurrent use and must not
// block: Count is called inline by the delivery workers and by Offer. A
// Prometheus CounterVec with labels channel and outcome fits as is.
type Metrics interface {
	Count(channel string, o Outcome)
}

// Nop is a Metrics that counts nothing.
type Nop struct{}

// Count does nothing.
func (Nop) Count(string, Outcome) {}

// Counters is an in-memory Metrics: counts per channel and outcome, read with
// Get or Snapshot (for tests, and for a collector that exports on scrape).
// The zero value is ready to use.
type Counters struct {
	mu sync.Mutex
	m  map[string]map[Outcome]uint64
}

// Count adds one to channel's outcome o.
func (c *Counters) Count(channel string, o Outcome) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]map[Outcome]uint64{}
	}
	if c.m[channel] == nil {
		c.m[channel] = map[Outcome]uint64{}
	}
	c.m[channel][o]++
	c.mu.Unlock()
}

// Get returns the count of channel's outcome o.
func (c *Counters) Get(channel string, o Outcome) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[channel][o]
}

// Snapshot copies every count: channel -> outcome -> count.
func (c *Counters) Snapshot() map[string]map[Outcome]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]map[Outcome]uint64, len(c.m))
	for ch, m := range c.m {
		cp := make(map[Outcome]uint64, len(m))
		for o, n := range m {
			cp[o] = n
		}
		out[ch] = cp
	}
	return out
}

// Backoff says how often and how patiently a delivery is retried.
type Backoff struct {
	// Attempts is the total number of attempts, the first included (default 5).
	Attempts int
	// Initial is the base delay before the second attempt (default 1s); each
	// later retry doubles it, up to Max (default 5m).
	Initial, Max time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Attempts <= 0 {
		b.Attempts = 5
	}
	if b.Initial <= 0 {
		b.Initial = time.Second
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Minute
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	return b
}

// Delay is the wait after failed attempt n (1 = the first): Initial·2^(n-1)
// capped at Max, then "equal jitter" (a uniformly random value between half
// of it and all of it) so that many deliveries failing together do not retry
// together.
func (b Backoff) Delay(n int) time.Duration {
	b = b.withDefaults()
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// permanent marks an error that no retry can fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that Queue gives up at once (a 5xx SMTP reply, an
// HTTP 4xx other than 408/429). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

type gone struct{ err error }

func (g gone) Error() string { return g.err.Error() }
func (g gone) Unwrap() error { return g.err }

// GoneErr wraps err, the receiver's answer that the address no longer exists
// and has been removed: Queue does not retry it, counts it Gone (not Failed)
// and logs it once at info. GoneErr(nil) is nil.
func GoneErr(err error) error {
	if err == nil {
		return nil
	}
	return gone{err}
}

// IsGone reports whether err was wrapped by GoneErr.
func IsGone(err error) bool {
	var g gone
	return errors.As(err, &g)
}

type refused struct{ err error }

func (r refused) Error() string { return r.err.Error() }
func (r refused) Unwrap() error { return r.err }

// RefusedErr wraps err, chatd's own refusal to send to the receiver's
// address (a rule of the channel, not the receiver's answer): Queue does not
// retry it, counts it Refused (not Failed) and logs it once at warn; err
// should say which setting allows the address. RefusedErr(nil) is nil.
func RefusedErr(err error) error {
	if err == nil {
		return nil
	}
	return refused{err}
}

// IsRefused reports whether err was wrapped by RefusedErr.
func IsRefused(err error) bool {
	var r refused
	return errors.As(err, &r)
}

// retryAfter carries a receiver's own "retry later" delay.
type retryAfter struct {
	err error
	d   time.Duration
}

func (r retryAfter) Error() string { return r.err.Error() }
func (r retryAfter) Unwrap() error { return r.err }

// RetryAfter wraps err with the delay the receiver asked for (an HTTP
// Retry-After header, RFC 9110 §10.2.3). Queue waits that long instead of its
// own backoff, but never longer than Backoff.Max.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return retryAfter{err, d}
}

// ParseRetryAfter reads an HTTP Retry-After value, delay-seconds or an
// HTTP-date (RFC 9110 §10.2.3), relative to now; 0 when absent or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var secs int
	digits := true
	for _, c := range v {
		if c < '0' || c > '9' {
			digits = false
			break
		}
		secs = secs*10 + int(c-'0')
		if secs > 1<<20 {
			break
		}
	}
	if digits {
		return time.Duration(secs) * time.Second
	}
	if t, err := time.Parse(time.RFC1123, v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Host returns the scheme and host of rawURL ("https://push.example"), never
// its path or query: push endpoints and webhook URLs (Slack's, for one) carry
// their credential in the path, so logs and error messages name the host only.
func Host(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "(invalid url)"
	}
	return u.Scheme + "://" + u.Host
}

// StripURL returns err without the full URL that net/http puts in a
// *url.Error ("Post \"https://hooks.example/T/B/secret\": ..."): the
// operation and the host stay, the path and query go.
func StripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &hostError{op: ue.Op, host: Host(ue.URL), err: ue.Err}
	}
	return err
}

type hostError struct {
	op, host string
	err      error
}

func (e *hostError) Error() string { return e.op + " " + e.host + ": " + e.err.Error() }
func (e *hostError) Unwrap() error { return e.err }
