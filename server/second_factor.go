package server

import (
	"errors"
	"net/http"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/store"
)

// secondFactorProof decides whether caller may turn agent name's two-factor
// login off or replace it. An agent changing its own second factor, while
// it has one, must send a current code (otp): a stolen session token alone
// must not remove or swap it. An agent with the admin role acting for
// another agent needs none (an agent who lost its device is helped this
// way). On refusal it answers 403 {"error", "otp": "required"|"invalid"}
// and returns false.
func (s *Server) secondFactorProof(w http.ResponseWriter, caller store.Admin, name, otp string) bool {
	if name != caller.Name || caller.TOTP == "" {
		return true
	}
	err := s.cfg.Auth.CheckCode(caller.Name, caller.TOTP, otp)
	if err == nil {
		return true
	}
	state := "invalid"
	if errors.Is(err, auth.ErrOTPRequired) {
		state = "required"
	}
	s.cfg.Log.Info().Str("admin", caller.Name).Str("otp", state).Msg("two-factor change refused: no valid current code")
	writeJSON(w, http.StatusForbidden, map[string]string{"error": "a valid current two-factor code is required to change it", "otp": state})
	return false
}
