package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/seed"
)

// expectEnded checks that an admin socket that sent nothing since it
// identified gets error unauthorized, then close 1008.
func expectEnded(t *testing.T, w *wsConn, why string) {
	t.Helper()
	for {
		f, err := w.tryRead()
		if err != nil {
			t.Fatalf("%s: socket ended with %v before an unauthorized error", why, err)
		}
		if f.Type != "error" {
			continue // live frames queued before the end
		}
		var e struct{ Code string }
		json.Unmarshal(f.Data, &e)
		if e.Code != "unauthorized" {
			t.Fatalf("%s: error %s", why, f.Data)
		}
		break
	}
	if _, err := w.tryRead(); !isClose(err, 1008) {
		t.Fatalf("%s: socket ended with %v, want close 1008", why, err)
	}
}

func sessionStatus(t *testing.T, base, token string) int {
	t.Helper()
	res, _ := httpDo(t, "GET", base+"/api/session", "", token)
	return res.StatusCode
}

// TestSessionsSurviveRestartAndEndAtOnce: a session outlives a restart; a
// logout ends its open socket at once and stays ended after a restart.
func TestSessionsSurviveRestartAndEndAtOnce(t *testing.T) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, dir)
	token := login(t, c.url(), "ann", "pw")
	other := login(t, c.url(), "ann", "pw")
	c.Restart(t)
	if sessionStatus(t, c.url(), token) != 200 {
		t.Fatal("session lost by a restart")
	}
	w, _ := adminSocket(t, c.url(), token)
	keep, _ := adminSocket(t, c.url(), other)
	if res, _ := httpDo(t, "POST", c.url()+"/api/logout", "", token); res.StatusCode != 204 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	expectEnded(t, w, "logout")
	// The other session's socket still works.
	v, id, _ := visitor(t, c.url(), "Vera")
	v.send("client:message", map[string]any{"cid": "1", "text": "hi"})
	var m message
	keep.expect("admin:message", &m)
	if m.Client != id {
		t.Fatalf("other session got %+v", m)
	}
	c.Restart(t)
	if sessionStatus(t, c.url(), token) != 401 || sessionStatus(t, c.url(), other) != 200 {
		t.Fatal("after a restart the logged-out session is back, or the other one is gone")
	}
}

// TestExpiryEndsTheSocket: with a short --token-ttl the socket ends at
// expiry, with nothing sent on it.
func TestExpiryEndsTheSocket(t *testing.T) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, dir, "--token-ttl", "2s")
	token := login(t, c.url(), "ann", "pw")
	w, _ := adminSocket(t, c.url(), token)
	expectEnded(t, w, "expiry")
	if sessionStatus(t, c.url(), token) != 401 {
		t.Fatal("expired session still answers")
	}
}

// TestAdminChangesApplyLive: removing an agent, changing its password, adding
// one by SIGHUP or by the file watch, without a restart; a broken file is
// reported and not applied.
func TestAdminChangesApplyLive(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"ann", "bob"} {
		if err := seed.Set(dir, n, "pw", 4); err != nil {
			t.Fatal(err)
		}
	}
	c := startChild(t, dir, "--admins-poll", "0") // only SIGHUP and `chatd admin`
	annTok, bobTok := login(t, c.url(), "ann", "pw"), login(t, c.url(), "bob", "pw")
	annWS, _ := adminSocket(t, c.url(), annTok)
	bobWS, _ := adminSocket(t, c.url(), bobTok)

	code, out, errOut := runBin(t, "", nil, "admin", "remove", "bob", "--data", dir)
	if code != 0 || !strings.Contains(out, "applied by the running chatd") {
		t.Fatalf("admin remove: %d %s %s", code, out, errOut)
	}
	expectEnded(t, bobWS, "removal")
	if res, _ := httpDo(t, "POST", c.url()+"/api/login", `{"name":"bob","password":"pw"}`, ""); res.StatusCode != 401 {
		t.Fatalf("removed agent logs in: %d", res.StatusCode)
	}

	code, out, errOut = runBin(t, "new pw\n", nil, "admin", "set", "ann", "--data", dir, "--bcrypt-cost", "4")
	if code != 0 || !strings.Contains(out, "applied by the running chatd") {
		t.Fatalf("admin set: %d %s %s", code, out, errOut)
	}
	expectEnded(t, annWS, "password change")
	if res, _ := httpDo(t, "POST", c.url()+"/api/login", `{"name":"ann","password":"pw"}`, ""); res.StatusCode != 401 {
		t.Fatalf("old password works: %d", res.StatusCode)
	}
	login(t, c.url(), "ann", "new pw")

	// Written behind chatd's back: applied at SIGHUP, not before (polling is off).
	if err := seed.Set(dir, "carol", "pw", 4); err != nil {
		t.Fatal(err)
	}
	if res, _ := httpDo(t, "POST", c.url()+"/api/login", `{"name":"carol","password":"pw"}`, ""); res.StatusCode != 401 {
		t.Fatalf("carol before SIGHUP: %d", res.StatusCode)
	}
	n := c.log.count("admins file applied")
	if err := c.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitCount(t, c.log, "admins file applied", n+1)
	login(t, c.url(), "carol", "pw")

	// A broken file is reported, naming it, and the admins in force stay.
	os.WriteFile(seed.Path(dir), []byte(`[{"name":"ann",`), 0o600)
	c.Signal(syscall.SIGHUP)
	line := c.log.waitMsg(t, "admins file not applied; the admins in force stay")
	if !strings.Contains(fmt.Sprint(line["error"]), seed.Path(dir)) {
		t.Fatalf("error line does not name the file: %v", line)
	}
	login(t, c.url(), "carol", "pw")
	os.WriteFile(seed.Path(dir), []byte(`[]`), 0o600)
	code, out, _ = runBin(t, "", nil, "admin", "list", "--data", dir)
	if code != 0 {
		t.Fatalf("admin list of an empty file: %d %s", code, out)
	}
	c.Signal(syscall.SIGHUP)
	waitCount(t, c.log, "admins file not applied; the admins in force stay", 2)
	login(t, c.url(), "carol", "pw")
}

