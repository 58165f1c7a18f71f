package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/internal/atomicfile"
	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/store"
)

// Agents manages the agents in the admins file, which stays the source of
// truth: a change is written to the file and applied at once, as if an
// operator had run `chatd admin set` (sessions of a removed agent, or of
// one whose password changed, end with their sockets). cmd/chatd provides it.
type Agents interface {
	// List reads the agents from the admins file.
	List() ([]store.Admin, error)
	// Set creates or changes agent name as c says and applies the file.
	// An error wrapping atomicfile.ErrNotDurable means the change was
	// written and applied, but a crash may undo it.
	Set(name string, c seed.Change) (store.Admin, error)
	// Remove removes agent name (seed.ErrNoSuchAdmin) and applies the file;
	// by is the agent removing it (the conversations it had are unassigned
	// in its name). atomicfile.ErrNotDurable: as for Set.
	Remove(name, by string) error
}

// Errors an Agents refuses changes with.
var (
	// ErrLastAdmin refuses a change that would leave no agent with the admin role.
	ErrLastAdmin = errors.New("at least one agent must keep the admin role")
	// ErrInvalidAgent wraps a refused name, role or display name (the message says why).
	ErrInvalidAgent = errors.New("invalid agent")
)

// minPassword is the shortest password the API takes, in characters (NIST
// SP 800-63B §5.1.1.2: at least 8). chatd admin set, the operator's own tool,
// takes shorter ones; both share seed.ValidPassword for the rest.
const minPassword = 8

// validAPIPassword checks a password sent to PUT /api/agents: seed.ValidPassword
// (at most seed.MaxPassword bytes, bcrypt's limit) and at least minPassword
// characters; the error is the message for the 400 answer.
func validAPIPassword(pw string) error {
	if err := seed.ValidPassword(pw); err != nil {
		return fmt.Errorf("password refused: %s", strings.TrimPrefix(err.Error(), seed.ErrBadPassword.Error()+": "))
	}
	if n := utf8.RuneCountInString(pw); n < minPassword {
		return fmt.Errorf("password refused: %d characters, at least %d (and at most %d bytes)", n, minPassword, seed.MaxPassword)
	}
	return nil
}

type agentJSON struct {
	Name    string `json:"name"`
	Display string `json:"display"`
	Role    string `json:"role"`
	TOTP    bool   `json:"totp"`
}

type agentPut struct {
	Password *string `json:"password"`
	Role     *string `json:"role"`
	Display  *string `json:"display"`
	TOTP     *string `json:"totp"` // "enable" (a new secret) or "disable"
	// OTP is a current two-factor code: needed when an agent turns its own
	// second factor off or replaces it (see secondFactorProof).
	OTP string `json:"otp"`
}

func agentOut(a store.Admin) agentJSON {
	return agentJSON{Name: a.Name, Display: a.Display, Role: a.EffectiveRole(), TOTP: a.TOTP != ""}
}

func (s *Server) agentRoutes() {
	if s.cfg.Agents == nil {
		return
	}
	s.mux.HandleFunc("GET /api/agents", s.listAgents)
	s.mux.HandleFunc("PUT /api/agents/{name}", s.putAgent)
	s.mux.HandleFunc("DELETE /api/agents/{name}", s.deleteAgent)
}

