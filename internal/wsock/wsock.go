// Package wsock serves WebSocket sessions over gorilla/websocket with one
// goroutine per idle session: the one that reads it. Frames to send queue on
// the session and a writer goroutine exists only while the queue is not
// empty; pings come from one goroutine per Server. An idle socket therefore
// costs one goroutine stack (4 KiB), not two, and no timer of its own.
//
// The API follows github.com/olahol/melody v1 (which the hub used before):
// the same handlers, configuration, session methods and errors, so that the
// hub's behaviour (buffer limits, slow consumers, close frames) is unchanged.
package wsock

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Errors reported to the error handler or returned.
var (
	// ErrClosed: the Server was closed; no new sessions.
	ErrClosed = errors.New("wsock: server is closed")
	// ErrSessionClosed: the session is closed or closing (a close frame is queued).
	ErrSessionClosed = errors.New("wsock: session is closed")
	// ErrMessageBufferFull goes to the error handler when a Write finds
	// Config.MessageBufferSize frames already waiting; the frame is dropped.
	ErrMessageBufferFull = errors.New("wsock: session message buffer is full")
)

// Config holds a Server's timing and limits.
type Config struct {
	WriteWait         time.Duration // bound on writing one frame; default 10 s
	PongWait          time.Duration // a session that answers no ping for this long is closed; default 60 s
	PingPeriod        time.Duration // a ping every this often; default 54 s (must be below PongWait)
	MaxMessageSize    int64         // frames above this close the session (gorilla's ErrReadLimit, close 1009); default 512
	MessageBufferSize int           // frames that may wait to be written; default 256
}

// Server holds the handlers and the open sessions of one kind of socket.
type Server struct {
	Config   *Config
	Upgrader *websocket.Upgrader

	onConnect, onDisconnect func(*Session)
	onMessage, onBinary     func(*Session, []byte)
	onSent, onSentBinary    func(*Session, []byte)
	onError                 func(*Session, error)

	mu       sync.Mutex
	sessions map[*Session]struct{}
	closed   bool
	pingStop chan struct{} // non-nil while the ping goroutine runs (while sessions exist)
}

// New returns a Server with the default configuration and no-op handlers.
func New() *Server {
	nop := func(*Session) {}
	nopMsg := func(*Session, []byte) {}
	return &Server{
		Config: &Config{
			WriteWait: 10 * time.Second, PongWait: 60 * time.Second, PingPeriod: 54 * time.Second,
			MaxMessageSize: 512, MessageBufferSize: 256,
		},
		Upgrader:     &websocket.Upgrader{},
		onConnect:    nop,
		onDisconnect: nop,
		onMessage:    nopMsg, onBinary: nopMsg, onSent: nopMsg, onSentBinary: nopMsg,
		onError:  func(*Session, error) {},
		sessions: map[*Session]struct{}{},
	}
}

// HandleConnect sets the function called once a session is upgraded, before it is read.
func (m *Server) HandleConnect(fn func(*Session)) { m.onConnect = fn }

// HandleDisconnect sets the function called once a session has ended.
func (m *Server) HandleDisconnect(fn func(*Session)) { m.onDisconnect = fn }

// HandleMessage sets the function called with each text frame, on the session's reading goroutine.
func (m *Server) HandleMessage(fn func(*Session, []byte)) { m.onMessage = fn }

// HandleMessageBinary sets the function called with each binary frame.
func (m *Server) HandleMessageBinary(fn func(*Session, []byte)) { m.onBinary = fn }

// HandleSentMessage sets the function called after a text frame was written.
func (m *Server) HandleSentMessage(fn func(*Session, []byte)) { m.onSent = fn }

// HandleSentMessageBinary sets the function called after a binary frame was written.
func (m *Server) HandleSentMessageBinary(fn func(*Session, []byte)) { m.onSentBinary = fn }

// HandleError sets the function called with read and write errors and ErrMessageBufferFull.
func (m *Server) HandleError(fn func(*Session, error)) { m.onError = fn }

// HandleRequestWithKeys upgrades r and serves the session until it ends; it
// returns after the disconnect handler ran. keys become Session.Keys.
func (m *Server) HandleRequestWithKeys(w http.ResponseWriter, r *http.Request, keys map[string]any) error {
	if m.isClosed() {
		return ErrClosed
	}
	conn, err := m.Upgrader.Upgrade(w, r, w.Header())
	if err != nil {
		return err
	}
	s := &Session{Request: r, Keys: keys, conn: conn, m: m}
	m.register(s)
	m.onConnect(s)
	s.read()
	m.unregister(s)
	s.close()
	m.onDisconnect(s)
	return nil
}

// HandleRequest is HandleRequestWithKeys without keys.
func (m *Server) HandleRequest(w http.ResponseWriter, r *http.Request) error {
	return m.HandleRequestWithKeys(w, r, nil)
}

// Close refuses new sessions and queues a close frame on every open one.
func (m *Server) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	m.closed = true
	all := make([]*Session, 0, len(m.sessions))
	for s := range m.sessions {
		all = append(all, s)
	}
	m.mu.Unlock()
	for _, s := range all {
		_ = s.CloseWithMsg([]byte{})
	}
	return nil
}

// IsClosed reports whether Close was called.
func (m *Server) IsClosed() bool { return m.isClosed() }

func (m *Server) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// Len is the number of open sessions.
func (m *Server) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

func (m *Server) register(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s.pingAt = time.Now().Add(m.Config.PingPeriod)
	m.sessions[s] = struct{}{}
	if m.pingStop == nil {
		m.pingStop = make(chan struct{})
		go m.pings(m.pingStop)
	}
}