// TestAdminsFileWatched: with polling on, an edit is applied without a signal.
func TestAdminsFileWatched(t *testing.T) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, dir, "--admins-poll", "100ms")
	if err := seed.Set(dir, "dave", "pw", 4); err != nil {
		t.Fatal(err)
	}
	waitCount(t, c.log, "admins file applied", 1)
	login(t, c.url(), "dave", "pw")
}

func waitCount(t *testing.T, l *logLines, msg string, n int) {
	t.Helper()
	deadline := time.After(wait)
	for {
		l.mu.Lock()
		got, ch := 0, l.changed
		for _, m := range l.lines {
			if m["message"] == msg {
				got++
			}
		}
		l.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%d log lines %q within %v, want %d; log:\n%s", got, msg, wait, n, l.String())
		}
	}
}

// TestDisplayNamesEndToEnd: visitors see an agent's display name, never its
// login, in live frames and replays; admins see both; a display name set on
// the running server applies to the next reply, keeping the password.
func TestDisplayNamesEndToEnd(t *testing.T) {
	dir := t.TempDir()
	const login1, login2 = "zq7-alice-login", "zq7-bob-login"
	if code, _, e := runBin(t, "pw\n", nil, "admin", "set", login1, "--display", "Alice from Acme", "--data", dir, "--bcrypt-cost", "4"); code != 0 {
		t.Fatal(e)
	}
	chatdSet(t, dir, login2)
	c := startChild(t, dir)
	tok1, tok2 := login(t, c.url(), login1, "pw"), login(t, c.url(), login2, "pw")
	a1, _ := adminSocket(t, c.url(), tok1)
	a2, _ := adminSocket(t, c.url(), tok2)
	vw, id, vtok := visitor(t, c.url(), "Vera")
	raw := &rawLog{}
	reply := func(a *wsConn, cid string) message {
		t.Helper()
		a.send("admin:message", map[string]any{"client": id, "cid": cid, "text": "hello " + cid})
		var m message
		readRaw(t, vw, raw, "client:message", &m)
		return m
	}
	if m := reply(a1, "r1"); m.Admin != "Alice from Acme" {
		t.Fatalf("visitor sees %q", m.Admin)
	}
	var am struct {
		Admin, Display, CID string
	}
	for am.CID != "r1" {
		a1.expect("admin:message", &am)
	}
	if am.Admin != login1 || am.Display != "Alice from Acme" {
		t.Fatalf("admin socket got admin %q display %q", am.Admin, am.Display)
	}
	if m := reply(a2, "r2"); m.Admin != "Support" {
		t.Fatalf("agent without display name shown as %q", m.Admin)
	}

	// Renamed on the running server, password kept (empty stdin).
	code, out, errOut := runBin(t, "", nil, "admin", "set", login1, "--display", "Alice B.", "--data", dir)
	if code != 0 || !strings.Contains(out, "applied by the running chatd") || !strings.Contains(out, `"Alice B."`) {
		t.Fatalf("rename: %d %s %s", code, out, errOut)
	}
	if sessionStatus(t, c.url(), tok1) != 200 {
		t.Fatal("a display name change ended the session")
	}
	if m := reply(a1, "r3"); m.Admin != "Alice B." {
		t.Fatalf("after the rename the visitor sees %q", m.Admin)
	}
	res, body := httpDo(t, "GET", c.url()+"/api/session", "", tok1)
	if res.StatusCode != 200 || !strings.Contains(body, `"display":"Alice B."`) || !strings.Contains(body, `"role":"agent"`) {
		t.Fatalf("session: %d %s", res.StatusCode, body)
	}

	// The replay keeps each reply's name of its time.
	w := dialWS(t, c.url(), "/ws/client")
	w.send("client:add", map[string]any{"name": "Vera", "token": vtok, "after": 0})
	readRaw(t, w, raw, "client:id", nil)
	var replay []message
	readRaw(t, w, raw, "client:messages", &replay)
	if len(replay) != 3 || replay[0].Admin != "Alice from Acme" || replay[1].Admin != "Support" || replay[2].Admin != "Alice B." {
		t.Fatalf("replay %+v", replay)
	}
	for _, f := range raw.frames {
		if strings.Contains(f, login1) || strings.Contains(f, login2) {
			t.Fatalf("a login reached a visitor: %s", f)
		}
	}

	// Display names are checked like names.
	for _, bad := range []string{"\u202Eevil", "\u200B", "\u3164", strings.Repeat("x", 65)} {
		code, _, errOut := runBin(t, "", nil, "admin", "set", login1, "--display", bad, "--data", dir)
		if code != 1 || !strings.Contains(errOut, "display name") {
			t.Errorf("display %q: %d %s", bad, code, errOut)
		}
	}
}

