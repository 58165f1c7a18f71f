package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/seed"
)

func TestProbesAndSecurityHeaders(t *testing.T) {
	p := startRun(t, t.TempDir())
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/healthz", 200, "ok"},
		{"/readyz", 200, "ready"},
		{"/", 200, "<html"},
		{"/widget.js", 200, ""},
		{"/portal/", 200, "<html"},
	} {
		res, body := httpDo(t, "GET", p.url()+tc.path, "", "")
		if res.StatusCode != tc.code || !strings.Contains(strings.ToLower(body), tc.body) {
			t.Errorf("GET %s = %d (%d bytes), want %d with %q", tc.path, res.StatusCode, len(body), tc.code, tc.body)
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", tc.path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP allows inline code: %q", tc.path, csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") == "" {
			t.Errorf("GET %s: missing nosniff / Referrer-Policy", tc.path)
		}
	}
	res, _ := httpDo(t, "GET", p.url()+"/widget.js", "", "")
	if res.Header.Get("Cross-Origin-Resource-Policy") != "" {
		t.Error("widget.js must stay loadable from customer sites")
	}
}

func TestSecondServerOnSameDataDirFails(t *testing.T) {
	dir := t.TempDir()
	startRun(t, dir)
	log := newLogLines()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	code := run(ctx, []string{"--addr", "127.0.0.1:0", "--data", dir, "--log-format", "json"}, noEnv, os.Stdout, log)
	if code != exitFail || log.count("cannot open store") != 1 {
		t.Fatalf("second chatd on one dir: exit %d; log:\n%s", code, log.String())
	}
}

