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
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/chatd/chatd/internal/netaddr"
	"github.com/chatd/chatd/store"
)

// Config holds the hub's limits. Zero fields take the documented defaults.
// The name and text limits are the store's (Store.Limits), not the hub's.
type Config struct {
	MaxFrame         int64         // bytes of one frame; default 16384
	MsgRate          float64       // messages per second per visitor; default 5
	MsgBurst         int           // burst of messages per visitor; default 10
	SocketsPerVisit  int           // sockets per visitor; default 8
	SocketsPerIP     int           // sockets per IP; default 64
	NewVisitorsPerIP int           // visitors created per IP per minute; default 30
	SendBuffer       int           // frames queued per visitor socket before it is closed; default 64
	AdminSendBuffer  int           // frames queued per admin socket (admins get every message); default 4096
	PingPeriod       time.Duration // default 30s; pong wait is twice that
	AllowedOrigins   []string      // visitor socket origins (compared as NormalizeOrigin puts them; check them with it first); empty = any
	// ClientIP returns the remote IP of r (honouring trusted proxy headers); default r.RemoteAddr's host.
	ClientIP func(r *http.Request) string
	// AddressKey groups a client IP for every per-address limit (sockets,
	// new visitors, storage budget); default netaddr.Grouper(64).
	AddressKey func(ip string) string
	// QuotaVisitor and QuotaAddress are storage budgets in bytes per 24 hours
	// (refilled continuously) for one visitor and one address; defaults
	// DefaultQuotaVisitor and DefaultQuotaAddress.
	QuotaVisitor int
	QuotaAddress int
	// CloseWait bounds how long Shutdown lets sockets take their close frame
	// before it drops them; default 1s (never more than half the time left).
	CloseWait time.Duration
	// Observer is told of stored messages and presence, for notifications
	// (observer.go); default: nobody.
	Observer Observer

	// The inbox settings at start: admins may change those not Locked while
	// the hub runs, and a value an admin stored wins over these (settings.go).
	// AutoAssign gives conversations that visitors open to online agents in
	// turn; AssignLimit (0 = none) is the most open conversations an agent
	// gets that way (inbox.go).
	AutoAssign  bool
	AssignLimit int
	// TypingPreview sends admins the text a visitor is typing (admin:typing
	// preview); off, it is dropped on arrival (typing.go).
	TypingPreview bool
	// RetentionDays > 0 deletes visitors without activity for that many
	// days, sweeping every RetentionEvery (default 1h; privacy.go).
	RetentionDays  int
	RetentionEvery time.Duration
	// Locked names the inbox settings above the operator fixed at start
	// (store.SettingNames), each with the reason shown to admins, e.g. "set by
	// --typing-preview"; the others may be changed live (settings.go).
	Locked map[string]string
	// Clock is the time retention counts from; default time.Now.
	Clock func() time.Time
	// Availability and visitor information (availability.go, visitor_info.go, identify.go).
	Hours             Hours                        // business hours; nil = always open
	ReplyMinutes      int                          // typical reply time told to visitors; 0 = not told
	EmailCapture      string                       // EmailOff, EmailOptional (default) or EmailRequired
	CheckEmail        func(string) (string, error) // validates and normalises a visitor's address; nil refuses client:email
	Identity          IdentityVerifier             // verifies client:add identities; nil refuses them (bad_identity)
	Mailer            Mailer                       // transcripts and seen offsets; nil refuses client:transcript
	AvailabilityEvery time.Duration                // least time between client:availability broadcasts; default 2s
}

// Defaults of Config.
const (
	DefaultMaxFrame         = 16 << 10
	DefaultMsgRate          = 5
	DefaultMsgBurst         = 10
	DefaultSocketsPerVisit  = 8
	DefaultSocketsPerIP     = 64
	DefaultNewVisitorsPerIP = 30
	DefaultSendBuffer       = 64
	DefaultAdminSendBuffer  = 4096
	DefaultPingPeriod       = 30 * time.Second
	DefaultQuotaVisitor     = 1 << 20  // 1 MiB a day: about 2,000 short messages, 230 of the largest
	DefaultQuotaAddress     = 16 << 20 // 16 MiB a day for everyone behind one address
	DefaultCloseWait        = time.Second
)

