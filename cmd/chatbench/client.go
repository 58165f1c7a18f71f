package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// config is what every mode shares.
type config struct {
	base      *url.URL   // http(s)://host:port of the chatd under test (the first of --url): logins
	visitors  []*url.URL // every --url: visitor sockets are spread over them in turn (a cluster's nodes)
	admins    *url.URL   // where admin sockets go (--admin-url, default base)
	origin    string     // Origin header of visitor sockets; empty sends none
	adminName string
	password  string
	dialConc  int           // sockets opened concurrently during setup
	textSize  int           // bytes of text per message
	timeout   time.Duration // bound on each setup step
}

// bench is one run of a mode against one chatd: shared dialer, cid prefix,
// clock and counters.
type bench struct {
	cfg    config
	prefix string    // cid prefix unique to this run
	start  time.Time // cids carry nanoseconds since start
	dialer *websocket.Dialer
	text   string
	token  string // admin login token
	cur    atomic.Pointer[phase]
	win    atomic.Pointer[hist] // delivery latencies of the current progress interval, if any
	turn   atomic.Uint64        // round robin of visitor sockets over cfg.visitors
}

// phase holds the counters of one measured period; readers record into the
// phase current when a frame arrives.
type phase struct {
	sent      atomic.Uint64 // visitor messages written
	acked     atomic.Uint64 // acks (client:message echo) received by senders
	failed    atomic.Uint64 // error frames answering one of our cids
	delivered atomic.Uint64 // admin:message frames of our visitor messages, all admins
	replies   atomic.Uint64 // admin replies received by visitors
	ack       hist          // send -> ack
	del       hist          // send -> admin:message
	errs      errCounts
}

// errCounts counts errors by a short code (server error codes, dial and I/O failures).
type errCounts struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (e *errCounts) add(code string) {
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string]uint64{}
	}
	e.m[code]++
	e.mu.Unlock()
}

func (e *errCounts) snapshot() map[string]uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]uint64, len(e.m))
	for k, v := range e.m {
		out[k] = v
	}
	return out
}

func (e *errCounts) total() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n uint64
	for _, v := range e.m {
		n += v
	}
	return n
}

func newBench(cfg config) (*bench, error) {
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("random run id: %w", err)
	}
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	prefix := []byte("cb")
	for _, c := range r {
		prefix = append(prefix, digits[int(c)%36])
	}
	prefix = append(prefix, '-')
	b := &bench{
		cfg:    cfg,
		prefix: string(prefix),
		start:  time.Now(),
		dialer: &websocket.Dialer{
			HandshakeTimeout: cfg.timeout,
			ReadBufferSize:   1024,
			WriteBufferSize:  1024,
			WriteBufferPool:  &sync.Pool{},
			NetDialContext:   (&net.Dialer{Timeout: cfg.timeout}).DialContext,
		},
		text: strings.Repeat("x", cfg.textSize),
	}
	b.cur.Store(&phase{})
	return b, nil
}

// newPhase starts a new measured period and returns it.
func (b *bench) newPhase() *phase {
	p := &phase{}
	b.cur.Store(p)
	return p
}

func (b *bench) wsURL(base *url.URL, path string) string {
	u := *base
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path = path
	return u.String()
}

// visitorBase is the server the next visitor socket goes to: each --url in turn.
func (b *bench) visitorBase() *url.URL {
	if len(b.cfg.visitors) == 0 {
		return b.cfg.base
	}
	return b.cfg.visitors[int((b.turn.Add(1)-1)%uint64(len(b.cfg.visitors)))]
}

// adminBase is where admin sockets go.
func (c config) adminBase() *url.URL {
	if c.admins != nil {
		return c.admins
	}
	return c.base
}

// since is the run clock used in cids.
func (b *bench) since() int64 { return int64(time.Since(b.start)) }

