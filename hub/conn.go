package hub

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/olahol/melody"
	"golang.org/x/time/rate"

	"github.com/chatd/chatd/store"
)

// Socket kinds.
const (
	kindClient = 1
	kindAdmin  = 2
)

// maxPending bounds the live frames held for a socket while its replay is sent.
const maxPending = 4096

// conn is the hub's state for one socket (one melody session).
type conn struct {
	h         *Hub
	kind      int
	ip        string // client IP, for logs
	addr      string // ip grouped as per-address limits count it (IPv6 by prefix)
	remote    string
	reject    string // error code to answer with, then close, as soon as it opens
	rejectMsg string
	ua        string // visitor socket: its User-Agent header until client:add records it

	raw      atomic.Pointer[net.Conn] // the hijacked connection, to drop a stuck socket
	s        *melody.Session
	closing  atomic.Bool   // force close started
	upgraded chan struct{} // closed once melody has the socket

	// Flow control for replays: frames queued to melody vs written by it.
	queued, sent atomic.Int64
	held         atomic.Int64 // own messages stored but not yet released by the sequencer
	drained      chan struct{}

	id atomic.Pointer[identity] // set once identified

	mu        sync.Mutex
	replaying bool      // live frames go to pending until the replay is out
	floor     uint64    // live messages with offset <= floor are already sent
	pending   []pending // live frames held during a replay
}

// identity is who a socket speaks for, fixed once identified.
type identity struct {
	visitor string        // visitor id (client sockets)
	name    string        // visitor name or admin name
	token   string        // admin token, re-checked on every admin event
	limiter *rate.Limiter // the visitor's message limiter, shared by its tabs
}

// who returns the socket's identity, nil before client:add / admin:add.
func (c *conn) who() *identity { return c.id.Load() }

// logVisitor and logAdmin name the socket in log lines.
func (c *conn) logVisitor() string {
	if id := c.who(); id != nil && c.kind == kindClient {
		return id.visitor
	}
	return ""
}

func (c *conn) logAdmin() string {
	if id := c.who(); id != nil && c.kind == kindAdmin {
		return id.name
	}
	return ""
}

type pending struct {
	offset uint64 // 0 for frames without offset (status events)
	frame  []byte
}

func newConn(h *Hub, kind int, r *http.Request) *conn {
	ip := h.cfg.ClientIP(r)
	var ua string
	if kind == kindClient {
		ua = cutUTF8(r.UserAgent(), store.MaxUserAgent)
	}
	return &conn{
		ua:       ua,
		h:        h,
		kind:     kind,
		ip:       ip,
		addr:     h.cfg.AddressKey(ip),
		remote:   r.RemoteAddr,
		upgraded: make(chan struct{}),
		drained:  make(chan struct{}, 1),
	}
}

// write queues frame on the socket; melody's error handler closes the socket
// if its buffer is full.
func (c *conn) write(frame []byte) {
	if c.closing.Load() {
		return
	}
	c.queued.Add(1)
	if err := c.s.Write(frame); err != nil {
		c.queued.Add(-1)
	}
}

// live delivers a frame produced after the socket was registered: held back
// while the replay is being sent, skipped if the replay already carried it.
func (c *conn) live(offset uint64, frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if offset != 0 && offset <= c.floor {
		return
	}
	if c.replaying {
		if len(c.pending) >= maxPending {
			c.dropSlow("replay backlog full")
			return
		}
		c.pending = append(c.pending, pending{offset, frame})
		return
	}
	c.write(frame)
}

// beginReplay makes live frames wait in pending until endReplay.
func (c *conn) beginReplay(after uint64) {
	c.mu.Lock()
	c.replaying, c.floor = true, after
	c.mu.Unlock()
}

// endReplay sets the floor to the last replayed offset, writes the replay's
// end marker and then the live frames held meanwhile.
func (c *conn) endReplay(floor uint64, marker []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if floor > c.floor {
		c.floor = floor
	}
	c.write(marker)
	for _, p := range c.pending {
		if p.offset == 0 || p.offset > c.floor {
			c.write(p.frame)
		}
	}
	c.pending, c.replaying = nil, false
}

// waitRoom blocks until fewer than n frames are queued on the socket, so a long
// replay never overflows the send buffer. False if the socket closed or made
// no progress within wait.
func (c *conn) waitRoom(n int64, wait time.Duration) bool {
	if c.backlog() < n {
		return !c.closing.Load()
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	// melody does not say when a session's writer stops, so look now and then.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for c.backlog() >= n {
		select {
		case <-c.drained:
		case <-tick.C:
			if c.closing.Load() || c.s.IsClosed() {
				return false
			}
		case <-timer.C:
			return false
		}
	}
	return !c.closing.Load()
}

// backlog is what the socket still has to send: frames queued to melody and
// acknowledgements of its own messages held back for offset order.
func (c *conn) backlog() int64 {
	return c.queued.Load() - c.sent.Load() + c.held.Load()
}

// released is called once an acknowledgement held for c went out.
func (c *conn) released() {
	c.held.Add(-1)
	select {
	case c.drained <- struct{}{}:
	default:
	}
}

// onSent counts a frame melody wrote.
func (c *conn) onSent() {
	c.sent.Add(1)
	select {
	case c.drained <- struct{}{}:
	default:
	}
}

// closeWith queues a close frame after what is already queued.
func (c *conn) closeWith(code int, reason string) {
	if err := c.s.CloseWithMsg(melody.FormatCloseMessage(code, reason)); err != nil && !errors.Is(err, melody.ErrSessionClosed) {
		c.forceClose()
	}
}

// dropSlow closes a socket that cannot keep up; it reconnects and replays by offset.
func (c *conn) dropSlow(why string) {
	if c.closing.Load() {
		return
	}
	c.h.droppedSlow.Add(1)
	c.h.log.Warn().Str("visitor", c.logVisitor()).Str("admin", c.logAdmin()).Str("remote", c.remote).
		Str("reason", why).Msg("closing slow socket")
	c.forceClose()
}

// forceClose drops the TCP connection without a close frame; melody then
// ends the session and the disconnect handler runs. It reports whether this
// call closed it. A write blocked on a full TCP window fails at once.
func (c *conn) forceClose() bool {
	if !c.closing.CompareAndSwap(false, true) {
		return false
	}
	if p := c.raw.Load(); p != nil {
		(*p).Close()
	}
	return true
}

// hijackWriter records the connection gorilla/websocket hijacks, so the hub
// can drop a socket whose melody buffer is full (melody offers no way to).
type hijackWriter struct {
	http.ResponseWriter
	c *conn
}

func (w hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hub: response writer cannot hijack")
	}
	nc, brw, err := hj.Hijack()
	if err == nil {
		w.c.raw.Store(&nc)
	}
	return nc, brw, err
}
