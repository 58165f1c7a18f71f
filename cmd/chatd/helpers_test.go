package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/gorilla/websocket"
)

// wait bounds every single wait a test makes for one event.
const wait = 15 * time.Second

func TestMain(m *testing.M) { chatdtest.Main(m) }

// logLines collects JSON log lines and lets a test wait for one.
type logLines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	lines   []map[string]any
	raw     []string
	changed chan struct{}
}

func newLogLines() *logLines { return &logLines{changed: make(chan struct{})} }

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.Reset()
			l.buf.WriteString(line)
			break
		}
		l.raw = append(l.raw, line)
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			l.lines = append(l.lines, m)
		}
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// String returns everything written so far.
func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.raw, "") + l.buf.String()
}

// count returns how many JSON lines have message msg.
func (l *logLines) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.lines {
		if m["message"] == msg {
			n++
		}
	}
	return n
}

// waitMsg waits for the first JSON line with message msg and returns it.
func (l *logLines) waitMsg(t *testing.T, msg string) map[string]any {
	t.Helper()
	deadline := time.After(wait)
	for {
		l.mu.Lock()
		for _, m := range l.lines {
			if m["message"] == msg {
				l.mu.Unlock()
				return m
			}
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no log line %q within %v; log:\n%s", msg, wait, l.String())
		}
	}
}

// inproc is chatd run in this process through run().
type inproc struct {
	addr   string
	log    *logLines
	cancel context.CancelFunc
	done   chan int
}

// startRun runs chatd in-process on 127.0.0.1:0 with data dir data and waits until it listens.
func startRun(t *testing.T, data string, extra ...string) *inproc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &inproc{log: newLogLines(), cancel: cancel, done: make(chan int, 1)}
	args := append([]string{"--addr", "127.0.0.1:0", "--data", data, "--bcrypt-cost", "4", "--log-format", "json"}, extra...)
	go func() { p.done <- run(ctx, args, noEnv, io.Discard, p.log) }()
	select {
	case <-p.logListening():
	case code := <-p.done:
		cancel()
		t.Fatalf("chatd exited with %d before listening; log:\n%s", code, p.log.String())
	case <-time.After(wait):
		cancel()
		t.Fatalf("chatd did not listen within %v; log:\n%s", wait, p.log.String())
	}
	p.addr = p.log.waitMsg(t, "listening")["addr"].(string)
	t.Cleanup(func() { p.stop(t) })
	return p
}

// logListening closes when the "listening" line shows up.
func (p *inproc) logListening() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		deadline := time.After(wait)
		for {
			p.log.mu.Lock()
			for _, m := range p.log.lines {
				if m["message"] == "listening" {
					p.log.mu.Unlock()
					return
				}
			}
			c := p.log.changed
			p.log.mu.Unlock()
			select {
			case <-c:
			case <-deadline:
				return
			}
		}
	}()
	return ch
}

// stop cancels run and returns its exit code (idempotent).
func (p *inproc) stop(t *testing.T) int {
	t.Helper()
	p.cancel()
	select {
	case code := <-p.done:
		p.done <- code
		return code
	case <-time.After(wait):
		t.Fatalf("chatd did not stop within %v", wait)
		return -1
	}
}

func (p *inproc) url() string { return "http://" + p.addr }

func noEnv(string) string { return "" }

// child is chatd run as a separate process from the built binary, with its
// whole log captured.
type child struct {
	*chatdtest.Process
	log *logLines
}

// startChild runs the chatd binary on 127.0.0.1:0 and waits until it listens.
func startChild(t *testing.T, data string, extra ...string) *child {
	t.Helper()
	return startChildOpts(t, chatdtest.Options{Data: data, Args: append([]string{"--bcrypt-cost", "4"}, extra...)})
}

// startChildEnv runs the chatd binary configured by env alone and waits until it listens.
func startChildEnv(t *testing.T, env []string) *child {
	t.Helper()
	return startChildOpts(t, chatdtest.Options{Env: env})
}

