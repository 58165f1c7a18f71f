package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/store"
)

// storeWait bounds one store call made for a session.
const storeWait = 5 * time.Second

// ErrClosed is returned by Login after Close.
var ErrClosed = errors.New("auth is closed")

// load reads the stored sessions, purges the dead ones and arms the timer.
func (a *Auth) load() error {
	if a.cfg.Sessions == nil {
		return nil
	}
	all, err := a.cfg.Sessions.Sessions()
	if err != nil {
		return fmt.Errorf("auth: load sessions: %w", err)
	}
	now := a.cfg.Now()
	var dead []string
	a.mu.Lock()
	for _, s := range all {
		if _, ok := a.valid(s, now); !ok {
			dead = append(dead, s.ID)
			continue
		}
		a.sessions[s.ID] = s
		a.rememberLocked(s.Admin, s.Addr, s.Created)
	}
	a.scheduleLocked(now)
	a.mu.Unlock()
	for _, id := range dead {
		if err := a.deleteStored(id); err != nil {
			return fmt.Errorf("auth: purge a dead session: %w", err)
		}
	}
	return nil
}

// add stores a new session (durably, per the store's fsync policy) before it
// is handed out, then keeps it in memory.
func (a *Auth) add(s store.Session) error {
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if a.cfg.Sessions != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeWait)
		defer cancel()
		if err := a.cfg.Sessions.AddSession(ctx, s); err != nil {
			return fmt.Errorf("login: %w", err)
		}
	}
	a.mu.Lock()
	a.sessions[s.ID] = s
	a.rememberLocked(s.Admin, s.Addr, s.Created)
	a.scheduleLocked(a.cfg.Now())
	a.mu.Unlock()
	return nil
}

func (a *Auth) deleteStored(id string) error {
	if a.cfg.Sessions == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	defer cancel()
	return a.cfg.Sessions.DeleteSession(ctx, id)
}

// Logout ends the session of token at once: it is forgotten in memory, its
// sockets are ended (OnRevoke) and it is deleted from the store. live reports
// whether it was live. An error means the store could not record it: the
// session is dead in this process, but the caller should retry so that it
// stays dead after a restart (a retry deletes it again).
func (a *Auth) Logout(token string) (live bool, err error) {
	if token == "" {
		return false, nil
	}
	id := store.HashToken(token)
	a.mu.Lock()
	_, live = a.sessions[id]
	delete(a.sessions, id)
	a.mu.Unlock()
	if live {
		a.revoked()
	}
	if err := a.deleteStored(id); err != nil {
		return live, fmt.Errorf("logout: %w", err)
	}
	return live, nil
}

// Sweep ends every session that is no longer valid (expired, its admin gone
// from the admins file, or its password changed), deletes them from the
// store, calls OnRevoke if any ended, and returns how many did. The expiry
// timer runs it; so does the admins file reload.
func (a *Auth) Sweep() int {
	a.sweepMu.Lock()
	defer a.sweepMu.Unlock()
	now := a.cfg.Now()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return 0
	}
	all := make([]store.Session, 0, len(a.sessions))
	for _, s := range a.sessions {
		all = append(all, s)
	}
	a.mu.Unlock()
	var dead []string
	for _, s := range all { // admins are looked up without a.mu held
		if _, ok := a.valid(s, now); !ok {
			dead = append(dead, s.ID)
		}
	}
	a.mu.Lock()
	for _, id := range dead {
		delete(a.sessions, id)
	}
	a.scheduleLocked(now)
	a.mu.Unlock()
	if len(dead) > 0 {
		a.revoked()
	}
	for _, id := range dead {
		if err := a.deleteStored(id); err != nil {
			a.cfg.Log.Error().Err(err).Msg("delete an ended admin session from the store; it is dead now and is purged at the next start")
		}
	}
	return len(dead)
}

// scheduleLocked arms the timer for the earliest expiry; callers hold a.mu.
func (a *Auth) scheduleLocked(now time.Time) {
	if a.closed {
		return
	}
	var next time.Time
	for _, s := range a.sessions {
		if next.IsZero() || s.Expires.Before(next) {
			next = s.Expires
		}
	}
	if next.IsZero() || (a.timer != nil && next.Equal(a.timerAt)) {
		return
	}
	if a.timer != nil {
		a.timer.Stop()
	}
	a.timerAt = next
	// A little after the instant, so that Now() has passed it when Sweep looks.
	a.timer = time.AfterFunc(next.Sub(now)+10*time.Millisecond, func() {
		a.mu.Lock()
		a.timerAt = time.Time{} // fired: the next schedule arms it again
		a.mu.Unlock()
		a.Sweep()
	})
}

// Sessions is the number of live sessions kept in memory.
func (a *Auth) Sessions() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sessions)
}

// Close stops the expiry timer and waits for a running sweep; later logins
// fail with ErrClosed. Call it before closing the store.
func (a *Auth) Close() {
	a.sweepMu.Lock()
	defer a.sweepMu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	if a.timer != nil {
		a.timer.Stop()
	}
}