func (m *Server) unregister(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, s)
	if len(m.sessions) == 0 && m.pingStop != nil {
		close(m.pingStop)
		m.pingStop = nil
	}
}

// pings queues a ping on each session whose ping is due, checking a few
// times a ping period, until stop is closed (no session is left).
func (m *Server) pings(stop chan struct{}) {
	step := min(max(m.Config.PingPeriod/8, 5*time.Millisecond), time.Second)
	t := time.NewTicker(step)
	defer t.Stop()
	var due []*Session
	for {
		var now time.Time
		select {
		case <-stop:
			return
		case now = <-t.C:
		}
		m.mu.Lock()
		due = due[:0]
		for s := range m.sessions {
			if !s.pingAt.After(now) {
				s.pingAt = now.Add(m.Config.PingPeriod)
				due = append(due, s)
			}
		}
		m.mu.Unlock()
		for _, s := range due {
			s.queue(websocket.PingMessage, nil, true)
		}
		clear(due)
	}
}

// Session is one WebSocket connection.
type Session struct {
	// Request is the upgrade request; the application may drop it (set nil)
	// once it has read what it needs.
	Request *http.Request
	// Keys are the values given to HandleRequestWithKeys.
	Keys map[string]any

	conn   *websocket.Conn
	m      *Server
	pingAt time.Time // guarded by m.mu

	mu      sync.Mutex
	frames  []frame // waiting to be written
	writing bool    // a writer goroutine is running
	closing bool    // a close frame is queued: nothing more is accepted
	closed  bool
}

type frame struct {
	t   int
	msg []byte
}

// Write queues a text frame. A full buffer drops it and reports
// ErrMessageBufferFull to the error handler (Write itself returns nil).
func (s *Session) Write(msg []byte) error { return s.queue(websocket.TextMessage, msg, false) }

// WriteBinary queues a binary frame, like Write.
func (s *Session) WriteBinary(msg []byte) error { return s.queue(websocket.BinaryMessage, msg, false) }

// Close queues a close frame without a payload; the connection closes once it is written.
func (s *Session) Close() error { return s.CloseWithMsg([]byte{}) }

// CloseWithMsg queues a close frame with payload msg (see FormatCloseMessage)
// after the frames already queued; the connection closes once it is written.
func (s *Session) CloseWithMsg(msg []byte) error { return s.queue(websocket.CloseMessage, msg, true) }

// IsClosed reports whether the session is closed or closing.
func (s *Session) IsClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed || s.closing
}

// Get returns the value of key in Keys.
func (s *Session) Get(key string) (any, bool) {
	v, ok := s.Keys[key]
	return v, ok
}

func (s *Session) queue(t int, msg []byte, control bool) error {
	s.mu.Lock()
	if s.closed || s.closing {
		s.mu.Unlock()
		return ErrSessionClosed
	}
	if !control && len(s.frames) >= s.m.Config.MessageBufferSize {
		s.mu.Unlock()
		s.m.onError(s, ErrMessageBufferFull)
		return nil
	}
	if t == websocket.PingMessage {
		for _, f := range s.frames {
			if f.t == websocket.PingMessage {
				s.mu.Unlock()
				return nil // one ping waiting is enough
			}
		}
	}
	s.closing = t == websocket.CloseMessage
	s.frames = append(s.frames, frame{t, msg})
	start := !s.writing
	s.writing = true
	s.mu.Unlock()
	if start {
		go s.write()
	}
	return nil
}

// write sends the queued frames in order and ends when none is left.
func (s *Session) write() {
	for {
		s.mu.Lock()
		if s.closed || len(s.frames) == 0 {
			s.writing = false
			s.frames = nil // an idle session holds no buffer
			s.mu.Unlock()
			return
		}
		f := s.frames[0]
		s.frames[0] = frame{}
		s.frames = s.frames[1:]
		s.mu.Unlock()

		_ = s.conn.SetWriteDeadline(time.Now().Add(s.m.Config.WriteWait))
		if err := s.conn.WriteMessage(f.t, f.msg); err != nil {
			s.m.onError(s, err)
			s.close()
			return
		}
		switch f.t {
		case websocket.CloseMessage:
			s.close()
			return
		case websocket.TextMessage:
			s.m.onSent(s, f.msg)
		case websocket.BinaryMessage:
			s.m.onSentBinary(s, f.msg)
		}
	}
}

// read reads frames until the connection fails or closes; a session that
// answers no ping within PongWait is closed by the read deadline.
func (s *Session) read() {
	c := s.m.Config
	s.conn.SetReadLimit(c.MaxMessageSize)
	_ = s.conn.SetReadDeadline(time.Now().Add(c.PongWait))
	s.conn.SetPongHandler(func(string) error {
		return s.conn.SetReadDeadline(time.Now().Add(c.PongWait))
	})
	for {
		t, msg, err := s.conn.ReadMessage()
		if err != nil {
			s.m.onError(s, err)
			return
		}
		switch t {
		case websocket.TextMessage:
			s.m.onMessage(s, msg)
		case websocket.BinaryMessage:
			s.m.onBinary(s, msg)
		}
	}
}

// close closes the connection once; the reading goroutine then ends the session.
func (s *Session) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.frames = nil
	s.mu.Unlock()
	_ = s.conn.Close()
}

// FormatCloseMessage is a close frame payload: code and text (RFC 6455 §5.5.1).
func FormatCloseMessage(code int, text string) []byte {
	return websocket.FormatCloseMessage(code, text)
}
