package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/store"
	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"
)

// wait bounds every read a test makes; a test never waits longer for one event.
const wait = 10 * time.Second

// testAuth is a fixed table of admin tokens; tokens can be revoked mid-test.
type testAuth struct {
	mu sync.Mutex
	m  map[string]string
}

func (a *testAuth) Verify(token string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	name, ok := a.m[token]
	return name, ok
}

func (a *testAuth) revoke(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, token)
}

// logBuf collects the hub's log lines for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testServer is a real hub over a real store on 127.0.0.1:0.
type testServer struct {
	t    testing.TB
	hub  *Hub
	st   *store.Store
	auth *testAuth
	url  string // ws://127.0.0.1:port
	logs *logBuf
}

const adminToken = "good-admin-token"

func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return startServerWith(t, cfg, nil)
}

// startServerWith is startServer over a store with limits lim (nil: the defaults).
func startServerWith(t testing.TB, cfg Config, lim *store.Limits) *testServer {
	t.Helper()
	st, err := store.Open(t.TempDir(), db.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if lim != nil {
		if err := st.SetLimits(*lim); err != nil {
			t.Fatal(err)
		}
	}
	auth := &testAuth{m: map[string]string{adminToken: "alice", "bob-token": "bob"}}
	logs := &logBuf{}
	log := zerolog.New(logs).Level(zerolog.InfoLevel)
	h := New(cfg, st, auth, log)
	mux := http.NewServeMux()
	mux.HandleFunc("/ws/client", h.ServeClient)
	mux.HandleFunc("/ws/admin", h.ServeAdmin)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: wait}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	ts := &testServer{t: t, hub: h, st: st, auth: auth, url: "ws://" + ln.Addr().String(), logs: logs}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub log:\n%s", logs)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		srv.Shutdown(ctx)
		<-done
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return ts
}

// ws is a test WebSocket client. It passes over the broadcasts that arrive
// whenever any agent or visitor acts (quietEvents: presence, the inbox's
// counts, conversation changes, viewers, typing, seen), unless watch (or
// seeing, for presence) names them.
type ws struct {
	t    testing.TB
	name string
	c    *websocket.Conn
	see  map[string]bool
	seen strings.Builder // every frame received, quiet ones included
}

// presenceEvents are the presence broadcasts a ws skips unless told to see them.
var presenceEvents = map[string]bool{evAdminAgents: true, evClientAvailability: true}

// quietEvents are the inbox's broadcasts a ws skips unless told to watch them.
var quietEvents = map[string]bool{
	evAdminCounts: true, evAdminConversation: true, evAdminViewers: true,
	evAdminTyping: true, evClientTyping: true, evAdminSeen: true, evClientSeen: true,
	evAdminCanned: true,
}

// watch makes w return the quiet events types too; with none, all of them.
func (w *ws) watch(types ...string) *ws {
	if w.see == nil {
		w.see = map[string]bool{}
	}
	if len(types) == 0 {
		for t := range quietEvents {
			w.see[t] = true
		}
	}
	for _, t := range types {
		w.see[t] = true
	}
	return w
}

// seeing makes w return the presence broadcasts too.
func (w *ws) seeing() *ws { return w.watch(evAdminAgents, evClientAvailability) }

// watchAll makes w return every quiet event.
func (w *ws) watchAll() *ws {
	w.watch()
	w.see[evAdminAgents], w.see[evClientAvailability] = true, true
	return w
}

func (ts *testServer) dial(name, path string, hdr http.Header) *ws {
	ts.t.Helper()
	c, err := ts.tryDial(path, hdr)
	if err != nil {
		ts.t.Fatalf("%s: dial %s: %v", name, path, err)
	}
	return &ws{t: ts.t, name: name, c: c}
}

func (ts *testServer) tryDial(path string, hdr http.Header) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: wait}
	c, resp, err := d.Dial(ts.url+path, hdr)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	ts.t.Cleanup(func() { c.Close() })
	return c, nil
}

func (w *ws) sendRaw(s string) {
	w.t.Helper()
	w.c.SetWriteDeadline(time.Now().Add(wait))
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		w.t.Fatalf("%s: write: %v", w.name, err)
	}
}

func (w *ws) send(typ string, data any) {
	w.t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "data": data})
	if err != nil {
		w.t.Fatal(err)
	}
	w.sendRaw(string(b))
}

// inFrame is a decoded frame as a test sees it.
type inFrame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	raw  []byte
}

// read returns the next frame, or the close error.
func (w *ws) read() (inFrame, error) {
	for {
		w.c.SetReadDeadline(time.Now().Add(wait))
		_, b, err := w.c.ReadMessage()
		if err != nil {
			return inFrame{}, err
		}
		w.seen.Write(b)
		w.seen.WriteByte('\n')
		var f inFrame
		if err := json.Unmarshal(b, &f); err != nil {
			return inFrame{}, fmt.Errorf("frame %q is not JSON: %w", b, err)
		}
		if (quietEvents[f.Type] || presenceEvents[f.Type]) && !w.see[f.Type] {
			continue
		}
		f.raw = b
		return f, nil
	}
}

func (w *ws) next() inFrame {
	w.t.Helper()
	f, err := w.read()
	if err != nil {
		w.t.Fatalf("%s: read: %v", w.name, err)
	}
	return f
}

// expect reads the next frame, which must be of type typ, and decodes its data into v.
func (w *ws) expect(typ string, v any) inFrame {
	w.t.Helper()
	f := w.next()
	if f.Type != typ {
		w.t.Fatalf("%s: got %s, want %s", w.name, f.raw, typ)
	}
	if v != nil {
		if err := json.Unmarshal(f.Data, v); err != nil {
			w.t.Fatalf("%s: decode %s: %v", w.name, f.raw, err)
		}
	}
	return f
}

