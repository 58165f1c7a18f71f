// Package auth logs support agents in. It checks passwords against the
// admins' bcrypt hashes, slows password guessing down without letting anyone
// lock an agent out (limits.go), and keeps login sessions (sessions.go):
// random tokens stored as SHA-256 hashes with an expiry, so they survive
// restarts and can be revoked. Every revocation (logout, expiry, an agent
// removed or its password changed) is announced through the OnRevoke hook,
// so the sockets of that session end at once.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/chatd/chatd/store"
)

// Errors returned by Login.
var (
	// ErrBadCredentials means the name is unknown or the password wrong.
	ErrBadCredentials = errors.New("invalid name or password")
	// ErrRateLimited means too many failed attempts; errors.As a *LimitError for details.
	ErrRateLimited = errors.New("too many login attempts")
)

// Admins looks admins up; *store.Store satisfies it.
type Admins interface {
	// Admin finds an admin by name; store.ErrNotFound if none.
	Admin(name string) (store.Admin, error)
}

// Sessions persists login sessions; *store.Store satisfies it.
type Sessions interface {
	AddSession(ctx context.Context, s store.Session) error
	DeleteSession(ctx context.Context, id string) error
	Sessions() ([]store.Session, error)
}

// SharedSessions is Sessions shared by several processes (a cluster): a
// session opened or ended by any of them is seen by Who in the others.
type SharedSessions interface {
	Sessions
	// Session finds a live stored session by id (HashToken of its token).
	Session(id string) (store.Session, bool)
}

// Config tunes an Auth. Zero fields take the documented defaults.
type Config struct {
	TTL time.Duration // session lifetime; default 12h
	// Attempts and Burst size the failed-attempt budgets (limits.go): per
	// name and address, per device token, and, four times larger, per address;
	// unfamiliar clients also share a budget per name of twice the burst.
	// Defaults: 5 per minute, burst 5.
	Attempts  rate.Limit
	Burst     int
	DummyCost int // bcrypt cost of the hash unknown names are checked against; default 12
	Now       func() time.Time
	// Sessions keeps sessions across restarts; nil keeps them in memory only.
	Sessions Sessions
	// DeviceKey signs device tokens (32 bytes or more); nil draws one per
	// process, so device tokens then do not survive a restart.
	DeviceKey []byte
	Log       zerolog.Logger // store failures while purging sessions; zero value logs nothing
}

// Auth issues and verifies admin login sessions. It satisfies hub.Auth.
type Auth struct {
	cfg    Config
	admins Admins
	dummy  []byte
	lim    *limits
	device atomic.Pointer[[]byte] // cfg.DeviceKey, or SetDeviceKey's
	steps  usedSteps              // TOTP steps used (totp.go)

	mu       sync.Mutex
	sessions map[string]store.Session // by id (store.HashToken of the token)
	familiar map[string][]seenAddr    // admin -> addresses it logged in from
	timer    *time.Timer              // fires at the earliest expiry
	timerAt  time.Time
	closed   bool

	sweepMu sync.Mutex // one sweep at a time; Close waits for a running one
	hookMu  sync.Mutex
	hook    func()
}

// New returns an Auth checking passwords against admins. With cfg.Sessions it
// loads the stored sessions, purging those no longer valid, and arms the
// expiry timer; Close stops it.
func New(cfg Config, admins Admins) (*Auth, error) {
	if cfg.TTL <= 0 {
		cfg.TTL = 12 * time.Hour
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = rate.Every(time.Minute / 5)
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 5
	}
	if cfg.DummyCost <= 0 {
		cfg.DummyCost = 12
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.DeviceKey) == 0 {
		cfg.DeviceKey = make([]byte, 32)
		if _, err := rand.Read(cfg.DeviceKey); err != nil {
			return nil, fmt.Errorf("auth: device key: %w", err)
		}
	}
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return nil, fmt.Errorf("auth: dummy password: %w", err)
	}
	dummy, err := bcrypt.GenerateFromPassword(pw, cfg.DummyCost)
	if err != nil {
		return nil, fmt.Errorf("auth: dummy hash: %w", err)
	}
	a := &Auth{
		cfg:      cfg,
		admins:   admins,
		dummy:    dummy,
		lim:      newLimits(cfg.Attempts, cfg.Burst),
		sessions: make(map[string]store.Session),
		familiar: make(map[string][]seenAddr),
	}
	a.device.Store(&cfg.DeviceKey)
	if err := a.load(); err != nil {
		return nil, err
	}
	return a, nil
}

// Attempt is one login request.
type Attempt struct {
	Addr     string // client address group (IPv6 grouped by prefix, see server.AddrGroup)
	Name     string
	Password string
	Device   string // device token from an earlier success for Name, or ""
	OTP      string // the current two-factor code, for agents with a TOTP secret (totp.go)
}

