package auth

import (
	"errors"

	"github.com/chatd/chatd/store"
)

// CheckCode checks a current two-factor code of agent name with the given
// TOTP secret (RFC 6238, as at login: ±1 step, each step used once), for
// changes that need proof of the second factor (turning it off or
// replacing it). ErrOTPRequired for an empty code, ErrBadOTP otherwise.
func (a *Auth) CheckCode(name, secret, code string) error {
	if secret == "" {
		return errors.New("no two-factor login to check")
	}
	return a.checkOTP(name, secret, code, a.cfg.Now())
}

// EndOthers ends every session of agent name except the one of token keep
// ("" keeps none): they are forgotten, their sockets are ended (OnRevoke)
// and they are deleted from the store. It returns how many ended. Used when
// the agent's second factor is turned on or replaced: a session opened
// without it (perhaps by whoever learnt the password) must not outlive it.
func (a *Auth) EndOthers(name, keep string) int {
	keepID := ""
	if keep != "" {
		keepID = store.HashToken(keep)
	}
	a.mu.Lock()
	var dead []string
	for id, s := range a.sessions {
		if s.Admin == name && id != keepID {
			dead = append(dead, id)
		}
	}
	for _, id := range dead {
		delete(a.sessions, id)
	}
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
