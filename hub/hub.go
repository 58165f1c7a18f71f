// Package hub is chatd's WebSocket hub: it serves visitor and admin sockets with
// melody, routes events between them through its own room index, and stores
// through the Store interface. It knows nothing of buntdb.
package hub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
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
	SendBuffer       int           // frames queued per visitor socket before it is closed; default 64
	AdminSendBuffer  int           // frames queued per admin socket (admins get every message); default 4096
	PingPeriod       time.Duration // default 30s; pong wait is twice that
	AllowedOrigins   []string      // visitor socket origins; empty = any
	// ClientIP returns the remote IP of r (honouring trusted proxy headers); default r.RemoteAddr's host.
	ClientIP func(r *http.Request) string
}

// Defaults of Config.
const (
	DefaultMaxText          = 4096
	DefaultMaxFrame         = 16 << 10
	DefaultMaxName          = 64
	DefaultMsgRate          = 5
	DefaultMsgBurst         = 10
	DefaultSocketsPerVisit  = 8
	DefaultSocketsPerIP     = 64
	DefaultNewVisitorsPerIP = 30
	DefaultSendBuffer       = 64
	DefaultAdminSendBuffer  = 4096
	DefaultPingPeriod       = 30 * time.Second
)

// HardFrameFactor times MaxFrame is the size at which melody drops a socket
// (close code 1009) instead of reading the frame and answering too_large.
const HardFrameFactor = 4

// Close codes the hub sends.
const (
	CloseRestart = 1012 // server shutdown: reconnect with backoff
	ClosePolicy  = 1008 // unauthorized, too many connections
	CloseError   = 1011 // the store failed while replaying history
)

// writeWait bounds one frame write and the wait for room in the send buffer.
const writeWait = 10 * time.Second

// storeWait bounds one store call made for a socket.
const storeWait = 10 * time.Second

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	setInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setInt(&c.MaxText, DefaultMaxText)
	setInt(&c.MaxName, DefaultMaxName)
	setInt(&c.MsgBurst, DefaultMsgBurst)
	setInt(&c.SocketsPerVisit, DefaultSocketsPerVisit)
	setInt(&c.SocketsPerIP, DefaultSocketsPerIP)
	setInt(&c.NewVisitorsPerIP, DefaultNewVisitorsPerIP)
	setInt(&c.SendBuffer, DefaultSendBuffer)
	setInt(&c.AdminSendBuffer, DefaultAdminSendBuffer)
	if c.MaxFrame <= 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	if c.MsgRate <= 0 {
		c.MsgRate = DefaultMsgRate
	}
	if c.PingPeriod <= 0 {
		c.PingPeriod = DefaultPingPeriod
	}
	if c.ClientIP == nil {
		c.ClientIP = remoteHost
	}
	return c
}

// remoteHost is the host part of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
type Hub struct {
	cfg  Config
	lim  limits
	st   Store
	feed Feed // st as a Feed when it is one (cluster), else nil: see Feed
	auth Auth
	log  zerolog.Logger

	clients     *melody.Melody // visitor sockets
	admins      *melody.Melody // admin sockets
	writePool   sync.Pool      // write buffers shared by all sockets
	idx         *index
	seq         *sequencer
	msgLimits   *limiters // per visitor, shared by its tabs
	newVisitors *limiters // per IP
	origins     map[string]bool

	stored      atomic.Uint64
	droppedSlow atomic.Uint64
	rejected    [len(errorCodes)]atomic.Uint64
	stopOnce    sync.Once
}

// connKey is the melody session key holding the *conn.
const connKey = "conn"

