package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
)

// hostPage is one crafted page of a customer's site. In html and csp,
// {{chatd}} stands for chatd's base URL and {{ws}} for its WebSocket origin.
type hostPage struct {
	html       string
	csp        string // Content-Security-Policy header, if any
	reportOnly string // Content-Security-Policy-Report-Only header, if any
}

// hostSite is a customer's site: a second origin (127.0.0.1, another port)
// serving crafted pages that embed chatd's widget.js from the chatd child.
type hostSite struct {
	*httptest.Server
	pages map[string]hostPage
	chatd string
}

func newHostSite(t *testing.T, s *server, pages map[string]hostPage) *hostSite {
	t.Helper()
	h := &hostSite{pages: pages}
	if s != nil {
		h.chatd = s.url()
	}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func (h *hostSite) fill(s string) string {
	return strings.NewReplacer("{{chatd}}", h.chatd, "{{ws}}", "ws://"+strings.TrimPrefix(h.chatd, "http://")).Replace(s)
}

func (h *hostSite) serve(w http.ResponseWriter, r *http.Request) {
	p, ok := h.pages[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if p.csp != "" {
		w.Header().Set("Content-Security-Policy", h.fill(p.csp))
	}
	if p.reportOnly != "" {
		w.Header().Set("Content-Security-Policy-Report-Only", h.fill(p.reportOnly))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, h.fill(p.html))
}

// page wraps head and body markup in a document whose widget tag is tag
// (a full <script> element; "" for the default one at the end of the body).
func hostHTML(head, body, tag string) string {
	if tag == "" {
		tag = `<script src="{{chatd}}/widget.js" async></script>`
	}
	return `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
		`<meta name="viewport" content="width=device-width, initial-scale=1"><title>Customer site</title>` + head +
		`</head><body><h1>A customer's site</h1><p>Some content.</p>` + body + tag + `</body></html>`
}

// openHost navigates tab to path on site and waits for the widget's launcher.
func openHost(t *testing.T, tab context.Context, site *hostSite, path string) {
	t.Helper()
	run(t, tab, chromedp.Navigate(site.URL+path))
	waitFor(t, tab, "the widget launcher on "+path, inWidget(`const b = r.querySelector('.b'); return b && b.getBoundingClientRect().width > 0`))
}

// widgetState is the widget's connection state (data-state on its root).
func widgetState(t *testing.T, tab context.Context) string {
	t.Helper()
	return evalJS[string](t, tab, inWidget(`return r.querySelector('.r').getAttribute('data-state') || ''`))
}

// submitJS sends text through the widget's own form, without key events
// (for frames and for many messages at once).
func submitJS(text string) string {
	return inWidget(fmt.Sprintf(`r.querySelector('textarea').value = %s; r.querySelector('.sd').click(); return true`, js(text)))
}

// relayScript, in a framed page, runs expressions posted by its parent and
// posts their values back; frameRelay in the parent keeps them in __res.
const relayScript = `<script>addEventListener('message', function (e) {
  var r; try { r = {id: e.data.id, v: (0, eval)(e.data.expr)}; } catch (x) { r = {id: e.data.id, err: String(x)}; }
  parent.postMessage(r, '*'); });</script>`

const frameRelay = `<script>window.__res = {}; window.__n = 0;
addEventListener('message', function (e) { if (e.data && e.data.id) window.__res[e.data.id] = e.data; });
window.__ask = function (expr) { var id = 'q' + (++window.__n); document.querySelector('iframe').contentWindow.postMessage({id: id, expr: expr}, '*'); return id; };</script>`

// frameEval evaluates expr in the page framed by the tab's page (through the
// relay), retrying until it yields a non-null value, and decodes it.
func frameEval[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		id := evalJS[string](t, tab, fmt.Sprintf(`window.__ask(%s)`, js(expr)))
		waitFor(t, tab, "the framed page's answer", fmt.Sprintf(`window.__res[%s]`, js(id)))
		raw := evalJS[string](t, tab, fmt.Sprintf(`JSON.stringify(window.__res[%s])`, js(id)))
		var res struct {
			V   json.RawMessage `json:"v"`
			Err string          `json:"err"`
		}
		if err := json.Unmarshal([]byte(raw), &res); err != nil {
			t.Fatalf("framed answer %s: %v", raw, err)
		}
		if res.Err != "" {
			t.Fatalf("framed page: %s: %s", expr, res.Err)
		}
		if len(res.V) > 0 && string(res.V) != "null" {
			var v T
			if err := json.Unmarshal(res.V, &v); err != nil {
				t.Fatalf("framed value %s: %v", res.V, err)
			}
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("framed page: no value for %s", expr)
		}
		time.Sleep(pollInterval) // polling with a deadline
	}
}

// waitFrame polls cond in the framed page until it is true.
func waitFrame(t *testing.T, tab context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for !frameEval[bool](t, tab, "!!("+cond+") || false") {
		if time.Now().After(deadline) {
			t.Fatalf("framed page: waiting for %s", what)
		}
		time.Sleep(pollInterval) // polling with a deadline
	}
}

// visitorSockets reads chatd's gauge of open visitor sockets from /metrics.
func visitorSockets(t *testing.T, s *server) int {
	t.Helper()
	return gauge(t, s, "chatd_visitor_sockets")
}

// gauge reads one of chatd's unlabelled gauges from /metrics.
func gauge(t *testing.T, s *server, name string) int {
	t.Helper()
	res, err := http.Get(s.url() + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// waitVisitorSockets polls the gauge until it reads n.
func waitVisitorSockets(t *testing.T, s *server, n int) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		got := visitorSockets(t, s)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("chatd has %d visitor sockets open, want %d", got, n)
		}
		time.Sleep(pollInterval) // polling with a deadline
	}
}