// login gets an admin token through POST /api/login.
func (b *bench) login(ctx context.Context) error {
	if b.cfg.adminName == "" || b.cfg.password == "" {
		return errors.New("admin login needs --admin and --password-file (or CHATBENCH_PASSWORD)")
	}
	body, err := json.Marshal(map[string]string{"name": b.cfg.adminName, "password": b.cfg.password})
	if err != nil {
		return fmt.Errorf("encode login: %w", err)
	}
	u := *b.cfg.base
	u.Path = "/api/login"
	ctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("login request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("login as %s: %w", b.cfg.adminName, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("login as %s: HTTP %d", b.cfg.adminName, resp.StatusCode)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || out.Token == "" {
		return fmt.Errorf("login as %s: bad answer (%v)", b.cfg.adminName, err)
	}
	b.token = out.Token
	return nil
}

// frame is the envelope of the rare frames decoded in full.
type frame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// serverError turns an error frame into a Go error and counts it.
func (b *bench) serverError(data json.RawMessage) error {
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(data, &e)
	b.cur.Load().errs.add(e.Code)
	return fmt.Errorf("server error %s: %s", e.Code, e.Message)
}

// lost counts a socket that ended without us closing it.
func (b *bench) lost(err error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		b.cur.Load().errs.add(fmt.Sprintf("closed_%d", ce.Code))
		return
	}
	b.cur.Load().errs.add("disconnected")
}