// New builds a hub over st that checks admin tokens with auth.
func New(cfg Config, st Store, auth Auth, log zerolog.Logger) *Hub {
	cfg = cfg.WithDefaults()
	h := &Hub{
		cfg:         cfg,
		lim:         limits{maxFrame: int(cfg.MaxFrame), maxText: cfg.MaxText, maxName: cfg.MaxName},
		st:          st,
		auth:        auth,
		log:         log,
		idx:         newIndex(),
		msgLimits:   newLimiters(rate.Limit(cfg.MsgRate), cfg.MsgBurst),
		newVisitors: newLimiters(rate.Every(time.Minute/time.Duration(cfg.NewVisitorsPerIP)), cfg.NewVisitorsPerIP),
		origins:     make(map[string]bool),
	}
	for _, o := range cfg.AllowedOrigins {
		h.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	h.seq = newSequencer(h.deliver)
	if f, ok := st.(Feed); ok {
		h.feed = f
		h.idx.presence = f.SetPresence
		f.Subscribe(h.deliverCommitted, h.deliverStatus)
	}

	h.clients = h.newMelody(cfg.SendBuffer, h.checkClientOrigin)
	h.admins = h.newMelody(cfg.AdminSendBuffer, sameOrigin)
	return h
}

// newMelody configures one melody instance: visitor and admin sockets differ
// in send buffer and origin policy.
func (h *Hub) newMelody(buffer int, checkOrigin func(*http.Request) bool) *melody.Melody {
	m := melody.New()
	// Frames up to MaxFrame are read and checked; up to HardFrameFactor times
	// it they are read and answered too_large; above that melody closes (1009).
	m.Config.MaxMessageSize = h.cfg.MaxFrame * HardFrameFactor
	m.Config.MessageBufferSize = buffer
	m.Config.PingPeriod = h.cfg.PingPeriod
	m.Config.PongWait = 2 * h.cfg.PingPeriod
	m.Config.WriteWait = writeWait
	m.Upgrader = &websocket.Upgrader{
		HandshakeTimeout: writeWait,
		// A small reader of our own, so net/http's 4 KiB one can be freed;
		// frames larger than it are read in pieces.
		ReadBufferSize: 1024,
		// Write buffers come from a pool and are held only while a frame is
		// written, so an idle socket holds none.
		WriteBufferSize: 4096,
		WriteBufferPool: &h.writePool,
		CheckOrigin:     checkOrigin,
	}
	m.HandleConnect(h.onConnect)
	m.HandleDisconnect(h.onDisconnect)
	m.HandleMessage(h.onMessage)
	m.HandleMessageBinary(func(s *melody.Session, _ []byte) {
		if c := connOf(s); c != nil {
			h.reply(c, refuse(codeBadJSON, "binary frames are not accepted", ""))
		}
	})
	m.HandleSentMessage(func(s *melody.Session, _ []byte) {
		if c := connOf(s); c != nil {
			c.onSent()
		}
	})
	m.HandleError(h.onError)
	return m
}

// ServeClient upgrades r to a visitor socket (GET /ws/client).
func (h *Hub) ServeClient(w http.ResponseWriter, r *http.Request) { h.serve(w, r, kindClient) }

// ServeAdmin upgrades r to an admin socket (GET /ws/admin).
func (h *Hub) ServeAdmin(w http.ResponseWriter, r *http.Request) { h.serve(w, r, kindAdmin) }

func (h *Hub) serve(w http.ResponseWriter, r *http.Request, kind int) {
	c := newConn(h, kind, r)
	over, err := h.idx.enter(c.ip, h.cfg.SocketsPerIP)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "server restarting", http.StatusServiceUnavailable)
		return
	}
	if over {
		c.reject = codeTooMany
		h.log.Warn().Str("remote", c.remote).Str("ip", c.ip).Msg("too many sockets from one IP")
	}
	m := h.clients
	if kind == kindAdmin {
		m = h.admins
	}
	// The socket runs on its own goroutine and this handler returns once the
	// upgrade is done: net/http's connection goroutine then ends and frees
	// its 8 KiB stack and 8 KiB of buffers, a third of an idle socket's cost.
	failed := make(chan error, 1)
	go h.run(m, hijackWriter{w, c}, slimRequest(r), c, !over, failed)
	select {
	case <-c.upgraded:
	case err := <-failed:
		if errors.Is(err, melody.ErrClosed) {
			http.Error(w, "server restarting", http.StatusServiceUnavailable)
		}
	}
}

// run serves one socket until it closes. Its arguments are passed, not
// captured, so nothing of net/http's request stays reachable after the upgrade.
func (h *Hub) run(m *melody.Melody, w http.ResponseWriter, r *http.Request, c *conn, counted bool, failed chan<- error) {
	defer h.idx.leave(c.ip, counted)
	defer func() {
		// net/http no longer guards this goroutine: a bug ends one socket, not chatd.
		if v := recover(); v != nil {
			h.log.Error().Str("panic", fmt.Sprint(v)).Bytes("stack", debug.Stack()).Str("remote", c.remote).
				Msg("bug: socket goroutine panicked")
			c.forceClose()
			failed <- fmt.Errorf("panic: %v", v)
		}
	}()
	err := m.HandleRequestWithKeys(w, r, map[string]any{connKey: c})
	if err != nil {
		h.log.Debug().Err(err).Str("remote", c.remote).Msg("websocket upgrade failed")
	}
	failed <- err
}