// Grant is a successful login.
type Grant struct {
	Token   string    // the session's bearer token (43 characters, base64url of 32 random bytes)
	Expires time.Time // UTC
	Device  string    // a fresh device token for Name: the client keeps it and sends it next time
}

// Login checks a.Name and a.Password and opens a session. Failures cost the
// same bcrypt time for unknown names; a refusal by the limits costs none and
// is a *LimitError (errors.Is ErrRateLimited).
func (a *Auth) Login(at Attempt) (Grant, error) {
	now := a.cfg.Now()
	device := a.checkDevice(at.Device, at.Name)
	res, err := a.lim.reserve(now, at.Addr, at.Name, device, a.isFamiliar(at.Name, at.Addr, now))
	if err != nil {
		return Grant{}, err
	}
	hash := a.dummy
	adm, lookupErr := a.admins.Admin(at.Name)
	if lookupErr == nil {
		hash = []byte(adm.Hash)
	} else if !errors.Is(lookupErr, store.ErrNotFound) {
		res.cancel(now)
		return Grant{}, fmt.Errorf("login: look up admin: %w", lookupErr)
	}
	pwErr := bcrypt.CompareHashAndPassword(hash, []byte(at.Password))
	if lookupErr != nil || pwErr != nil {
		return Grant{}, ErrBadCredentials // the reservations stay spent
	}
	if adm.TOTP != "" {
		if err := a.checkOTP(adm.Name, adm.TOTP, at.OTP, now); err != nil {
			return Grant{}, err // a failed attempt too: the reservations stay spent
		}
	}
	res.cancel(now) // only failures count

	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Grant{}, fmt.Errorf("login: token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	s := store.Session{
		ID: store.HashToken(token), Admin: adm.Name, Key: sessionKey(adm), Addr: at.Addr,
		Created: now.UTC(), Expires: now.Add(a.cfg.TTL).UTC(),
	}
	if err := a.add(s); err != nil {
		return Grant{}, err
	}
	dev, err := a.newDevice(adm.Name)
	if err != nil {
		return Grant{}, err
	}
	return Grant{Token: token, Expires: s.Expires, Device: dev}, nil
}

// Identity is who a live session belongs to.
type Identity struct {
	Admin   store.Admin // as the admins file says now (role, display name)
	Expires time.Time
}

// Who returns the identity of a live token: not expired, its admin still in
// the admins file, with the password the session was opened with.
func (a *Auth) Who(token string) (Identity, bool) {
	if token == "" {
		return Identity{}, false
	}
	id := store.HashToken(token)
	a.mu.Lock()
	s, ok := a.sessions[id]
	a.mu.Unlock()
	if shared, isShared := a.cfg.Sessions.(SharedSessions); isShared {
		// Another process may have opened or ended it: the shared store decides.
		s, ok = shared.Session(id)
		a.mu.Lock()
		if ok {
			a.sessions[id] = s
		} else {
			delete(a.sessions, id)
		}
		a.mu.Unlock()
	}
	if !ok {
		return Identity{}, false
	}
	adm, ok := a.valid(s, a.cfg.Now())
	if !ok {
		return Identity{}, false
	}
	return Identity{Admin: adm, Expires: s.Expires}, true
}

// Verify returns the admin owning a live token (see Who); hub.Auth.
func (a *Auth) Verify(token string) (string, bool) {
	id, ok := a.Who(token)
	return id.Admin.Name, ok
}

// valid reports whether s is live at now, and its admin's current entry.
func (a *Auth) valid(s store.Session, now time.Time) (store.Admin, bool) {
	if !now.Before(s.Expires) {
		return store.Admin{}, false
	}
	adm, err := a.admins.Admin(s.Admin)
	if err != nil || sessionKey(adm) != s.Key {
		return store.Admin{}, false
	}
	return adm, true
}

// sessionKey ties a session to the password hash it was opened with: a new
// password (chatd admin set) ends every session opened with the old one,
// whether the change is seen live, at a reload or at the next start.
func sessionKey(a store.Admin) string {
	sum := sha256.Sum256([]byte("chatd-session\x00" + a.Hash))
	return hex.EncodeToString(sum[:8])
}

// OnRevoke sets fn to be called after any session ends before its time or
// by expiry (logout, timer, Sweep). fn runs on the revoking goroutine with no
// lock of Auth held; it may call Verify.
func (a *Auth) OnRevoke(fn func()) {
	a.hookMu.Lock()
	a.hook = fn
	a.hookMu.Unlock()
}

func (a *Auth) revoked() {
	a.hookMu.Lock()
	fn := a.hook
	a.hookMu.Unlock()
	if fn != nil {
		fn()
	}
}
