package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/chatd/chatd/notify/push"
	"github.com/chatd/chatd/notify/webhook"
	"github.com/chatd/chatd/store"
)

// Push is the Web Push part of the API; *push.Sender satisfies it.
type Push interface {
	// PublicKey is the VAPID public key, base64url (the portal's applicationServerKey).
	PublicKey() string
	// Subscribe saves a browser's PushSubscription JSON for admin; refusals match push.ErrInvalid.
	Subscribe(ctx context.Context, admin string, raw []byte) (push.Subscription, error)
	// Unsubscribe removes admin's subscription at endpoint (missing: no error).
	Unsubscribe(ctx context.Context, admin, endpoint string) error
}

// Webhooks is the webhook delivery log; *webhook.Notifier satisfies it.
type Webhooks interface {
	Endpoints() []webhook.EndpointInfo
	Deliveries() []webhook.Delivery
}

// maxPushBody bounds a PushSubscription body: the endpoint (at most
// push.MaxEndpoint bytes) and two short keys.
const maxPushBody = push.MaxEndpoint + 1024

func (s *Server) notifyRoutes() {
	s.mux.HandleFunc("GET /api/push/vapid", s.pushKey)
	s.mux.HandleFunc("POST /api/push/subscriptions", s.pushSubscribe)
	s.mux.HandleFunc("DELETE /api/push/subscriptions", s.pushUnsubscribe)
	s.mux.HandleFunc("GET /api/webhooks", s.webhookLog)
}

// pushKey answers GET /api/push/vapid: 200 {"key": "<VAPID public key>"},
// or 404 when web push is not configured. The key is public; no token needed.
func (s *Server) pushKey(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Push == nil {
		writeJSONError(w, http.StatusNotFound, "web push is not enabled on this server (--push-subject)")
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, map[string]string{"key": s.cfg.Push.PublicKey()})
}

// admin returns the admin of r's Bearer token, or answers 401 and "".
func (s *Server) admin(w http.ResponseWriter, r *http.Request) string {
	name, ok := s.cfg.Auth.Verify(bearer(r))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chatd"`)
		writeJSONError(w, http.StatusUnauthorized, "admin token required")
		return ""
	}
	return name
}

// pushSubscribe answers POST /api/push/subscriptions (Bearer) with the
// browser's PushSubscription JSON: 201 {"id"}, 400 with the reason, 404
// without web push.
func (s *Server) pushSubscribe(w http.ResponseWriter, r *http.Request) {
	admin := s.admin(w, r)
	if admin == "" {
		return
	}
	if s.cfg.Push == nil {
		writeJSONError(w, http.StatusNotFound, "web push is not enabled on this server")
		return
	}
	body, code, msg := readBody(w, r, maxPushBody)
	if code != 0 {
		writeJSONError(w, code, msg)
		return
	}
	sub, err := s.cfg.Push.Subscribe(r.Context(), admin, body)
	var refused *push.RefusedError
	switch {
	case errors.As(err, &refused):
		// The operator's decision (--push-allow-private), so the operator
		// is told, once per refusal: the host only, the path is a capability.
		s.cfg.Log.Warn().Str("admin", admin).Str("host", refused.Host).
			Msg("push subscription refused: endpoint not on a public address (--push-allow-private allows it)")
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, push.ErrInvalid):
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.cfg.Log.Error().Err(err).Str("admin", admin).Msg("save push subscription")
		writeJSONError(w, http.StatusInternalServerError, "subscription not saved, retry")
		return
	}
	s.cfg.Log.Info().Str("admin", admin).Str("subscription", sub.ID).Msg("push subscription saved")
	writeJSON(w, http.StatusCreated, map[string]string{"id": sub.ID})
}

// pushUnsubscribe answers DELETE /api/push/subscriptions (Bearer)
// {"endpoint"}: 204 whether or not the admin had it.
func (s *Server) pushUnsubscribe(w http.ResponseWriter, r *http.Request) {
	admin := s.admin(w, r)
	if admin == "" {
		return
	}
	if s.cfg.Push == nil {
		writeJSONError(w, http.StatusNotFound, "web push is not enabled on this server")
		return
	}
	var req struct {
		Endpoint string `json:"endpoint"`
	}
	if code, msg := readJSON(w, r, maxPushBody, &req); code != 0 {
		writeJSONError(w, code, msg)
		return
	}
	if req.Endpoint == "" {
		writeJSONError(w, http.StatusBadRequest, "endpoint is required")
		return
	}
	if err := s.cfg.Push.Unsubscribe(r.Context(), admin, req.Endpoint); err != nil {
		s.cfg.Log.Error().Err(err).Str("admin", admin).Msg("remove push subscription")
		writeJSONError(w, http.StatusInternalServerError, "subscription not removed, retry")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type webhookLog struct {
	Endpoints  []webhook.EndpointInfo `json:"endpoints"`
	Deliveries []webhook.Delivery     `json:"deliveries"`
}

// webhookLog answers GET /api/webhooks (Bearer, admin role): the endpoints
// (scheme and host only) and the last deliveries, newest first; both empty
// without webhooks.
func (s *Server) webhookLog(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.requireRole(w, r, store.RoleAdmin); !ok {
		return
	}
	out := webhookLog{Endpoints: []webhook.EndpointInfo{}, Deliveries: []webhook.Delivery{}}
	if s.cfg.Webhooks != nil {
		out.Endpoints = s.cfg.Webhooks.Endpoints()
		out.Deliveries = s.cfg.Webhooks.Deliveries()
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}