// HardFrameFactor times MaxFrame is the size at which melody drops a socket
// (close code 1009) instead of reading the frame and answering too_large.
const HardFrameFactor = 4

// Close codes the hub sends.
const (
	CloseRestart     = 1012 // server shutdown: reconnect with backoff
	ClosePolicy      = 1008 // unauthorized, too many connections, origin not allowed
	CloseError       = 1011 // the store failed while replaying history
	CloseInvalidData = 1007 // a text frame that is not UTF-8 (RFC 6455 §8.1)
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
	setInt(&c.QuotaVisitor, DefaultQuotaVisitor)
	setInt(&c.QuotaAddress, DefaultQuotaAddress)
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
	if c.AddressKey == nil {
		c.AddressKey = netaddr.Grouper(netaddr.DefaultIPv6Prefix)
	}
	if c.CloseWait <= 0 {
		c.CloseWait = DefaultCloseWait
	}
	if c.RetentionEvery <= 0 {
		c.RetentionEvery = DefaultRetentionEvery
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	if c.EmailCapture == "" {
		c.EmailCapture = EmailOptional
	}
	if c.AvailabilityEvery <= 0 {
		c.AvailabilityEvery = DefaultAvailabilityEvery
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
	// Retention (privacy.go): sweeps run and visitors they deleted since start.
	RetentionSweeps, RetentionDeleted uint64
}

// Hub serves the visitor and admin sockets.
type Hub struct {
	cfg  Config
	lim  limits
	st   Store
	feed Feed // st as a Feed when it is one (cluster), else nil: see Feed
	auth Auth
	log  zerolog.Logger

	clients      *melody.Melody // visitor sockets
	admins       *melody.Melody // admin sockets
	writePool    sync.Pool      // write buffers shared by all sockets
	work         *workers       // frame handlers (workers.go)
	idx          *index
	seq          *sequencer
	msgLimits    *limiters // per visitor, shared by its tabs
	newVisitors  *limiters // per address
	pageLimits   *limiters // client:page writes per visitor
	quota        quotas
	origins      map[string]bool
	originLog    *rate.Limiter // refused origins logged at most this often
	originQuiet  atomic.Uint64 // refused origins not logged since the last line
	inbox        *inboxHub     // conversations: counts, snoozes, auto-assignment (inbox.go)
	typing       *typingHub    // typing throttles (typing.go)
	set          *settingsHub  // the inbox settings in force (settings.go)
	viewing      *viewing      // which conversation each admin socket shows (typing.go)
	searchLimits *limiters     // admin:search per agent (search.go)
	presence     *presence     // agents' status and the visitors' availability
	// Per visitor limits of the visitor-info events (visitor_info.go).
	infoLimits, seenLimits, transcriptLimits *limiters

	// storeDeadline bounds the store calls of messages (deadline.go).
	storeDeadline sharedDeadline

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
	sl := st.Limits()
	h := &Hub{
		cfg:         cfg,
		lim:         limits{maxFrame: int(cfg.MaxFrame), maxText: sl.Text, maxName: sl.Name},
		st:          st,
		auth:        auth,
		log:         log,
		idx:         newIndex(),
		msgLimits:   newLimiters(rate.Limit(cfg.MsgRate), cfg.MsgBurst),
		newVisitors: newLimiters(rate.Every(time.Minute/time.Duration(cfg.NewVisitorsPerIP)), cfg.NewVisitorsPerIP),
		pageLimits:  newLimiters(pageRate, pageBurst),
		quota:       newQuotas(cfg.QuotaVisitor, cfg.QuotaAddress),
		origins:     make(map[string]bool),
		originLog:   rate.NewLimiter(rate.Every(originLogEvery), originLogBurst),
	}
	for _, o := range cfg.AllowedOrigins {
		if n, err := NormalizeOrigin(o); err == nil {
			o = n
		}
		h.origins[o] = true
	}
	h.seq = newSequencer(st.LastOffset(), h.deliver)
	h.set = newSettingsHub(h, cfg, st)
	h.inbox = newInboxHub(h)
	h.typing, h.viewing = newTypingHub(func() bool { return h.settings().TypingPreview }), newViewing()
	h.searchLimits = newLimiters(searchRate, searchBurst)
	h.presence = newPresence(h, cfg.AvailabilityEvery)
	if f, ok := st.(Feed); ok {
		h.feed = f
		h.idx.presence = f.SetPresence
		f.Subscribe(FeedEvents{Message: h.deliverCommitted, Status: h.deliverStatus, Page: h.deliverPage,
			Agents: h.presence.fromFeed, Frame: h.feedFrame, Revoked: func() { h.RecheckAdmins() }})
	}
	h.infoLimits = newLimiters(infoRate, infoBurst)
	h.seenLimits = newLimiters(seenRate, seenBurst)
	h.transcriptLimits = newLimiters(transcriptRate, transcriptBurst)

	h.work = newWorkers()
	h.storeDeadline = sharedDeadline{wait: storeWait, slack: time.Second}
	h.clients = h.newMelody(cfg.SendBuffer)
	h.admins = h.newMelody(cfg.AdminSendBuffer)
	return h
}

// newMelody configures one melody instance: visitor and admin sockets differ
// in send buffer. The upgrade takes any Origin: a refused one is told so on
// the socket (serve), which a browser can read, unlike an HTTP 403.
func (h *Hub) newMelody(buffer int) *melody.Melody {
	m := melody.New()
	// Frames up to MaxFrame are read and checked; up to HardFrameFactor times
	// it they are read and answered too_large; above that melody closes (1009).
	m.Config.MaxMessageSize = h.cfg.MaxFrame * HardFrameFactor
	// melody gives each session a channel of this many frames (8 bytes a
	// slot) and calls the error handler when it is full: the hub then drops
	// the socket as slow (onError). Frames wait there only while the kernel's
	// send buffer is full; 16 instead of 64 saved 0.5 KiB of heap and no RSS
	// per idle visitor (docs/performance.md), so the default stays at 64.
	m.Config.MessageBufferSize = buffer
	// Pings keep proxies from closing quiet sockets; two missed pongs drop a
	// dead peer; a frame write that takes longer than writeWait fails.
	m.Config.PingPeriod = h.cfg.PingPeriod
	m.Config.PongWait = 2 * h.cfg.PingPeriod
	m.Config.WriteWait = writeWait
	m.Upgrader = &websocket.Upgrader{
		HandshakeTimeout: writeWait,
		// A small reader of our own, so net/http's 4 KiB one can be freed.
		// It holds frame headers and small frames (a few pipelined messages);
		// gorilla reads a larger payload past it, straight into the message.
		// 512 instead of 1024: 0.5 KiB less per idle socket, no measurable
		// change in flood throughput (docs/performance.md).
		ReadBufferSize: 512,
		// Write buffers come from a pool and are held only while a frame is
		// written, so an idle socket holds none.
		WriteBufferSize: 4096,
		WriteBufferPool: &h.writePool,
		CheckOrigin:     func(*http.Request) bool { return true },
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
	over, err := h.idx.enter(c.addr, h.cfg.SocketsPerIP)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "server restarting", http.StatusServiceUnavailable)
		return
	}
	allowed := sameOrigin(r)
	if kind == kindClient {
		allowed = h.checkClientOrigin(r)
	}
	switch {
	case !allowed:
		c.reject, c.rejectMsg = codeOrigin, "chat is not available on this site (origin not allowed)"
		h.logRefusedOrigin(c, r.Header.Get("Origin"))
	case over:
		c.reject, c.rejectMsg = codeTooMany, "too many sockets from this address"
		h.log.Warn().Str("remote", c.remote).Str("ip", c.ip).Str("addr", c.addr).Msg("too many sockets from one address")
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
	defer h.idx.leave(c.addr, counted)
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

// ClientOriginAllowed reports whether a page whose request is r may use the
// widget: any origin unless AllowedOrigins is set, then those and the
// server's own; a request without Origin (not a browser's page) is allowed.
// The visitor socket and GET /api/widget share this rule.
func (h *Hub) ClientOriginAllowed(r *http.Request) bool { return h.checkClientOrigin(r) }

// checkClientOrigin: the visitor socket takes any origin unless
// AllowedOrigins is set, then those and the server's own.
func (h *Hub) checkClientOrigin(r *http.Request) bool {
	if len(h.origins) == 0 || sameOrigin(r) {
		return true
	}
	o, err := requestOrigin(r)
	return err == nil && h.origins[o]
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
	case c.reject == codeOrigin:
		h.reply(c, refuse(c.reject, c.rejectMsg, ""))
		c.closeWith(ClosePolicy, "origin not allowed")
	case c.reject != "":
		h.reply(c, refuse(c.reject, c.rejectMsg, ""))
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
			h.adminLeft(c)
			h.presence.adminLeft(id.name)
			h.log.Debug().Str("admin", id.name).Str("remote", c.remote).Msg("admin disconnected")
		}
		return
	}
	h.msgLimits.release(id.visitor)
	if last {
		h.typing.stop(visitorTyper(id.visitor))
		if h.feed == nil { // with a Feed, presence is told cluster-wide (deliverStatus)
			h.cfg.Observer.VisitorPresence(id.visitor, false)
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeWait)
		defer cancel()
		// A visitor deleted while connected (privacy deletion, retention)
		// has no record left to touch: nothing to report.
		if err := h.st.TouchVisitor(ctx, id.visitor, time.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
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

// Shutdown refuses new sockets and closes every open one with close code
// 1012. A socket gets CloseWait (at most half the time left before ctx's
// deadline) to take its close frame; one that does not read (its TCP window
// is full, so the close frame cannot be written) is then dropped without one.
// Shutdown returns ctx's error only if socket handlers are still running at
// the deadline (e.g. one is stuck in a store call).
func (h *Hub) Shutdown(ctx context.Context) error {
	var err error
	h.stopOnce.Do(func() {
		h.inbox.shutdown()
		h.typing.shutdown()
		h.presence.stop()
		for _, c := range h.idx.stop() {
			c.closeWith(CloseRestart, "server restart")
		}
		wait := h.cfg.CloseWait
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl)/2)
		}
		grace, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		if h.idx.wait(grace) != nil {
			dropped := 0
			for _, c := range h.idx.stop() {
				if c.forceClose() {
					dropped++
				}
			}
			h.log.Info().Int("sockets", dropped).Dur("after_ms", wait).Msg("shutdown: dropped sockets that did not take their close frame")
		}
		if err = h.idx.wait(ctx); err != nil {
			h.log.Warn().Msg("socket handlers still running at the shutdown deadline")
			return
		}
		h.clients.Close()
		h.admins.Close()
		h.work.close()
	})
	return err
}

// ErrorCodes lists every code of the error frame (the keys of Stats.Rejected).
func ErrorCodes() []string { return append([]string(nil), errorCodes[:]...) }

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
	st.RetentionSweeps, st.RetentionDeleted = h.inbox.sweeps.Load(), h.inbox.retained.Load()
	for i, k := range errorCodes {
		st.Rejected[k] = h.rejected[i].Load()
	}
	return st
}