// agentConn is an agent on a plain admin socket: it sees every stored message.
type agentConn struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan wireFrame
}

type wireFrame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

type wireMessage struct {
	Offset int64  `json:"offset"`
	Client string `json:"client"`
	From   string `json:"from"`
	Admin  string `json:"admin"`
	Cid    string `json:"cid"`
	Text   string `json:"text"`
	At     string `json:"at"`
}

// agentToken logs in as the test agent (POST /api/login) and returns its token.
func agentToken(t *testing.T, s *server) string {
	t.Helper()
	return agentTokenAs(t, s, agentName, agentPassword)
}

// agentTokenAs is agentToken for another agent.
func agentTokenAs(t *testing.T, s *server, name, password string) string {
	t.Helper()
	res, err := http.Post(s.url()+"/api/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"name":%s,"password":%s}`, js(name), js(password))))
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	var login struct{ Token string }
	json.NewDecoder(res.Body).Decode(&login)
	res.Body.Close()
	if login.Token == "" {
		t.Fatalf("login: status %d", res.StatusCode)
	}
	return login.Token
}

// newAgent logs in as the test agent and opens an admin socket (closed at the end).
func newAgent(t *testing.T, s *server) *agentConn {
	t.Helper()
	return newAgentAs(t, s, agentName, agentPassword)
}

// newAgentAs is newAgent signed in as another agent.
func newAgentAs(t *testing.T, s *server, name, password string) *agentConn {
	t.Helper()
	token := agentTokenAs(t, s, name, password)
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr+"/ws/admin", nil)
	if err != nil {
		t.Fatalf("dial the admin socket: %v", err)
	}
	a := &agentConn{t: t, conn: conn, frames: make(chan wireFrame, 4096)}
	t.Cleanup(func() { conn.Close() })
	go func() {
		defer close(a.frames)
		for {
			var f wireFrame
			if err := conn.ReadJSON(&f); err != nil {
				return
			}
			a.frames <- f
		}
	}()
	a.send("admin:add", map[string]any{"token": token, "after": 0, "limit": 1})
	return a
}

func (a *agentConn) send(typ string, data any) {
	a.t.Helper()
	if err := a.conn.WriteJSON(map[string]any{"type": typ, "data": data}); err != nil {
		a.t.Fatalf("agent: write %s: %v", typ, err)
	}
}

// waitMessage returns the next stored message with this text.
func (a *agentConn) waitMessage(text string) wireMessage {
	a.t.Helper()
	timeout := time.After(stepTimeout)
	for {
		select {
		case f, ok := <-a.frames:
			if !ok {
				a.t.Fatalf("agent: socket closed waiting for %q", text)
			}
			var m wireMessage
			if f.Type == "admin:message" && json.Unmarshal(f.Data, &m) == nil && m.Text == text {
				return m
			}
		case <-timeout:
			a.t.Fatalf("agent: no message %q within %v", text, stepTimeout)
		}
	}
}

// reply sends text to visitor and waits for its acknowledgement.
func (a *agentConn) reply(visitor, text string) {
	a.t.Helper()
	a.send("admin:message", map[string]any{"client": visitor, "cid": fmt.Sprintf("r%d", time.Now().UnixNano()), "text": text})
	a.waitMessage(text)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