// upgradeHeaders are the request headers the WebSocket upgrade reads.
var upgradeHeaders = []string{"Connection", "Upgrade", "Origin", "Sec-Websocket-Version",
	"Sec-Websocket-Key", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions"}

// slimRequest copies what the upgrade needs from r: melody keeps the request
// for the socket's life, and a browser's cookies and other headers would cost
// every idle socket a kilobyte or more.
func slimRequest(r *http.Request) *http.Request {
	s := &http.Request{
		Method: r.Method, URL: r.URL, Proto: r.Proto, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor,
		Host: r.Host, RemoteAddr: r.RemoteAddr, RequestURI: r.RequestURI,
		Header: make(http.Header, len(upgradeHeaders)),
	}
	for _, k := range upgradeHeaders {
		if v, ok := r.Header[k]; ok {
			s.Header[k] = v
		}
	}
	return s
}

// checkClientOrigin: the visitor socket takes any origin unless
// AllowedOrigins is set, then those and the server's own.
func (h *Hub) checkClientOrigin(r *http.Request) bool {
	if len(h.origins) == 0 || sameOrigin(r) {
		return true
	}
	return h.origins[strings.ToLower(strings.TrimRight(r.Header.Get("Origin"), "/"))]
}

// sameOrigin accepts no Origin (non-browser tools) or the server's own:
// the Origin's host equals the request's Host.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func connOf(s *melody.Session) *conn {
	v, _ := s.Get(connKey)
	c, _ := v.(*conn)
	return c
}

func (h *Hub) onConnect(s *melody.Session) {
	c := connOf(s)
	if c == nil {
		return
	}
	c.s = s
	// Nothing reads the request after the upgrade; melody would keep it (URL,
	// headers) for the socket's whole life.
	s.Request = nil
	close(c.upgraded)
	switch {
	case !h.idx.open(c):
		c.closeWith(CloseRestart, "server restart")
	case c.reject != "":
		h.reply(c, refuse(c.reject, "too many sockets from this address", ""))
		c.closeWith(ClosePolicy, c.reject)
	}
}

func (h *Hub) onDisconnect(s *melody.Session) {
	c := connOf(s)
	if c == nil {
		return
	}
	c.closing.Store(true)
	last := h.idx.close(c)
	id := c.who()
	if id == nil || c.kind != kindClient {
		if id != nil {
			h.log.Debug().Str("admin", id.name).Str("remote", c.remote).Msg("admin disconnected")
		}
		return
	}
	h.msgLimits.release(id.visitor)
	if last {
		ctx, cancel := context.WithTimeout(context.Background(), storeWait)
		defer cancel()
		if err := h.st.TouchVisitor(ctx, id.visitor, time.Now()); err != nil {
			h.log.Warn().Err(err).Str("visitor", id.visitor).Msg("touch visitor on disconnect")
		}
	}
	h.log.Debug().Str("visitor", id.visitor).Str("remote", c.remote).Bool("last", last).Msg("visitor disconnected")
}

func (h *Hub) onError(s *melody.Session, err error) {
	c := connOf(s)
	if c == nil {
		return
	}
	switch {
	case errors.Is(err, melody.ErrMessageBufferFull):
		c.dropSlow("send buffer full")
	case errors.Is(err, websocket.ErrReadLimit):
		h.count(codeTooLarge)
		h.log.Info().Str("visitor", c.logVisitor()).Str("admin", c.logAdmin()).Str("remote", c.remote).
			Msg("frame above the hard size limit; socket closed")
	default:
		h.log.Debug().Err(err).Str("visitor", c.logVisitor()).Str("admin", c.logAdmin()).Str("remote", c.remote).
			Msg("socket error")
	}
}

// reply sends an error frame to c and counts it.
func (h *Hub) reply(c *conn, fe *frameError) {
	h.count(fe.Code)
	c.write(encodeFrame(evError, fe))
}

func (h *Hub) count(code string) {
	for i, k := range errorCodes {
		if k == code {
			h.rejected[i].Add(1)
			return
		}
	}
}

// Shutdown refuses new sockets and closes every open one with close code 1012.
func (h *Hub) Shutdown(ctx context.Context) error {
	var err error
	h.stopOnce.Do(func() {
		for _, c := range h.idx.stop() {
			c.closeWith(CloseRestart, "server restart")
		}
		if err = h.idx.wait(ctx); err != nil {
			// Out of time: drop what is left without a close frame, and give
			// the handlers a moment to return before melody is closed.
			for _, c := range h.idx.stop() {
				c.forceClose()
			}
			grace, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if h.idx.wait(grace) != nil {
				h.log.Warn().Msg("sockets still open after shutdown deadline")
				return
			}
		}
		h.clients.Close()
		h.admins.Close()
	})
	return err
}

// Stats returns a snapshot of the live counters.
func (h *Hub) Stats() Stats {
	v, vs, a := h.idx.counts()
	st := Stats{
		Visitors:       v,
		VisitorSockets: vs,
		Admins:         a,
		MessagesStored: h.stored.Load(),
		DroppedSlow:    h.droppedSlow.Load(),
		Rejected:       make(map[string]uint64, len(errorCodes)),
	}
	for i, k := range errorCodes {
		st.Rejected[k] = h.rejected[i].Load()
	}
	return st
}