// readInto reads the whole message from r into b[:0], growing it as needed.
func readInto(b []byte, r io.Reader) ([]byte, error) {
	b = b[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// visitor is one visitor socket. Only one goroutine writes message frames.
type visitor struct {
	b       *bench
	c       *websocket.Conn
	id      string
	token   string
	last    atomic.Uint64 // highest offset seen
	seq     uint64
	buf     []byte
	acks    chan struct{} // flood: one token per ack or failure
	closing atomic.Bool
	done    chan struct{}
	wmu     sync.Mutex // one writer at a time: messages and typing (typing.go)
}

// dialVisitor opens /ws/client, identifies with token (empty: new visitor) and
// after, and reads until client:id and at least expect replayed messages.
func (b *bench) dialVisitor(ctx context.Context, name, token string, after uint64, expect int) (*visitor, int, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	defer cancel()
	h := http.Header{}
	if b.cfg.origin != "" {
		h.Set("Origin", b.cfg.origin)
	}
	c, resp, err := b.dialer.DialContext(ctx, b.wsURL(b.visitorBase(), "/ws/client"), h)
	if err != nil {
		if resp != nil {
			b.cur.Load().errs.add(fmt.Sprintf("dial_http_%d", resp.StatusCode))
		} else {
			b.cur.Load().errs.add("dial")
		}
		return nil, 0, fmt.Errorf("dial visitor: %w", err)
	}
	v := &visitor{b: b, c: c, done: make(chan struct{})}
	v.last.Store(after)
	fail := func(err error) (*visitor, int, error) {
		c.Close()
		return nil, 0, err
	}
	hello, _ := json.Marshal(frame{Type: "client:add", Data: mustJSON(map[string]any{"name": name, "token": token, "after": after})})
	dl, _ := ctx.Deadline()
	c.SetWriteDeadline(dl)
	if err := c.WriteMessage(websocket.TextMessage, hello); err != nil {
		b.cur.Load().errs.add("write")
		return fail(fmt.Errorf("send client:add: %w", err))
	}
	c.SetReadDeadline(dl)
	gotID, gotList, replayed := false, false, 0
	for !gotID || !gotList || replayed < expect {
		_, data, err := c.ReadMessage()
		if err != nil {
			b.cur.Load().errs.add("handshake")
			return fail(fmt.Errorf("visitor handshake: %w", err))
		}
		typ := strField(data, keyType)
		switch {
		case bytes.Equal(typ, typeClientID):
			var f struct {
				Data struct {
					ID    string `json:"id"`
					Token string `json:"token"`
				} `json:"data"`
			}
			if err := json.Unmarshal(data, &f); err != nil {
				return fail(fmt.Errorf("decode client:id: %w", err))
			}
			v.id, v.token, gotID = f.Data.ID, f.Data.Token, true
		case bytes.Equal(typ, typeClientMessages):
			n, max := offsets(data)
			replayed += n
			gotList = true
			if max > v.last.Load() {
				v.last.Store(max)
			}
		case bytes.Equal(typ, typeClientMessage):
			// a live message during the replay counts as history too
			_, max := offsets(data)
			replayed++
			if max > v.last.Load() {
				v.last.Store(max)
			}
		case bytes.Equal(typ, typeError):
			var f frame
			_ = json.Unmarshal(data, &f)
			return fail(b.serverError(f.Data))
		}
	}
	c.SetReadDeadline(time.Time{})
	c.SetWriteDeadline(time.Time{})
	return v, replayed, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with plain maps of strings and numbers
	}
	return b
}

// send writes one client:message with a fresh cid and counts it in p.
func (v *visitor) send(p *phase) error {
	v.seq++
	b := v.buf[:0]
	b = append(b, `{"type":"client:message","data":{"cid":"`...)
	b = appendCID(b, v.b.prefix, v.b.since(), v.seq)
	b = append(b, `","text":"`...)
	b = append(b, v.b.text...)
	b = append(b, `"}}`...)
	v.buf = b
	v.wmu.Lock()
	v.c.SetWriteDeadline(time.Now().Add(v.b.cfg.timeout))
	err := v.c.WriteMessage(websocket.TextMessage, b)
	v.wmu.Unlock()
	if err != nil {
		p.errs.add("write")
		return fmt.Errorf("send message: %w", err)
	}
	p.sent.Add(1)
	return nil
}

// read handles frames until the socket ends; start it once after dialVisitor.
func (v *visitor) read() {
	defer close(v.done)
	buf := make([]byte, 0, 512)
	for {
		_, r, err := v.c.NextReader()
		if err == nil {
			buf, err = readInto(buf, r)
		}
		if err != nil {
			if !v.closing.Load() {
				v.b.lost(err)
			}
			return
		}
		v.handle(buf)
		if cap(buf) > 64<<10 {
			buf = make([]byte, 0, 512)
		}
	}
}

func (v *visitor) signal() {
	if v.acks != nil {
		select {
		case v.acks <- struct{}{}:
		default:
		}
	}
}

func (v *visitor) handle(f []byte) {
	p := v.b.cur.Load()
	typ := strField(f, keyType)
	switch {
	case bytes.Equal(typ, typeClientMessage):
		if _, off := offsets(f); off > v.last.Load() {
			v.last.Store(off)
		}
		if bytes.Equal(strField(f, keyFrom), fromAdmin) {
			p.replies.Add(1)
			return
		}
		if ns, ok := cidTime(strField(f, keyCID), v.b.prefix); ok {
			p.ack.record(time.Duration(v.b.since() - ns))
			p.acked.Add(1)
			v.signal()
		}
	case bytes.Equal(typ, typeClientMessages):
		if _, off := offsets(f); off > v.last.Load() {
			v.last.Store(off)
		}
	case bytes.Equal(typ, typeError):
		p.errs.add(string(strField(f, keyCode)))
		if _, ok := cidTime(strField(f, keyCID), v.b.prefix); ok {
			p.failed.Add(1)
			v.signal()
		}
	}
}

// close ends the socket and waits (bounded) for its reader.
func (v *visitor) close(graceful bool) {
	v.closing.Store(true)
	if graceful {
		_ = v.c.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}
	v.c.Close()
}

// admin is one admin socket.
type admin struct {
	b        *bench
	c        *websocket.Conn
	wmu      sync.Mutex
	buf      []byte
	seq      uint64
	replyAck atomic.Uint64 // acks of our own replies
	offline  atomic.Uint64 // admin:client_status with status false
	acks     chan struct{}
	closing  atomic.Bool
	done     chan struct{}
}

// dialAdmin opens /ws/admin and authenticates with the login token, asking for
// no history (limit 1) so a big store does not slow the start.
func (b *bench) dialAdmin(ctx context.Context) (*admin, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	defer cancel()
	h := http.Header{}
	h.Set("Origin", b.cfg.adminBase().Scheme+"://"+b.cfg.adminBase().Host)
	c, _, err := b.dialer.DialContext(ctx, b.wsURL(b.cfg.adminBase(), "/ws/admin"), h)
	if err != nil {
		b.cur.Load().errs.add("dial_admin")
		return nil, fmt.Errorf("dial admin: %w", err)
	}
	fail := func(err error) (*admin, error) {
		c.Close()
		return nil, err
	}
	hello, _ := json.Marshal(frame{Type: "admin:add", Data: mustJSON(map[string]any{"token": b.token, "after": 0, "limit": 1})})
	dl, _ := ctx.Deadline()
	c.SetWriteDeadline(dl)
	if err := c.WriteMessage(websocket.TextMessage, hello); err != nil {
		return fail(fmt.Errorf("send admin:add: %w", err))
	}
	c.SetReadDeadline(dl)
	for gotList, gotMsgs := false, false; !gotList || !gotMsgs; {
		_, r, err := c.NextReader()
		if err != nil {
			return fail(fmt.Errorf("admin handshake: %w", err))
		}
		// Peek at the start only: admin:list can be large and is not needed.
		head := make([]byte, 64)
		n, _ := io.ReadFull(r, head)
		head = head[:n]
		typ := strField(head, keyType)
		switch {
		case bytes.Equal(typ, typeAdminList):
			gotList = true
		case bytes.Equal(typ, typeAdminMessages):
			gotMsgs = true
		case bytes.Equal(typ, typeError):
			rest, _ := io.ReadAll(r)
			var f frame
			_ = json.Unmarshal(append(head, rest...), &f)
			return fail(b.serverError(f.Data))
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return fail(fmt.Errorf("admin handshake: %w", err))
		}
	}
	c.SetReadDeadline(time.Time{})
	c.SetWriteDeadline(time.Time{})
	return &admin{b: b, c: c, done: make(chan struct{}), acks: make(chan struct{}, 1)}, nil
}

// reply sends an admin:message to visitor id with a fresh cid.
func (a *admin) reply(id string) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.seq++
	b := a.buf[:0]
	b = append(b, `{"type":"admin:message","data":{"client":"`...)
	b = append(b, id...)
	b = append(b, `","cid":"`...)
	b = appendCID(b, a.b.prefix, a.b.since(), a.seq)
	b = append(b, `","text":"`...)
	b = append(b, a.b.text...)
	b = append(b, `"}}`...)
	a.buf = b
	a.c.SetWriteDeadline(time.Now().Add(a.b.cfg.timeout))
	if err := a.c.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("send reply: %w", err)
	}
	return nil
}

