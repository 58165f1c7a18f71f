package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login limits.
//
// A lockout per account lets anyone who knows an agent's name keep that agent
// out, from rotating addresses. chatd takes the approach of OWASP's "Slow
// Down Online Guessing Attacks with Device Cookies" (trusted clients are
// limited one by one, unknown ones together) and the "familiar location" idea
// of Microsoft Entra smart lockout. Only failed attempts are counted: a
// success gives its attempt back.
//
//   - Every client pays per address group (an IPv4 address, an IPv6 /64) and
//     per (name, address group): one address guesses at most Attempts per
//     name and four times that across names.
//   - Clients that are neither trusted nor familiar also share one budget per
//     name (twice Burst, refilled at Attempts). An attacker rotating addresses
//     spends it, and from then on unknown clients are refused for that name
//     until it refills: the attack is slowed to Attempts in total.
//   - A client presenting a device token for the name (issued at each
//     successful login, HMAC-signed and bound to the name; the portal keeps
//     it as an HttpOnly cookie) pays only its own budget per device: neither
//     an attack on the name nor one from its own address slows it down. A
//     device token used for failures runs out of its budget and then counts
//     as unknown.
//   - An address group from which the name logged in within familiarFor is
//     familiar: it skips the shared name budget (it still pays per address).
//
// So the owner of the right password is never locked out by others from a
// device or an address it used before; from a new device at a new address
// during an attack on its name it waits for the name budget like the attacker.

// LimitError refuses an attempt that is over a budget; errors.Is ErrRateLimited.
type LimitError struct {
	Scope      string        // "address", "account" or "device"
	RetryAfter time.Duration // when the budget has room again
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("too many login attempts (%s), retry in %v", e.Scope, e.RetryAfter)
}

func (e *LimitError) Unwrap() error { return ErrRateLimited }

// Familiar addresses.
const (
	familiarFor = 30 * 24 * time.Hour // an address stays familiar this long after a login from it
	familiarMax = 16                  // addresses remembered per admin
)

// maxBuckets bounds the memory of the limits: above it, full buckets are
// forgotten first, then arbitrary ones (forgetting a bucket gives its owner a
// fresh budget, never locks anyone out).
const maxBuckets = 200_000

type budget struct {
	every rate.Limit
	burst int
	scope string
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
	b    budget
}

type limits struct {
	addr, nameAddr, name, device budget
	max                          int // buckets kept at most (maxBuckets)

	mu     sync.Mutex
	m      map[string]*bucket
	pruned time.Time
}

func newLimits(every rate.Limit, burst int) *limits {
	return &limits{
		addr:     budget{every * 4, burst * 4, "address"},
		nameAddr: budget{every, burst, "account"},
		name:     budget{every, burst * 2, "account"},
		device:   budget{every, burst, "device"},
		max:      maxBuckets,
		m:        make(map[string]*bucket),
	}
}

// reservation holds the attempts an Attempt took; cancel gives them back.
type reservation struct{ rs []*rate.Reservation }

func (r *reservation) cancel(now time.Time) {
	for _, x := range r.rs {
		x.CancelAt(now)
	}
}

