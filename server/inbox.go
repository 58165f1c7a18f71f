package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/store"
)

// Inbox is the part of the hub the inbox's HTTP endpoints use (canned
// replies); *hub.Hub satisfies it. Changes go through the hub so that every
// admin socket is told.
type Inbox interface {
	CannedReplies() ([]store.Canned, error)
	SetCanned(ctx context.Context, shortcut, text, by string) (saved store.Canned, changed bool, err error)
	DeleteCanned(ctx context.Context, shortcut, by string) error
	ExportVisitor(id string) (store.VisitorExport, error)
	DeleteVisitor(ctx context.Context, id, by string) (store.Deleted, error)
	// Settings and SetSettings read and change the inbox settings (settings.go).
	Settings() hub.SettingsView
	SetSettings(ctx context.Context, p store.SettingsPatch, by string) (hub.SettingsView, error)
}

// maxCannedBody bounds a PUT /api/canned body: the text limit's ceiling and JSON around it.
const maxCannedBody = store.CeilMaxText*6 + 1024

func (s *Server) inboxRoutes() {
	if s.cfg.Inbox == nil {
		return
	}
	s.mux.HandleFunc("GET /api/canned", s.listCanned)
	s.mux.HandleFunc("PUT /api/canned/{shortcut}", s.putCanned)
	s.mux.HandleFunc("DELETE /api/canned/{shortcut}", s.deleteCanned)
	s.mux.HandleFunc("GET /api/visitors/{id}/export", s.exportVisitor)
	s.mux.HandleFunc("DELETE /api/visitors/{id}", s.deleteVisitor)
	s.mux.HandleFunc("GET /api/settings", s.getSettings)
	s.mux.HandleFunc("PUT /api/settings", s.putSettings)
}

// exportVisitor answers GET /api/visitors/{id}/export (admin role): 200 with
// everything kept of the visitor as a JSON attachment, or 404.
func (s *Server) exportVisitor(w http.ResponseWriter, r *http.Request) {
	name, ok := s.adminRole(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	ex, err := s.cfg.Inbox.ExportVisitor(id)
	if err != nil {
		s.storeFailed(w, "export visitor", err)
		return
	}
	s.cfg.Log.Info().Str("admin", name).Str("visitor", id).Int("messages", len(ex.Messages)).Msg("visitor data exported")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="chatd-visitor-`+ex.ID+`.json"`)
	writeJSON(w, http.StatusOK, ex)
}

// deleteVisitor answers DELETE /api/visitors/{id} (admin role): 200
// {"id","messages"} once everything kept of the visitor is deleted, or 404.
func (s *Server) deleteVisitor(w http.ResponseWriter, r *http.Request) {
	name, ok := s.adminRole(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	d, err := s.cfg.Inbox.DeleteVisitor(r.Context(), id, name)
	if err != nil {
		s.storeFailed(w, "delete visitor", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "messages": d.Messages})
}

// agent returns the login of r's Bearer token, or answers 401.
func (s *Server) agent(w http.ResponseWriter, r *http.Request) (string, bool) {
	name, ok := s.cfg.Auth.Verify(bearer(r))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chatd"`)
		writeJSONError(w, http.StatusUnauthorized, "admin token required")
		return "", false
	}
	return name, true
}

// adminRole returns the login of r's Bearer token if its agent has the
// admin role (requireRole), else answers 401 or 403.
func (s *Server) adminRole(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, ok := s.requireRole(w, r, store.RoleAdmin)
	return id.Admin.Name, ok
}

type cannedJSON struct {
	Shortcut string `json:"shortcut"`
	Text     string `json:"text"`
	Updated  string `json:"updated"`
	By       string `json:"by"`
}

func cannedOut(c store.Canned) cannedJSON {
	return cannedJSON{Shortcut: c.Shortcut, Text: c.Text, Updated: c.Updated.UTC().Format("2006-01-02T15:04:05.000Z07:00"), By: c.By}
}

// listCanned answers GET /api/canned (any agent): 200 [{"shortcut","text","updated","by"}].
func (s *Server) listCanned(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.agent(w, r); !ok {
		return
	}
	list, err := s.cfg.Inbox.CannedReplies()
	if err != nil {
		s.storeFailed(w, "read canned replies", err)
		return
	}
	out := make([]cannedJSON, 0, len(list))
	for _, c := range list {
		out = append(out, cannedOut(c))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// putCanned answers PUT /api/canned/{shortcut} {"text"} (admin role): 200
// with the reply, 400 for a bad shortcut or text.
func (s *Server) putCanned(w http.ResponseWriter, r *http.Request) {
	name, ok := s.adminRole(w, r)
	if !ok {
		return
	}
	var body struct {
		Text *string `json:"text"`
	}
	if code, msg := readJSON(w, r, maxCannedBody, &body); code != 0 {
		writeJSONError(w, code, msg)
		return
	}
	if body.Text == nil {
		writeJSONError(w, http.StatusBadRequest, "body must be {\"text\": \"...\"}")
		return
	}
	sc := r.PathValue("shortcut")
	saved, _, err := s.cfg.Inbox.SetCanned(r.Context(), sc, *body.Text, name)
	if err != nil {
		s.storeFailed(w, "store canned reply", err)
		return
	}
	writeJSON(w, http.StatusOK, cannedOut(saved)) // what was stored, as GET /api/canned shows it
}

// deleteCanned answers DELETE /api/canned/{shortcut} (admin role): 204, or 404.
func (s *Server) deleteCanned(w http.ResponseWriter, r *http.Request) {
	name, ok := s.adminRole(w, r)
	if !ok {
		return
	}
	if err := s.cfg.Inbox.DeleteCanned(r.Context(), r.PathValue("shortcut"), name); err != nil {
		s.storeFailed(w, "delete canned reply", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// storeFailed answers a failed store call: 404 for store.ErrNotFound, 400
// with the model's reason for store.ErrInvalid, else 503.
func (s *Server) storeFailed(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeJSONError(w, http.StatusNotFound, "not found")
	case errors.Is(err, store.ErrInvalid):
		writeJSONError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": "))
	default:
		s.cfg.Log.Error().Err(err).Msg(what)
		writeJSONError(w, http.StatusServiceUnavailable, "store unavailable, retry")
	}
}
