// Package auth logs support agents in: it checks passwords against the
// admins' bcrypt hashes, rate-limits attempts per IP and per name, and issues
// random login tokens kept in memory only (a restart revokes them all).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/chatd/chatd/store"
)

// Errors returned by Login.
var (
	// ErrBadCredentials means the name is unknown or the password wrong.
	ErrBadCredentials = errors.New("invalid name or password")
	// ErrRateLimited means too many failed attempts for this IP or name.
	ErrRateLimited = errors.New("too many login attempts")
)

// Admins looks admins up; *store.Store satisfies it.
type Admins interface {
	// Admin finds an admin by name; store.ErrNotFound if none.
	Admin(name string) (store.Admin, error)
}

// Config tunes an Auth. Zero fields take the documented defaults.
type Config struct {
	TTL       time.Duration // token lifetime; default 12h
	Attempts  rate.Limit    // failed attempts allowed per second per IP and per name; default 5/min
	Burst     int           // burst of failed attempts; default 5
	DummyCost int           // bcrypt cost of the hash unknown names are checked against; default 12
	Now       func() time.Time
	// Sessions keeps the login sessions; default: this process's memory
	// (a restart revokes them all). A cluster shares them between nodes.
	Sessions Sessions
}

// Auth issues and verifies admin login tokens. It satisfies hub.Auth.
type Auth struct {
	cfg    Config
	admins Admins
	dummy  []byte

	mu        sync.Mutex
	sessions  map[[sha256.Size]byte]session
	limiters  map[string]*limiter // "ip:<addr>" and "name:<name>"
	lastPrune time.Time
}

type session struct {
	hash    [sha256.Size]byte
	admin   string
	expires time.Time
}

type limiter struct {
	lim  *rate.Limiter
	used time.Time
}

// New returns an Auth checking passwords against admins.
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
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return nil, fmt.Errorf("auth: dummy password: %w", err)
	}
	dummy, err := bcrypt.GenerateFromPassword(pw, cfg.DummyCost)
	if err != nil {
		return nil, fmt.Errorf("auth: dummy hash: %w", err)
	}
	return &Auth{
		cfg:      cfg,
		admins:   admins,
		dummy:    dummy,
		sessions: make(map[[sha256.Size]byte]session),
		limiters: make(map[string]*limiter),
	}, nil
}

// Login checks name and password for a request from ip and returns a new
// token and its expiry. Failures cost the same bcrypt time for unknown names.
func (a *Auth) Login(ip, name, password string) (token string, expires time.Time, err error) {
	now := a.cfg.Now()
	resIP, resName, ok := a.reserve(now, ip, name)
	if !ok {
		return "", time.Time{}, ErrRateLimited
	}
	hash := a.dummy
	adm, lookupErr := a.admins.Admin(name)
	if lookupErr == nil {
		hash = []byte(adm.Hash)
	} else if !errors.Is(lookupErr, store.ErrNotFound) {
		resIP.CancelAt(now)
		resName.CancelAt(now)
		return "", time.Time{}, fmt.Errorf("login: look up admin: %w", lookupErr)
	}
	pwErr := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if lookupErr != nil || pwErr != nil {
		return "", time.Time{}, ErrBadCredentials // the reservations stay spent
	}
	// Success: give the attempt back so only failures count.
	resIP.CancelAt(now)
	resName.CancelAt(now)

	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, fmt.Errorf("login: token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	h := sha256.Sum256([]byte(token))
	expires = now.Add(a.cfg.TTL)
	if a.cfg.Sessions != nil {
		if err := a.cfg.Sessions.PutSession(h, name, expires); err != nil {
			return "", time.Time{}, fmt.Errorf("login: store session: %w", err)
		}
		return token, expires, nil
	}
	a.mu.Lock()
	a.sessions[h] = session{hash: h, admin: name, expires: expires}
	a.mu.Unlock()
	return token, expires, nil
}

// reserve takes one attempt from the IP's and the name's limiters, or none.
func (a *Auth) reserve(now time.Time, ip, name string) (*rate.Reservation, *rate.Reservation, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pruneLocked(now)
	rIP := a.limiterLocked(now, "ip:"+ip).ReserveN(now, 1)
	rName := a.limiterLocked(now, "name:"+name).ReserveN(now, 1)
	if !rIP.OK() || !rName.OK() || rIP.DelayFrom(now) > 0 || rName.DelayFrom(now) > 0 {
		rIP.CancelAt(now)
		rName.CancelAt(now)
		return nil, nil, false
	}
	return rIP, rName, true
}

func (a *Auth) limiterLocked(now time.Time, key string) *rate.Limiter {
	l, ok := a.limiters[key]
	if !ok {
		l = &limiter{lim: rate.NewLimiter(a.cfg.Attempts, a.cfg.Burst)}
		a.limiters[key] = l
	}
	l.used = now
	return l.lim
}

// pruneLocked drops expired sessions and limiters idle long enough to be full again, once a minute.
func (a *Auth) pruneLocked(now time.Time) {
	if now.Sub(a.lastPrune) < time.Minute {
		return
	}
	a.lastPrune = now
	refill := time.Duration(float64(a.cfg.Burst)/float64(a.cfg.Attempts)*float64(time.Second)) + time.Minute
	for k, l := range a.limiters {
		if now.Sub(l.used) > refill {
			delete(a.limiters, k)
		}
	}
	for k, s := range a.sessions {
		if !now.Before(s.expires) {
			delete(a.sessions, k)
		}
	}
}

// Verify returns the admin owning token if the token is live and the admin still exists.
func (a *Auth) Verify(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	h := sha256.Sum256([]byte(token))
	now := a.cfg.Now()
	s, ok := a.session(h)
	if ok && !now.Before(s.expires) {
		a.dropSession(h)
		ok = false
	}
	if !ok || subtle.ConstantTimeCompare(s.hash[:], h[:]) != 1 {
		return "", false
	}
	if _, err := a.admins.Admin(s.admin); err != nil {
		return "", false
	}
	return s.admin, true
}

// Logout revokes token; it reports whether the token was live.
func (a *Auth) Logout(token string) bool {
	h := sha256.Sum256([]byte(token))
	return a.dropSession(h)
}

// Sessions keeps login sessions by the SHA-256 of their token (the token
// itself is never kept). Implementations are safe for concurrent use.
type Sessions interface {
	PutSession(hash [sha256.Size]byte, admin string, expires time.Time) error
	GetSession(hash [sha256.Size]byte) (admin string, expires time.Time, ok bool)
	DeleteSession(hash [sha256.Size]byte) (existed bool)
}

// session looks a session up in cfg.Sessions or in memory.
func (a *Auth) session(h [sha256.Size]byte) (session, bool) {
	if a.cfg.Sessions != nil {
		admin, expires, ok := a.cfg.Sessions.GetSession(h)
		return session{hash: h, admin: admin, expires: expires}, ok
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[h]
	return s, ok
}

// dropSession forgets a session; it reports whether it existed.
func (a *Auth) dropSession(h [sha256.Size]byte) bool {
	if a.cfg.Sessions != nil {
		return a.cfg.Sessions.DeleteSession(h)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.sessions[h]
	delete(a.sessions, h)
	return ok
}