func TestReadyzDuringShutdown(t *testing.T) {
	p := startRun(t, t.TempDir(), "--shutdown-delay", "2s")
	if res, _ := httpDo(t, "GET", p.url()+"/readyz", "", ""); res.StatusCode != 200 {
		t.Fatalf("readyz = %d before shutdown", res.StatusCode)
	}
	p.cancel()
	deadline := time.Now().Add(wait)
	for {
		res, err := http.Get(p.url() + "/readyz")
		if err != nil {
			t.Fatalf("readyz unreachable before it said 503: %v", err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readyz never answered 503 during shutdown")
		}
	}
	if res, _ := httpDo(t, "GET", p.url()+"/healthz", "", ""); res.StatusCode != 200 {
		t.Fatalf("healthz = %d while draining; the process is alive", res.StatusCode)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// metricValue finds an unlabelled or labelled sample in a Prometheus text page.
func metricValue(t *testing.T, page, sample string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("metric %s not found", sample)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMetricsMoveAfterChat(t *testing.T) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	p := startRun(t, dir, "--metrics-token", "scrape-me")
	if res, _ := httpDo(t, "GET", p.url()+"/metrics", "", ""); res.StatusCode != 401 {
		t.Fatalf("metrics without its token = %d", res.StatusCode)
	}
	_, before := httpDo(t, "GET", p.url()+"/metrics", "", "scrape-me")

	adm, _ := adminSocket(t, p.url(), login(t, p.url(), "ann", "pw"))
	v, id, _ := visitor(t, p.url(), "Ann")
	v.send("client:message", map[string]any{"cid": "c1", "text": "hello"})
	v.expect("client:message", nil)
	adm.send("admin:message", map[string]any{"client": id, "cid": "a1", "text": "hi, how can I help?"})
	var reply message
	v.expect("client:message", &reply)
	if reply.From != "admin" || reply.Admin != "Support" { // the display name; a visitor never sees the login
		t.Fatalf("reply %+v", reply)
	}
	v.send("client:message", map[string]any{"cid": "c2"}) // no text: rejected
	v.expect("error", nil)

	res, after := httpDo(t, "GET", p.url()+"/metrics", "", "scrape-me")
	if res.StatusCode != 200 {
		t.Fatalf("metrics = %d", res.StatusCode)
	}
	for _, tc := range []struct {
		sample string
		delta  float64
	}{
		{"chatd_messages_stored_total", 2},
		{"chatd_visitors_connected", 1},
		{"chatd_visitor_sockets", 1},
		{"chatd_admin_sockets", 1},
	} {
		if d := metricValue(t, after, tc.sample) - metricValue(t, before, tc.sample); d != tc.delta {
			t.Errorf("%s moved by %v, want %v", tc.sample, d, tc.delta)
		}
	}
	if metricValue(t, after, "chatd_store_write_seconds_count") <= metricValue(t, before, "chatd_store_write_seconds_count") {
		t.Error("store write latency histogram did not move")
	}
	rejected := 0.0
	for _, line := range scanLines(after) {
		if strings.HasPrefix(line, "chatd_rejected_frames_total{") {
			f, _ := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
			rejected += f
		}
	}
	if rejected < 1 {
		t.Error("rejected frames counter did not move")
	}
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes", "chatd_login_failures_total"} {
		if !strings.Contains(after, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestSIGTERMClosesSocketsWith1012(t *testing.T) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, dir)
	adm, _ := adminSocket(t, c.url(), login(t, c.url(), "ann", "pw"))
	v1, _, tok := visitor(t, c.url(), "Ann")
	v1.send("client:message", map[string]any{"cid": "x", "text": "before shutdown"})
	v1.expect("client:message", nil)
	v2 := dialWS(t, c.url(), "/ws/client") // a second tab of the same visitor
	v2.send("client:add", map[string]any{"name": "Ann", "token": tok, "after": 0})
	v2.expect("client:messages", nil)

	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]*wsConn{"admin": adm, "visitor": v1, "tab": v2} {
		var err error
		for err == nil {
			_, err = w.tryRead()
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 1012 {
			t.Errorf("%s socket ended with %v, want close code 1012", name, err)
		}
	}
	if code := c.Wait(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; log:\n%s", code, c.log.String())
	}
	if c.log.count("stopped") != 1 {
		t.Fatalf("no clean stop logged:\n%s", c.log.String())
	}
}

func TestHealthcheckCommand(t *testing.T) {
	p := startRun(t, t.TempDir())
	_, port, _ := strings.Cut(p.addr, ":")
	for _, args := range [][]string{
		{"healthcheck", "--url", p.url()},
		{"healthcheck", "--addr", "0.0.0.0:" + port},
		{"healthcheck", "--addr", ":" + port, "--ready"},
	} {
		if code, out, errOut := runBin(t, "", nil, args...); code != 0 {
			t.Errorf("%v against a running server: exit %d %s %s", args, code, out, errOut)
		}
	}
	if code, _, _ := runBin(t, "", []string{"CHATD_ADDR=127.0.0.1:" + port}, "healthcheck"); code != 0 {
		t.Errorf("healthcheck with CHATD_ADDR: exit %d", code)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("stop: %d", code)
	}
	code, _, errOut := runBin(t, "", nil, "healthcheck", "--url", p.url())
	if code == 0 {
		t.Fatal("healthcheck against a stopped server exited 0")
	}
	if !strings.Contains(errOut, "healthcheck") {
		t.Errorf("no reason printed: %q", errOut)
	}
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := runBin(t, "", nil, "version")
	if code != 0 || !strings.HasPrefix(out, "chatd ") {
		t.Fatalf("version: %d %q", code, out)
	}
	code, out, _ = runBin(t, "", nil, "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	var c config
	fs := serveFlags(&c)
	for _, want := range allFlagNames(fs) {
		line := fmt.Sprintf("--%s\n", want)
		if !strings.Contains(out, line) || !strings.Contains(out, envName(want)) {
			t.Errorf("--help lacks %s or its env %s", want, envName(want))
		}
	}
	for _, sub := range []string{"admin set", "healthcheck", "backup", "version"} {
		if !strings.Contains(out, sub) {
			t.Errorf("--help lacks subcommand %q", sub)
		}
	}
}

// TestNoGoroutineOutlivesRun stops an in-process chatd that served sockets and
// HTTP and requires that none of its goroutines are left.
func TestNoGoroutineOutlivesRun(t *testing.T) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	p := startRun(t, dir, "--pprof", "127.0.0.1:0")
	adm, _ := adminSocket(t, p.url(), login(t, p.url(), "ann", "pw"))
	v, _, _ := visitor(t, p.url(), "Ann")
	v.send("client:message", map[string]any{"cid": "1", "text": "hi"})
	adm.expect("admin:message", nil)
	httpDo(t, "GET", p.url()+"/metrics", "", "")
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	http.DefaultClient.CloseIdleConnections()
	leaked := func() string {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		for _, g := range strings.Split(stacks, "\n\n") {
			for _, mark := range []string{"chatd/chatd/hub.", "chatd/chatd/server.", "chatd/chatd/db.",
				"chatd/chatd/store.", "olahol/melody", "net/http.(*conn).serve", "net/http.(*Server).Serve",
				"tidwall/buntdb"} {
				if strings.Contains(g, mark) && !strings.Contains(g, "_test.go") {
					return g
				}
			}
		}
		return ""
	}
	deadline := time.Now().Add(wait)
	for g := leaked(); g != ""; g = leaked() {
		if time.Now().After(deadline) {
			t.Fatalf("goroutine outlived run:\n%s", g)
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

func TestAddressInUse(t *testing.T) {
	p := startRun(t, t.TempDir())
	log := newLogLines()
	code := run(t.Context(), []string{"--addr", p.addr, "--data", t.TempDir(), "--log-format", "json", "--bcrypt-cost", "4"}, noEnv, nil, log)
	if code != exitFail || log.count("cannot listen") != 1 {
		t.Fatalf("busy address: exit %d, log:\n%s", code, log.String())
	}
}
