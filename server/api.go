package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/internal/jsontext"
	"github.com/chatd/chatd/store"
)

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Device   string `json:"device"` // optional: a device token for clients without cookies
	OTP      string `json:"otp"`    // the two-factor code, for agents who have one (auth/totp.go)
}

type loginResponse struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
	Device  string    `json:"device"`
}

// DeviceCookie is the cookie holding the device token of the last successful
// login from a browser (see auth's login limits). It is sent only to
// POST /api/login, is HttpOnly and SameSite=Strict, and proves nothing but
// that this browser logged in as that name before.
const DeviceCookie = "chatd_device"

// deviceCookieAge is how long a browser keeps the device token.
const deviceCookieAge = 90 * 24 * time.Hour

// login answers POST /api/login {"name","password"} with 200
// {"token","expires","device"}, 401 or 429 (with Retry-After).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if code, msg := readJSON(w, r, maxLoginBody, &req); code != 0 {
		writeJSONError(w, code, msg)
		return
	}
	device := req.Device
	if c, err := r.Cookie(DeviceCookie); err == nil && device == "" {
		device = c.Value
	}
	ip := s.cfg.ClientIP(r)
	// Login attempts are limited per address as the hub counts addresses (IPv6 by prefix).
	g, err := s.cfg.Auth.Login(auth.Attempt{
		Addr: s.cfg.AddressKey(ip), Name: req.Name, Password: req.Password, Device: device, OTP: req.OTP,
	})
	name := req.Name // user input: bounded before it reaches the log
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	var limited *auth.LimitError
	switch {
	case errors.As(err, &limited):
		s.cfg.Metrics.loginFailed("rate_limited")
		s.cfg.Log.Warn().Str("remote", ip).Str("admin", name).Str("scope", limited.Scope).Msg("login rate limited")
		w.Header().Set("Retry-After", strconv.Itoa(int(limited.RetryAfter.Seconds())))
		writeJSONError(w, http.StatusTooManyRequests, "too many login attempts, try again later")
		return
	case errors.Is(err, auth.ErrOTPRequired), errors.Is(err, auth.ErrBadOTP):
		s.cfg.Metrics.loginFailed("bad_otp")
		s.cfg.Log.Info().Str("remote", ip).Str("admin", name).Bool("code_given", req.OTP != "").Msg("login needs a valid two-factor code")
		state := "required"
		if errors.Is(err, auth.ErrBadOTP) {
			state = "invalid"
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a valid two-factor code is required", "otp": state})
		return
	case errors.Is(err, auth.ErrBadCredentials):
		s.cfg.Metrics.loginFailed("bad_credentials")
		s.cfg.Log.Info().Str("remote", ip).Str("admin", name).Msg("login failed")
		writeJSONError(w, http.StatusUnauthorized, "invalid name or password")
		return
	case err != nil:
		s.cfg.Metrics.loginFailed("error")
		s.cfg.Log.Error().Err(err).Str("remote", ip).Msg("login")
		writeJSONError(w, http.StatusServiceUnavailable, "login unavailable, retry")
		return
	}
	s.cfg.Log.Info().Str("remote", ip).Str("admin", name).Msg("admin logged in")
	http.SetCookie(w, &http.Cookie{
		Name: DeviceCookie, Value: g.Device, Path: "/api/login", MaxAge: int(deviceCookieAge.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, loginResponse{Token: g.Token, Expires: g.Expires.UTC(), Device: g.Device})
}

// logout answers POST /api/logout with a Bearer token: 204, session ended
// (its sockets are closed at once); 503 if the store could not record it.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	token := bearer(r)
	if token == "" {
		writeJSONError(w, http.StatusUnauthorized, "missing Authorization: Bearer token")
		return
	}
	live, err := s.cfg.Auth.Logout(token)
	if err != nil {
		s.cfg.Log.Error().Err(err).Str("remote", s.cfg.ClientIP(r)).Msg("logout not recorded in the store")
		writeJSONError(w, http.StatusServiceUnavailable, "logged out here, but not recorded: retry")
		return
	}
	if live {
		s.cfg.Log.Debug().Str("remote", s.cfg.ClientIP(r)).Msg("admin logged out")
	}
	w.WriteHeader(http.StatusNoContent)
}

type sessionResponse struct {
	Name    string    `json:"name"`
	Display string    `json:"display"`         // as agents see it (admin:agents): the display name, or the login
	Visitor string    `json:"visitor_display"` // as visitors see it: the display name, or "Support"
	Role    string    `json:"role"`
	Expires time.Time `json:"expires"`
}

// session answers GET /api/session (Bearer token) with who the session is:
// 200 {"name","display","visitor_display","role","expires"} or 401.
// display is the name other agents see (as in admin:agents), visitor_display
// the one visitors see (store.Admin.DisplayName).
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	id, ok := s.cfg.Auth.Who(bearer(r))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chatd"`)
		writeJSONError(w, http.StatusUnauthorized, "no live session for this token")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, sessionResponse{
		Name: id.Admin.Name, Display: id.Admin.AgentsSee(), Visitor: id.Admin.DisplayName(), Role: id.Admin.EffectiveRole(), Expires: id.Expires.UTC(),
	})
}