type errData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	CID     string `json:"cid"`
}

func (w *ws) expectError(code string) errData {
	w.t.Helper()
	var e errData
	w.expect(evError, &e)
	if e.Code != code {
		w.t.Fatalf("%s: error code %q (%s), want %q", w.name, e.Code, e.Message, code)
	}
	return e
}

// expectClose reads until the socket closes and checks the close code.
func (w *ws) expectClose(code int) {
	w.t.Helper()
	for {
		f, err := w.read()
		if err == nil {
			continue // frames queued before the close
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			w.t.Fatalf("%s: want close %d, got %v (last frame %s)", w.name, code, err, f.raw)
		}
		if ce.Code != code {
			w.t.Fatalf("%s: close code %d (%q), want %d", w.name, ce.Code, ce.Text, code)
		}
		return
	}
}

// expectGone reads until the connection ends, however it ends.
func (w *ws) expectGone() {
	w.t.Helper()
	for {
		if _, err := w.read(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				w.t.Fatalf("%s: still open after %s", w.name, wait)
			}
			return
		}
	}
}

func (w *ws) close() {
	w.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(wait))
	w.c.Close()
}

// drop ends the TCP connection without a close frame.
func (w *ws) drop() { w.c.UnderlyingConn().Close() }

type visitorID struct {
	ID      string `json:"id"`
	Token   string `json:"token"`
	Name    string `json:"name"`
	Epoch   string `json:"epoch"`
	Resync  bool   `json:"resync"`
	MaxText int    `json:"max_text"`
}

// replayEnd is the data of client:replayed and admin:replayed.
type replayEnd struct {
	Epoch    string `json:"epoch"`
	Last     uint64 `json:"last"`
	Resync   bool   `json:"resync"`
	More     bool   `json:"more"`
	ListMore *bool  `json:"list_more"`
	ListNext string `json:"list_next"`
}

// visitor opens a visitor socket and identifies it; token "" makes a new visitor.
func (ts *testServer) visitor(name, vname, token string, after uint64) (*ws, visitorID, []store.Message) {
	ts.t.Helper()
	w := ts.dial(name, "/ws/client", nil)
	w.send(evClientAdd, map[string]any{"name": vname, "token": token, "after": after})
	var id visitorID
	w.expect(evClientID, &id)
	msgs, _ := w.replayAll(evClientMessages, evClientReplayed)
	return w, id, msgs
}

// replayAll reads replay frames of typ up to and including the end marker.
func (w *ws) replayAll(typ, marker string) ([]store.Message, replayEnd) {
	w.t.Helper()
	var all []store.Message
	for {
		f := w.next()
		switch f.Type {
		case typ:
			var msgs []store.Message
			if err := json.Unmarshal(f.Data, &msgs); err != nil {
				w.t.Fatalf("%s: decode %s: %v", w.name, f.raw, err)
			}
			if len(msgs) > chunkMessages {
				w.t.Fatalf("%s: replay frame of %d messages", w.name, len(msgs))
			}
			all = append(all, msgs...)
		case marker:
			var end replayEnd
			if err := json.Unmarshal(f.Data, &end); err != nil {
				w.t.Fatalf("%s: decode %s: %v", w.name, f.raw, err)
			}
			return all, end
		default:
			w.t.Fatalf("%s: got %s during the replay, want %s or %s", w.name, f.raw, typ, marker)
		}
	}
}

type listRow struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Connected bool   `json:"connected"`
	Last      uint64 `json:"last"`
	Seen      string `json:"seen"`
	Created   string `json:"created"`
}

// admin opens an admin socket, identifies it and reads the list and replay.
func (ts *testServer) admin(name string, after uint64) (*ws, []listRow, []store.Message) {
	ts.t.Helper()
	w := ts.dial(name, "/ws/admin", nil)
	w.send(evAdminAdd, map[string]any{"token": adminToken, "after": after})
	var list []listRow
	w.expect(evAdminList, &list)
	msgs, _ := w.replayAll(evAdminMessages, evAdminReplayed)
	return w, list, msgs
}

type statusData struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status bool   `json:"status"`
	New    bool   `json:"new"`
}

func (w *ws) expectStatus(id string, online bool) statusData {
	w.t.Helper()
	var s statusData
	w.expect(evAdminStatus, &s)
	if s.ID != id || s.Status != online {
		w.t.Fatalf("%s: status %+v, want id %s status %v", w.name, s, id, online)
	}
	return s
}

func (w *ws) expectMessage(typ, cid string) store.Message {
	w.t.Helper()
	var m store.Message
	w.expect(typ, &m)
	if m.CID != cid {
		w.t.Fatalf("%s: %s cid %q, want %q", w.name, typ, m.CID, cid)
	}
	return m
}

func msg(cid, text string) map[string]any { return map[string]any{"cid": cid, "text": text} }

// subset reports whether want (decoded JSON) is contained in got: objects by
// key, arrays element by element with equal length, scalars equal.
func subset(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !subset(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], g[i]) {
				return false
			}
		}
		return true
	default:
		return fmt.Sprint(want) == fmt.Sprint(got)
	}
}

// expand replaces $name placeholders with vars, longest names first.
func expand(s string, vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	for i := range keys { // few keys: insertion sort by length, descending
		for j := i; j > 0 && len(keys[j]) > len(keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	for _, k := range keys {
		s = strings.ReplaceAll(s, "$"+k, vars[k])
	}
	return s
}
