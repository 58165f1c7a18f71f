package wsock

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// server starts m behind a real HTTP server on 127.0.0.1 and returns its ws:// URL.
func server(t *testing.T, m *Server) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = m.HandleRequestWithKeys(w, r, map[string]any{"path": r.URL.Path})
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// events records what the handlers saw, for waiting on them with a deadline.
type events struct {
	mu   sync.Mutex
	seen []string
	ch   chan struct{}
}

func newEvents() *events { return &events{ch: make(chan struct{}, 1000)} }

func (e *events) add(s string) {
	e.mu.Lock()
	e.seen = append(e.seen, s)
	e.mu.Unlock()
	e.ch <- struct{}{}
}

func (e *events) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		e.mu.Lock()
		for _, s := range e.seen {
			if s == want {
				e.mu.Unlock()
				return
			}
		}
		e.mu.Unlock()
		select {
		case <-e.ch:
		case <-deadline:
			t.Fatalf("no %q in %q", want, e.seen)
		}
	}
}

func TestEchoHandlersAndClose(t *testing.T) {
	m := New()
	ev := newEvents()
	m.HandleConnect(func(s *Session) {
		if v, _ := s.Get("path"); v != "/room" {
			t.Errorf("keys: %v", s.Keys)
		}
		ev.add("connect")
	})
	m.HandleMessage(func(s *Session, b []byte) {
		if string(b) == "bye" {
			_ = s.CloseWithMsg(FormatCloseMessage(4001, "asked"))
			return
		}
		_ = s.Write(append([]byte("echo:"), b...))
	})
	m.HandleMessageBinary(func(s *Session, b []byte) { _ = s.WriteBinary(b) })
	m.HandleSentMessage(func(s *Session, b []byte) { ev.add("sent " + string(b)) })
	m.HandleSentMessageBinary(func(s *Session, b []byte) { ev.add("sent binary") })
	m.HandleDisconnect(func(s *Session) { ev.add("disconnect") })
	c := dial(t, server(t, m)+"/room")
	ev.wait(t, "connect")
	for _, tc := range []struct {
		t         int
		in, want  string
		wantType  int
		sentEvent string
	}{
		{websocket.TextMessage, "a", "echo:a", websocket.TextMessage, "sent echo:a"},
		{websocket.BinaryMessage, "\x00\x01", "\x00\x01", websocket.BinaryMessage, "sent binary"},
		{websocket.TextMessage, "b", "echo:b", websocket.TextMessage, "sent echo:b"},
	} {
		if err := c.WriteMessage(tc.t, []byte(tc.in)); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.ReadMessage()
		if err != nil || typ != tc.wantType || string(got) != tc.want {
			t.Fatalf("%q: got %d %q %v", tc.in, typ, got, err)
		}
		ev.wait(t, tc.sentEvent)
	}
	c.WriteMessage(websocket.TextMessage, []byte("bye"))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Text != "asked" {
		t.Fatalf("close: %v", err)
	}
	ev.wait(t, "disconnect")
	if m.Len() != 0 {
		t.Fatalf("%d sessions left", m.Len())
	}
}

// TestFullBufferIsReported: a client that never reads fills the TCP window,
// the writer blocks, frames pile up and the error handler hears of the full
// buffer (the hub drops such a socket); writes after a close frame are refused.
func TestFullBufferIsReported(t *testing.T) {
	m := New()
	m.Config.MessageBufferSize = 8
	full := make(chan *Session, 1)
	m.HandleError(func(s *Session, err error) {
		if errors.Is(err, ErrMessageBufferFull) {
			select {
			case full <- s:
			default:
			}
		}
	})
	ready := make(chan *Session, 1)
	m.HandleConnect(func(s *Session) { ready <- s })
	dial(t, server(t, m))
	s := <-ready
	big := []byte(strings.Repeat("x", 64<<10))
	deadline := time.Now().Add(10 * time.Second)
	for len(full) == 0 && time.Now().Before(deadline) {
		if err := s.Write(big); err != nil {
			t.Fatal(err)
		}
	}
	if len(full) == 0 {
		t.Fatal("buffer never reported full")
	}
	if err := s.CloseWithMsg(FormatCloseMessage(1000, "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]byte("late")); !errors.Is(err, ErrSessionClosed) || !s.IsClosed() {
		t.Fatalf("write after close: %v", err)
	}
}

// TestPingsKeepAliveAndSilenceEnds: a client that reads answers the pings and
// stays; one that never reads never answers and is closed after PongWait.
func TestPingsKeepAliveAndSilenceEnds(t *testing.T) {
	m := New()
	m.Config.PingPeriod = 40 * time.Millisecond
	m.Config.PongWait = 200 * time.Millisecond
	ev := newEvents()
	m.HandleDisconnect(func(s *Session) { v, _ := s.Get("path"); ev.add("gone " + v.(string)) })
	url := server(t, m)
	alive := dial(t, url+"/alive")
	var pings atomic.Int32
	alive.SetPingHandler(func(data string) error {
		pings.Add(1)
		return alive.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := alive.ReadMessage(); err != nil {
				return
			}
		}
	}()
	dial(t, url+"/silent") // never reads: its pings stay unanswered
	ev.wait(t, "gone /silent")
	deadline := time.Now().Add(5 * time.Second)
	for pings.Load() < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
	if pings.Load() < 10 || m.Len() != 1 {
		t.Fatalf("%d pings, %d sessions", pings.Load(), m.Len())
	}
}

func TestReadLimitAndServerClose(t *testing.T) {
	m := New()
	m.Config.MaxMessageSize = 16
	errs := make(chan error, 10)
	m.HandleError(func(s *Session, err error) { errs <- err })
	url := server(t, m)
	c := dial(t, url)
	c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("y", 17)))
	if err := <-errs; !errors.Is(err, websocket.ErrReadLimit) {
		t.Fatalf("read limit: %v", err)
	}
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("client got %v, want close 1009", err)
	}

	open := dial(t, url)
	deadline := time.Now().Add(5 * time.Second)
	for m.Len() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
	if err := m.Close(); err != nil || !m.IsClosed() {
		t.Fatal(err)
	}
	if _, _, err := open.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNoStatusReceived) {
		t.Fatalf("open session at Close: %v", err)
	}
	if _, resp, err := websocket.DefaultDialer.Dial(url, nil); err == nil || resp == nil {
		t.Fatalf("dial after Close: %v", err)
	}
	if err := m.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// TestIdleSessionHoldsOneGoroutine: the point of the package.
func TestIdleSessionHoldsOneGoroutine(t *testing.T) {
	m := New()
	var connected sync.WaitGroup
	m.HandleConnect(func(s *Session) {
		_ = s.Write([]byte("hello")) // a frame written and done: no writer stays
		connected.Done()
	})
	url := server(t, m)
	before := runtime.NumGoroutine()
	const n = 50
	connected.Add(n)
	for i := 0; i < n; i++ {
		c := dial(t, url)
		if _, _, err := c.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	connected.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		// Per session: the server's reading goroutine (in net/http's handler) and
		// the client's own connection in this process; plus the ping goroutine.
		g := runtime.NumGoroutine() - before
		if g <= n+n/5+2 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d goroutines for %d idle sessions", g, n)
		case <-time.After(10 * time.Millisecond): // polling interval, not synchronisation
		}
	}
}
