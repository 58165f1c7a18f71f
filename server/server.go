// Package server is chatd's HTTP surface: it routes the embedded static files,
// the hub's two WebSocket endpoints, the admin login API, backups, health and
// readiness probes and Prometheus metrics, and adds security headers.
package server

import (
	"crypto/subtle"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/internal/netaddr"
)

// Hub is the part of *hub.Hub the server routes to.
type Hub interface {
	ServeClient(w http.ResponseWriter, r *http.Request)
	ServeAdmin(w http.ResponseWriter, r *http.Request)
}

// Backuper writes a consistent snapshot of the store; *store.Store satisfies it.
type Backuper interface {
	Backup(w io.Writer) error
}

// Config is everything New needs.
type Config struct {
	Hub          Hub
	Store        Backuper
	Auth         *auth.Auth
	Static       fs.FS                      // served at "/"
	Metrics      *Metrics                   // nil disables /metrics
	MetricsToken string                     // if set, /metrics requires "Authorization: Bearer <token>"
	ClientIP     func(*http.Request) string // default: host of r.RemoteAddr
	// StoreHealth, when set, makes /readyz answer 503 with the store's reason
	// while the store cannot write (*db.DB.Health).
	StoreHealth func() db.Health
	// AddressKey groups a client IP for per-address limits (login attempts),
	// the same function the hub uses; default netaddr.Grouper(64).
	AddressKey func(ip string) string
	Log        zerolog.Logger
	// Inbox serves the inbox's endpoints (inbox.go); nil leaves them out.
	Inbox Inbox
	// Agents manages the admins file through the API (agents.go); nil leaves those endpoints out.
	Agents Agents
	// Push serves the Web Push API (notifyapi.go); nil: web push is off.
	Push Push
	// Webhooks serves the webhook delivery log; nil: no webhooks.
	Webhooks Webhooks
	// Availability, if set, serves GET /api/widget with its value as JSON
	// (the hub's Availability; widgetapi.go).
	Availability func() any
	// WidgetOrigin, if set, says whether a page's Origin may use the widget
	// (the hub's visitor-socket rule, --origins): GET /api/widget answers
	// others 403 origin_not_allowed. Nil allows every origin.
	WidgetOrigin func(*http.Request) bool
}

// Server is chatd's HTTP handler. Readiness starts false: call SetReady.
type Server struct {
	cfg   Config
	mux   *http.ServeMux
	ready atomic.Bool
}

// Content-Security-Policy on every response: no inline script or style anywhere.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; " +
	"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Request body limits.
const (
	maxLoginBody = 4 << 10
)

// New builds the handler.
func New(cfg Config) *Server {
	if cfg.ClientIP == nil {
		cfg.ClientIP = RemoteIP
	}
	if cfg.AddressKey == nil {
		cfg.AddressKey = netaddr.Grouper(netaddr.DefaultIPv6Prefix)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.Handle("GET /", newAssets(s.cfg.Static))
	s.mux.HandleFunc("GET /ws/client", s.cfg.Hub.ServeClient)
	s.mux.HandleFunc("GET /ws/admin", s.cfg.Hub.ServeAdmin)
	s.mux.HandleFunc("POST /api/login", s.login)
	s.mux.HandleFunc("POST /api/logout", s.logout)
	s.mux.HandleFunc("GET /api/session", s.session)
	s.mux.HandleFunc("GET /api/backup", s.backup)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.inboxRoutes()
	s.agentRoutes()
	s.notifyRoutes()
	s.widgetRoutes()
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.metrics())
	}
}

// SetReady switches /readyz between 200 (true) and 503 (false). While ready,
// /readyz is still 503 when the store cannot write (Config.StoreHealth).
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// ServeHTTP adds the security headers and routes r.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if h := ambiguousHeader(r); h != "" {
		writeJSONError(w, http.StatusBadRequest, "the request holds "+h+" twice; send it once")
		return
	}
	if s.apiMiss(r) {
		s.apiNoRoute(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready\n")
		return
	}
	if s.cfg.StoreHealth != nil {
		if h := s.cfg.StoreHealth(); !h.OK {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready: store "+h.Reason+"\n")
			return
		}
	}
	io.WriteString(w, "ready\n")
}

func (s *Server) metrics() http.Handler {
	h := s.cfg.Metrics.Handler()
	if s.cfg.MetricsToken == "" {
		return h
	}
	want := []byte(s.cfg.MetricsToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(bearer(r))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bearer returns the token of an "Authorization: Bearer <token>" header, or "".
func bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	const p = "bearer "
	if len(v) > len(p) && strings.EqualFold(v[:len(p)], p) {
		return strings.TrimSpace(v[len(p):])
	}
	return ""
}

// Time limits of chatd's HTTP servers (HTTPServer). A client must send a
// request's headers within headerTimeout and the whole request, headers and
// body, within requestTimeout: without the second bound a client declaring a
// body and sending it a byte at a time, or never, held a connection and its
// goroutine for as long as it liked, on every route (net/http reads a body
// the handler left unread before it answers). Every JSON body chatd takes is
// at most a few KiB, which a slow phone link sends in well under a second.
// Writing is not bounded: a backup may stream for minutes, and a WebSocket
// upgrade clears both deadlines (gorilla/websocket Upgrade), its keepalive
// (--ping-period) bounds it from then on.
const (
	headerTimeout  = 10 * time.Second
	requestTimeout = 30 * time.Second
	idleTimeout    = 120 * time.Second
)

// HTTPServer wraps h in an http.Server with timeouts suited to chatd (see
// requestTimeout). Every HTTP server chatd runs is built here: the public
// listener, the control socket and pprof.
func HTTPServer(h http.Handler, log zerolog.Logger) *http.Server {
	return httpServer(h, log, headerTimeout, requestTimeout)
}

// httpServer is HTTPServer with its two read bounds given (tests shorten them).
// net/http's ReadTimeout is the whole-request bound: it runs from when the
// server starts reading a request and is lifted once its body was read (the
// server's background read clears the deadline), so a long answer is not cut.
func httpServer(h http.Handler, log zerolog.Logger, header, request time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: header,
		ReadTimeout:       request,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          newStdLog(log),
	}
}