// read handles frames until the socket ends.
func (a *admin) read() {
	defer close(a.done)
	buf := make([]byte, 0, 1024)
	for {
		_, r, err := a.c.NextReader()
		if err == nil {
			buf, err = readInto(buf, r)
		}
		if err != nil {
			if !a.closing.Load() {
				a.b.lost(err)
			}
			return
		}
		a.handle(buf)
		if cap(buf) > 1<<20 {
			buf = make([]byte, 0, 1024)
		}
	}
}

var statusOffline = []byte(`"status":false`)

func (a *admin) handle(f []byte) {
	p := a.b.cur.Load()
	typ := strField(f, keyType)
	switch {
	case bytes.Equal(typ, typeAdminMessage):
		ns, ok := cidTime(strField(f, keyCID), a.b.prefix)
		if !ok {
			return
		}
		if bytes.Equal(strField(f, keyFrom), fromClient) {
			d := time.Duration(a.b.since() - ns)
			p.del.record(d)
			if w := a.b.win.Load(); w != nil {
				w.record(d)
			}
			p.delivered.Add(1)
			return
		}
		a.replyAck.Add(1)
		select {
		case a.acks <- struct{}{}:
		default:
		}
	case bytes.Equal(typ, typeAdminStatus):
		if bytes.Contains(f, statusOffline) {
			a.offline.Add(1)
		}
	case bytes.Equal(typ, typeError):
		p.errs.add("admin_" + string(strField(f, keyCode)))
		if _, ok := cidTime(strField(f, keyCID), a.b.prefix); ok {
			a.replyAck.Add(1) // a refused reply is answered too; the error is counted
		}
	}
}

func (a *admin) close() {
	a.closing.Store(true)
	_ = a.c.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	a.c.Close()
}
