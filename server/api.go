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
)

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// login answers POST /api/login {"name","password"} with 200 {"token","expires"}, 401 or 429.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if code, msg := readJSON(w, r, maxLoginBody, &req); code != 0 {
		writeJSONError(w, code, msg)
		return
	}
	ip := s.cfg.ClientIP(r)
	// Login attempts are limited per address as the hub counts addresses (IPv6 by prefix).
	token, expires, err := s.cfg.Auth.Login(s.cfg.AddressKey(ip), req.Name, req.Password)
	name := req.Name // user input: bounded before it reaches the log
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		s.cfg.Metrics.loginFailed("rate_limited")
		s.cfg.Log.Warn().Str("remote", ip).Str("admin", name).Msg("login rate limited")
		w.Header().Set("Retry-After", strconv.Itoa(60))
		writeJSONError(w, http.StatusTooManyRequests, "too many login attempts, try again later")
		return
	case errors.Is(err, auth.ErrBadCredentials):
		s.cfg.Metrics.loginFailed("bad_credentials")
		s.cfg.Log.Info().Str("remote", ip).Str("admin", name).Msg("login failed")
		writeJSONError(w, http.StatusUnauthorized, "invalid name or password")
		return
	case err != nil:
		s.cfg.Metrics.loginFailed("error")
		s.cfg.Log.Error().Err(err).Str("remote", ip).Msg("login")
		writeJSONError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.cfg.Log.Info().Str("remote", ip).Str("admin", name).Msg("admin logged in")
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, loginResponse{Token: token, Expires: expires.UTC()})
}

// logout answers POST /api/logout with a Bearer token: 204, token revoked.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	token := bearer(r)
	if token == "" {
		writeJSONError(w, http.StatusUnauthorized, "missing Authorization: Bearer token")
		return
	}
	if s.cfg.Auth.Logout(token) {
		s.cfg.Log.Debug().Str("remote", s.cfg.ClientIP(r)).Msg("admin logged out")
	}
	w.WriteHeader(http.StatusNoContent)
}

// BackupStatusTrailer is the HTTP trailer GET /api/backup sets to "ok" after a
// complete snapshot; a download without it is incomplete.
const BackupStatusTrailer = "X-Chatd-Backup-Status"

// backup answers GET /api/backup (admin Bearer token) with a consistent store snapshot.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	admin, ok := s.cfg.Auth.Verify(bearer(r))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chatd"`)
		writeJSONError(w, http.StatusUnauthorized, "admin token required")
		return
	}
	w.Header().Set("Trailer", BackupStatusTrailer)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="chatd.db"`)
	w.Header().Set("Cache-Control", "no-store")
	start := time.Now()
	cw := &countWriter{w: w}
	if err := s.cfg.Store.Backup(cw); err != nil {
		w.Header().Set(BackupStatusTrailer, "failed")
		s.cfg.Log.Error().Err(err).Str("admin", admin).Msg("backup failed")
		return
	}
	w.Header().Set(BackupStatusTrailer, "ok")
	s.cfg.Log.Info().Str("admin", admin).Int64("bytes", cw.n).
		Dur("took", time.Since(start)).Msg("backup sent")
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

// readJSON decodes a request body of at most max bytes into v. A body that
// is not valid UTF-8 or holds an unpaired surrogate escape is refused
// (jsontext.Check) rather than decoded with U+FFFD in place of what was sent.
// It returns 0 on success, else the HTTP status and message to answer.
func readJSON(w http.ResponseWriter, r *http.Request, max int64, v any) (int, string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return http.StatusRequestEntityTooLarge, "request body too large"
		}
		return http.StatusBadRequest, "cannot read the request body"
	}
	if err := jsontext.Check(body); err != nil {
		return http.StatusBadRequest, "body is not valid text: " + err.Error()
	}
	if err := json.Unmarshal(body, v); err != nil {
		return http.StatusBadRequest, "body must be a JSON object of the documented fields"
	}
	return 0, ""
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
