// Package hub is chatd's WebSocket hub: it serves visitor and admin sockets with
// melody, routes events between them through its own room index, and stores
// through the Store interface. It knows nothing of buntdb.
package hub

import (
	"context"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// Config holds the hub's limits. Zero fields take the documented defaults.
type Config struct {
	MaxText          int           // bytes of message text; default 4096
	MaxFrame         int64         // bytes of one frame; default 16384
	MaxName          int           // characters of a visitor name; default 64
	MsgRate          float64       // messages per second per visitor; default 5
	MsgBurst         int           // burst of messages per visitor; default 10
	SocketsPerVisit  int           // sockets per visitor; default 8
	SocketsPerIP     int           // sockets per IP; default 64
	NewVisitorsPerIP int           // visitors created per IP per minute; default 30
	SendBuffer       int           // frames queued per socket before it is closed; default 128
	PingPeriod       time.Duration // default 30s; pong wait is twice that
	AllowedOrigins   []string      // visitor socket origins; empty = any
	// ClientIP returns the remote IP of r (honouring trusted proxy headers); default r.RemoteAddr's host.
	ClientIP func(r *http.Request) string
}

// Auth verifies admin login tokens.
type Auth interface {
	// Verify returns the admin name for a valid, unexpired token.
	Verify(token string) (admin string, ok bool)
}

// Stats are the hub's live counters, for metrics.
type Stats struct {
	Visitors       int               // visitors with at least one open socket
	VisitorSockets int               // open visitor sockets
	Admins         int               // open admin sockets
	MessagesStored uint64            // messages stored through this hub since start
	DroppedSlow    uint64            // sockets closed because their send buffer was full
	Rejected       map[string]uint64 // rejected frames by error code
}

// Hub serves the visitor and admin sockets.
type Hub struct{}

// New builds a hub over st that checks admin tokens with auth.
func New(cfg Config, st Store, auth Auth, log zerolog.Logger) *Hub { panic("hub: not implemented yet") }

// ServeClient upgrades r to a visitor socket (GET /ws/client).
func (h *Hub) ServeClient(w http.ResponseWriter, r *http.Request) { panic("todo") }

// ServeAdmin upgrades r to an admin socket (GET /ws/admin).
func (h *Hub) ServeAdmin(w http.ResponseWriter, r *http.Request) { panic("todo") }

// Shutdown refuses new sockets and closes every open one with close code 1012.
func (h *Hub) Shutdown(ctx context.Context) error { panic("todo") }

// Stats returns a snapshot of the live counters.
func (h *Hub) Stats() Stats { panic("todo") }