func startChildOpts(t *testing.T, o chatdtest.Options) *child {
	t.Helper()
	c := &child{log: newLogLines()}
	o.Log = c.log
	c.Process = chatdtest.Start(t, chatdtest.Binary(t), o)
	return c
}

func (c *child) url() string { return c.URL() }

// runBin runs the chatd binary to completion with stdin and extra env.
func runBin(t *testing.T, stdin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return chatdtest.Run(t, chatdtest.Binary(t), stdin, env, args...)
}

// httpDo sends one request with an optional bearer token and returns status and body.
func httpDo(t *testing.T, method, url, body, token string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// login posts credentials and returns the token (or fails the test).
func login(t *testing.T, base, name, password string) string {
	t.Helper()
	res, body := httpDo(t, "POST", base+"/api/login", fmt.Sprintf(`{"name":%q,"password":%q}`, name, password), "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %s", name, res.StatusCode, body)
	}
	var out struct {
		Token   string    `json:"token"`
		Expires time.Time `json:"expires"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.Token == "" || out.Expires.IsZero() {
		t.Fatalf("login body %q: %v", body, err)
	}
	return out.Token
}

// frame is one protocol frame.
type frame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// message is the protocol's stored message.
type message struct {
	Offset uint64 `json:"offset"`
	Client string `json:"client"`
	From   string `json:"from"`
	Admin  string `json:"admin"`
	CID    string `json:"cid"`
	Text   string `json:"text"`
}

// wsConn is a test WebSocket client.
type wsConn struct {
	t *testing.T
	c *websocket.Conn
}

// dialWS opens base's path (http://host:port + /ws/...) as a WebSocket.
func dialWS(t *testing.T, base, path string) *wsConn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: wait}
	c, res, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+path, nil)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", path, err, status)
	}
	w := &wsConn{t: t, c: c}
	t.Cleanup(func() { c.Close() })
	return w
}

func (w *wsConn) send(typ string, data any) {
	w.t.Helper()
	w.c.SetWriteDeadline(time.Now().Add(wait))
	if err := w.c.WriteJSON(map[string]any{"type": typ, "data": data}); err != nil {
		w.t.Fatalf("send %s: %v", typ, err)
	}
}

// read returns the next frame; it fails the test on a read error.
func (w *wsConn) read() frame {
	w.t.Helper()
	f, err := w.tryRead()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return f
}

func (w *wsConn) tryRead() (frame, error) {
	w.c.SetReadDeadline(time.Now().Add(wait))
	var f frame
	_, b, err := w.c.ReadMessage()
	if err != nil {
		return f, err
	}
	return f, json.Unmarshal(b, &f)
}

// expect reads frames until one of type typ, decoding its data into v.
func (w *wsConn) expect(typ string, v any) {
	w.t.Helper()
	for {
		f := w.read()
		if f.Type == "error" && typ != "error" {
			w.t.Fatalf("waiting for %s got error %s", typ, f.Data)
		}
		if f.Type == typ {
			if v != nil {
				if err := json.Unmarshal(f.Data, v); err != nil {
					w.t.Fatalf("decode %s %s: %v", typ, f.Data, err)
				}
			}
			return
		}
	}
}

// visitor identifies a new visitor and returns its socket, id and token.
func visitor(t *testing.T, base, name string) (w *wsConn, id, token string) {
	t.Helper()
	w = dialWS(t, base, "/ws/client")
	w.send("client:add", map[string]any{"name": name, "token": "", "after": 0})
	var who struct{ ID, Token string }
	w.expect("client:id", &who)
	w.expect("client:messages", nil)
	return w, who.ID, who.Token
}

// adminSocket opens an admin socket with token and reads the visitor list and the first backlog chunk.
func adminSocket(t *testing.T, base, token string) (*wsConn, []message) {
	t.Helper()
	w := dialWS(t, base, "/ws/admin")
	w.send("admin:add", map[string]any{"token": token, "after": 0})
	w.expect("admin:list", nil)
	var msgs []message
	w.expect("admin:messages", &msgs)
	return w, msgs
}

// scanLines is a helper for line-oriented outputs.
func scanLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