// reserve takes one attempt from every budget that applies to a client, or
// none and a *LimitError. device is a verified device id ("" if none).
func (l *limits) reserve(now time.Time, addr, name, device string, familiar bool) (*reservation, error) {
	if len(name) > 128 {
		name = name[:128] // longer names are never valid; bound the keys
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	type use struct {
		key string
		b   budget
	}
	var uses []use
	if device != "" {
		if l.bucketLocked(now, "d:"+device, l.device).TokensAt(now) >= 1 {
			uses = []use{{"d:" + device, l.device}}
		}
	}
	if uses == nil {
		uses = []use{{"a:" + addr, l.addr}, {"na:" + name + "\x00" + addr, l.nameAddr}}
		if !familiar {
			uses = append(uses, use{"n:" + name, l.name})
		}
	}
	res := &reservation{}
	var refused *LimitError
	for _, u := range uses {
		r := l.bucketLocked(now, u.key, u.b).ReserveN(now, 1)
		res.rs = append(res.rs, r)
		if d := r.DelayFrom(now); !r.OK() || d > 0 {
			if refused == nil || d > refused.RetryAfter {
				refused = &LimitError{Scope: u.b.scope, RetryAfter: max(d, time.Second).Round(time.Second)}
			}
		}
	}
	if refused != nil {
		res.cancel(now)
		return nil, refused
	}
	return res, nil
}

func (l *limits) bucketLocked(now time.Time, key string, b budget) *rate.Limiter {
	k, ok := l.m[key]
	if !ok {
		k = &bucket{lim: rate.NewLimiter(b.every, b.burst), b: b}
		l.m[key] = k
	}
	k.used = now
	return k.lim
}

// pruneLocked forgets full buckets once a minute, and any when over maxBuckets.
func (l *limits) pruneLocked(now time.Time) {
	if now.Sub(l.pruned) < time.Minute && len(l.m) < l.max {
		return
	}
	l.pruned = now
	for k, b := range l.m {
		if b.lim.TokensAt(now) >= float64(b.b.burst) {
			delete(l.m, k)
		}
	}
	for k := range l.m { // map order is random: no one chooses who is dropped
		if len(l.m) < l.max*9/10 {
			break
		}
		delete(l.m, k)
	}
}

// size is the number of buckets kept, for tests.
func (l *limits) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// Device tokens: base64url(id[12] || mac[16]), mac = HMAC-SHA256 over the
// name and id, truncated (FIPS 198-1 allows truncation to 16 bytes and more).
const (
	deviceIDLen  = 12
	deviceMACLen = 16
)

func (a *Auth) deviceMAC(name string, id []byte) []byte {
	m := hmac.New(sha256.New, *a.device.Load())
	m.Write([]byte("chatd-device\x00"))
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write(id)
	return m.Sum(nil)[:deviceMACLen]
}

// SetDeviceKey replaces the key device tokens are signed with (32 bytes or
// more): a cluster's nodes adopt one shared key (cmd/chatd), so a device
// token issued by any node is recognised by all. Tokens signed with the
// previous key are no longer recognised (their clients pay the budgets of
// unfamiliar clients until their next login).
func (a *Auth) SetDeviceKey(k []byte) error {
	if len(k) < 32 {
		return fmt.Errorf("auth: device key of %d bytes: want 32 or more", len(k))
	}
	k = append([]byte(nil), k...)
	a.device.Store(&k)
	return nil
}

// newDevice issues a device token for name.
func (a *Auth) newDevice(name string) (string, error) {
	b := make([]byte, deviceIDLen, deviceIDLen+deviceMACLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("login: device token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(append(b, a.deviceMAC(name, b)...)), nil
}

// checkDevice returns the device id of tok if it is a device token issued for
// name, else "".
func (a *Auth) checkDevice(tok, name string) string {
	if tok == "" || len(tok) > 64 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != deviceIDLen+deviceMACLen {
		return ""
	}
	id, mac := b[:deviceIDLen], b[deviceIDLen:]
	if !hmac.Equal(mac, a.deviceMAC(name, id)) {
		return ""
	}
	return name + "\x00" + hex.EncodeToString(id)
}

type seenAddr struct {
	addr string
	at   time.Time
}

// rememberLocked records a login of name from addr at t; callers hold a.mu.
func (a *Auth) rememberLocked(name, addr string, t time.Time) {
	if addr == "" {
		return
	}
	seen := a.familiar[name]
	for i := range seen {
		if seen[i].addr == addr {
			if t.After(seen[i].at) {
				seen[i].at = t
			}
			return
		}
	}
	if len(seen) >= familiarMax {
		oldest := 0
		for i := range seen {
			if seen[i].at.Before(seen[oldest].at) {
				oldest = i
			}
		}
		seen = append(seen[:oldest], seen[oldest+1:]...)
	}
	a.familiar[name] = append(seen, seenAddr{addr, t})
}

// isFamiliar reports whether name logged in from addr within familiarFor.
func (a *Auth) isFamiliar(name, addr string, now time.Time) bool {
	if addr == "" {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.familiar[name] {
		if s.addr == addr && now.Sub(s.at) < familiarFor {
			return true
		}
	}
	return false
}