// listAgents answers GET /api/agents (admin role): 200 [{"name","display","role","totp"}].
func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.adminRole(w, r); !ok {
		return
	}
	list, err := s.cfg.Agents.List()
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("read the admins file")
		writeJSONError(w, http.StatusServiceUnavailable, "the admins file cannot be read")
		return
	}
	out := make([]agentJSON, 0, len(list))
	for _, a := range list {
		out = append(out, agentOut(a))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// putAgent answers PUT /api/agents/{name} {"password","role","display","totp"}
// (admin role; an agent may turn its own two-factor login on or off): 200
// with the agent, and with "totp": "enable" the new secret and its otpauth
// URI, shown this once.
func (s *Server) putAgent(w http.ResponseWriter, r *http.Request) {
	id, ok := s.cfg.Auth.Who(bearer(r))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chatd"`)
		writeJSONError(w, http.StatusUnauthorized, "admin token required")
		return
	}
	name := r.PathValue("name")
	var body agentPut
	if code, msg := readJSON(w, r, 8<<10, &body); code != 0 {
		writeJSONError(w, code, msg)
		return
	}
	self := name == id.Admin.Name && body.Password == nil && body.Role == nil && body.Display == nil && body.TOTP != nil
	if id.Admin.EffectiveRole() != store.RoleAdmin && !self {
		writeJSONError(w, http.StatusForbidden, "the admin role is required (an agent may only turn its own two-factor login on or off)")
		return
	}
	c := seed.Change{Role: body.Role, Display: body.Display} // Agents sets the bcrypt cost
	if body.Password != nil {
		if err := validAPIPassword(*body.Password); err != nil {
			writeJSONError(w, http.StatusBadRequest, err.Error())
			return
		}
		c.Password = *body.Password
	}
	var secret, uri string
	if body.TOTP != nil {
		switch *body.TOTP {
		case "enable":
			var err error
			if secret, uri, err = auth.NewTOTP("chatd", name); err != nil {
				writeJSONError(w, http.StatusServiceUnavailable, "cannot draw a secret, retry")
				return
			}
			c.TOTP = &secret
		case "disable":
			none := ""
			c.TOTP = &none
		default:
			writeJSONError(w, http.StatusBadRequest, `totp must be "enable" or "disable"`)
			return
		}
	}
	if body.TOTP != nil && !s.secondFactorProof(w, id.Admin, name, body.OTP) {
		return
	}
	a, err := s.cfg.Agents.Set(name, c)
	if !s.agentChanged(err) {
		s.agentFailed(w, err)
		return
	}
	ended := 0
	if secret != "" {
		// A new second factor: sessions opened without it end (the caller's own stays).
		keep := ""
		if name == id.Admin.Name {
			keep = bearer(r)
		}
		ended = s.cfg.Auth.EndOthers(name, keep)
	}
	s.cfg.Log.Info().Str("admin", id.Admin.Name).Str("agent", name).Bool("password", body.Password != nil).
		Bool("role", body.Role != nil).Bool("totp", body.TOTP != nil).Int("sessions_ended", ended).Msg("agent changed through the API")
	out := map[string]any{"name": a.Name, "display": a.Display, "role": a.EffectiveRole(), "totp": a.TOTP != ""}
	if err != nil {
		out["warning"] = notDurableWarning
	}
	if secret != "" {
		out["secret"], out["otpauth"] = secret, uri
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// deleteAgent answers DELETE /api/agents/{name} (admin role): 204, 404, or
// 409 for the last agent with the admin role.
func (s *Server) deleteAgent(w http.ResponseWriter, r *http.Request) {
	who, ok := s.adminRole(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if err := s.cfg.Agents.Remove(name, who); !s.agentChanged(err) {
		s.agentFailed(w, err)
		return
	}
	s.cfg.Log.Info().Str("admin", who).Str("agent", name).Msg("agent removed through the API")
	w.WriteHeader(http.StatusNoContent)
}

// notDurableWarning is the "warning" of a change in force that a crash may undo.
const notDurableWarning = "the change is in force, but the disk did not confirm it (the server log says why): a crash may undo it"

// agentChanged reports whether an Agents change is in force: err is nil, or
// says the change was applied but not made durable (atomicfile.ErrNotDurable:
// the admins file was already replaced, so answering a failure would tell
// the caller it did not happen while it is in force); the latter is logged.
func (s *Server) agentChanged(err error) bool {
	if err == nil {
		return true
	}
	if !errors.Is(err, atomicfile.ErrNotDurable) {
		return false
	}
	s.cfg.Log.Error().Err(err).Msg("admins file changed and in force, but not known to be durable: a crash may bring back the previous file")
	return true
}

// agentFailed answers a refused or failed change of the admins file.
func (s *Server) agentFailed(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, seed.ErrNoSuchAdmin):
		writeJSONError(w, http.StatusNotFound, "no such agent")
	case errors.Is(err, ErrLastAdmin):
		writeJSONError(w, http.StatusConflict, err.Error())
	case errors.Is(err, seed.ErrBadPassword):
		writeJSONError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, seed.ErrPasswordRequired):
		writeJSONError(w, http.StatusBadRequest, "a new agent needs a password")
	case errors.Is(err, ErrInvalidAgent):
		writeJSONError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), ErrInvalidAgent.Error()+": "))
	default:
		s.cfg.Log.Error().Err(err).Msg("change the admins file")
		writeJSONError(w, http.StatusServiceUnavailable, "the admins file could not be written (the server log says why): nothing changed; retry once the disk accepts writes")
	}
}