// requireRole returns the session of r's Bearer token if its admin has role,
// else answers 401 or 403 and returns false.
func (s *Server) requireRole(w http.ResponseWriter, r *http.Request, role string) (auth.Identity, bool) {
	id, ok := s.cfg.Auth.Who(bearer(r))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chatd"`)
		writeJSONError(w, http.StatusUnauthorized, "admin token required")
		return id, false
	}
	if id.Admin.EffectiveRole() != role {
		s.cfg.Log.Warn().Str("admin", id.Admin.Name).Str("remote", s.cfg.ClientIP(r)).Str("path", r.URL.Path).
			Str("role", id.Admin.EffectiveRole()).Msg("management endpoint refused for this role")
		writeJSONError(w, http.StatusForbidden, "the "+role+" role is required (chatd admin set NAME --role "+role+")")
		return id, false
	}
	return id, true
}

// BackupStatusTrailer is the HTTP trailer a backup response sets to "ok"
// after a complete snapshot; a download without it is incomplete.
const BackupStatusTrailer = "X-Chatd-Backup-Status"

// backup answers GET /api/backup (Bearer token of an admin-role session) with
// a consistent store snapshot.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	id, ok := s.requireRole(w, r, store.RoleAdmin)
	if !ok {
		return
	}
	s.writeBackup(w, id.Admin.Name)
}

// writeBackup streams a snapshot of the store with the status trailer.
func (s *Server) writeBackup(w http.ResponseWriter, who string) {
	w.Header().Set("Trailer", BackupStatusTrailer)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="chatd.db"`)
	w.Header().Set("Cache-Control", "no-store")
	start := time.Now()
	cw := &countWriter{w: w}
	if err := s.cfg.Store.Backup(cw); err != nil {
		w.Header().Set(BackupStatusTrailer, "failed")
		s.cfg.Log.Error().Err(err).Str("admin", who).Msg("backup failed")
		return
	}
	w.Header().Set(BackupStatusTrailer, "ok")
	s.cfg.Log.Info().Str("admin", who).Int64("bytes", cw.n).
		Dur("took_ms", time.Since(start)).Msg("backup sent")
}

type countWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// readJSON decodes a request body of at most max bytes into v (readBody),
// a struct's fields only by their exact json names (checkFields). It returns
// 0 on success, else the HTTP status and message to answer.
func readJSON(w http.ResponseWriter, r *http.Request, max int64, v any) (int, string) {
	body, code, msg := readBody(w, r, max)
	if code != 0 {
		return code, msg
	}
	if err := checkFields(body, v); err != nil {
		return http.StatusBadRequest, err.Error()
	}
	if err := json.Unmarshal(body, v); err != nil {
		if msg := typeMessage(err); msg != "" {
			return http.StatusBadRequest, msg
		}
		return http.StatusBadRequest, "body must be a JSON object of the documented fields"
	}
	return 0, ""
}

// readBody reads a JSON request body of at most max bytes for any handler,
// whoever decodes it next. A body that is not valid UTF-8, holds an unpaired
// surrogate escape, or names one field twice in an object is refused
// (jsontext.Check) rather than decoded with U+FFFD in place of what was
// sent, or with one of two values silently dropped. It returns the body, or
// the HTTP status and message to answer.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, int, string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge, "request body too large"
		}
		return nil, http.StatusBadRequest, "cannot read the request body"
	}
	if err := jsontext.Check(body); err != nil {
		if errors.Is(err, jsontext.ErrDuplicateName) {
			return nil, http.StatusBadRequest, "body is ambiguous: " + err.Error() + " (names are matched ignoring case)"
		}
		return nil, http.StatusBadRequest, "body is not valid text: " + err.Error()
	}
	return body, 0, ""
}

// writeJSON answers v as JSON, text as it is (no \u003c escaping).
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	jsontext.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