func chatdSet(t *testing.T, dir, name string) {
	t.Helper()
	if code, _, e := runBin(t, "pw\n", nil, "admin", "set", name, "--data", dir, "--bcrypt-cost", "4"); code != 0 {
		t.Fatal(e)
	}
}

// rawLog keeps every frame a visitor socket received, as sent.
type rawLog struct{ frames []string }

// readRaw reads frames from w until one of type typ, keeping each in raw.
func readRaw(t *testing.T, w *wsConn, raw *rawLog, typ string, v any) {
	t.Helper()
	for {
		w.c.SetReadDeadline(time.Now().Add(wait))
		_, b, err := w.c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		raw.frames = append(raw.frames, string(b))
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if f.Type == typ {
			if v != nil {
				if err := json.Unmarshal(f.Data, v); err != nil {
					t.Fatal(err)
				}
			}
			return
		}
	}
}

// TestLoginLimitsEndToEnd replays issue 10 #15 through a trusted proxy: one
// wrong try every request from rotating addresses; the owner with its
// browser's device cookie always gets in; IPv6 addresses of one /64 count as
// one client.
func TestLoginLimitsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"ann", "bob"} {
		if err := seed.Set(dir, n, "pw", 4); err != nil {
			t.Fatal(err)
		}
	}
	c := startChild(t, dir, "--trusted-proxies", "127.0.0.1")
	post := func(client *http.Client, from, name, pw string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", c.url()+"/api/login", strings.NewReader(fmt.Sprintf(`{"name":%q,"password":%q}`, name, pw)))
		req.Header.Set("X-Forwarded-For", from)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	jar, _ := cookiejar.New(nil)
	owner := &http.Client{Jar: jar, Timeout: wait}
	if res := post(owner, "198.51.100.7", "ann", "pw"); res.StatusCode != 200 {
		t.Fatalf("owner's first login: %d", res.StatusCode)
	}
	plain := &http.Client{Timeout: wait}
	refused, ownerOK := 0, 0
	for i := 0; i < 60; i++ {
		if res := post(plain, fmt.Sprintf("203.0.113.%d", i), "ann", "guess"); res.StatusCode == 429 {
			refused++
		}
		if i%6 == 0 {
			// From a new address, but with the browser's device cookie.
			if res := post(owner, fmt.Sprintf("192.0.2.%d", i), "ann", "pw"); res.StatusCode == 200 {
				ownerOK++
			}
		}
	}
	if ownerOK != 10 || refused < 45 {
		t.Fatalf("owner got in %d/10 times; %d/60 attacks refused", ownerOK, refused)
	}
	res := post(plain, "192.0.2.200", "ann", "pw")
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("unknown client during the attack: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// One /64: five failures, then the sixth address of it is refused for bob.
	for i := 1; i <= 5; i++ {
		if res := post(plain, fmt.Sprintf("2001:db8:1:2::%x", i), "bob", "bad"); res.StatusCode != 401 {
			t.Fatalf("IPv6 attempt %d: %d", i, res.StatusCode)
		}
	}
	if res := post(plain, "2001:db8:1:2:ffff::1", "bob", "pw"); res.StatusCode != 429 {
		t.Fatalf("another address of the same /64: %d, want 429", res.StatusCode)
	}
	if res := post(plain, "2001:db8:1:3::1", "bob", "pw"); res.StatusCode != 200 {
		t.Fatalf("a different /64: %d", res.StatusCode)
	}
}
