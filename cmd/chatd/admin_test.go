package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestAdminCommandAndLogin(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		out   string
	}{
		{"s3cret pass\n", []string{"admin", "set", "ann", "--data", dir, "--bcrypt-cost", "4"}, 0, "saved"},
		{"other\r\n", []string{"admin", "--data", dir, "set", "bob", "--bcrypt-cost=4"}, 0, "saved"},
		{"\n", []string{"admin", "set", "eve", "--data", dir}, 1, "empty password"},
		{"", []string{"admin", "set", "eve", "--data", dir}, 1, "empty password"},
		{"pw\n", []string{"admin", "set", "--data", dir}, 2, "want: set NAME"},
		{"", []string{"admin", "frobnicate", "--data", dir}, 2, "want: set NAME"},
		{"", []string{"admin", "remove", "nobody", "--data", dir}, 1, "no such admin"},
		{"", []string{"admin", "list", "--data", dir}, 0, "LOGIN\tROLE\tAGENTS SEE\tVISITORS SEE\nann\tagent\tann\tSupport\nbob\tagent\tbob\tSupport\n"},
		{"", []string{"admin", "set", "bob", "--display", "Bob B.", "--data", dir}, 0, `shown to agents as "Bob B.", to visitors as "Bob B."`},
		{"", []string{"admin", "list", "--data", dir}, 0, "ann\tagent\tann\tSupport\nbob\tagent\tBob B.\tBob B.\n"},
	} {
		code, out, errOut := runBin(t, tc.stdin, nil, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.out) {
			t.Errorf("chatd %v: exit %d %q %q, want %d with %q", tc.args, code, out, errOut, tc.code, tc.out)
		}
	}

	c := startChild(t, dir)
	res, body := httpDo(t, "POST", c.url()+"/api/login", `{"name":"ann","password":"wrong"}`, "")
	if res.StatusCode != 401 || !strings.Contains(body, `"error"`) {
		t.Fatalf("bad password: %d %s", res.StatusCode, body)
	}
	if res, _ := httpDo(t, "POST", c.url()+"/api/login", `{"name":"nobody","password":"x"}`, ""); res.StatusCode != 401 {
		t.Fatalf("unknown admin: %d", res.StatusCode)
	}
	token := login(t, c.url(), "ann", "s3cret pass")
	login(t, c.url(), "bob", "other")

	// The admin socket works with the token and sees visitors' messages.
	adm, _ := adminSocket(t, c.url(), token)
	v, id, _ := visitor(t, c.url(), "Vera")
	v.send("client:message", map[string]any{"cid": "1", "text": "hello"})
	var got message
	adm.expect("admin:message", &got)
	if got.Client != id || got.Text != "hello" {
		t.Fatalf("admin got %+v", got)
	}

	// Logout revokes the token: a new admin socket with it is refused and closed.
	if res, _ := httpDo(t, "POST", c.url()+"/api/logout", "", token); res.StatusCode != 204 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	w := dialWS(t, c.url(), "/ws/admin")
	w.send("admin:add", map[string]any{"token": token, "after": 0})
	var e struct{ Code string }
	w.expect("error", &e)
	if e.Code != "unauthorized" {
		t.Fatalf("revoked token: error %q", e.Code)
	}
	if _, err := w.tryRead(); !isClose(err, 1008) {
		t.Fatalf("revoked token socket ended with %v, want close 1008", err)
	}

	// Failed attempts are limited: after the burst, 429 even with the right password.
	for i := 0; i < 5; i++ {
		httpDo(t, "POST", c.url()+"/api/login", `{"name":"bob","password":"bad"}`, "")
	}
	res, _ = httpDo(t, "POST", c.url()+"/api/login", `{"name":"bob","password":"other"}`, "")
	if res.StatusCode != 429 {
		t.Fatalf("after a burst of failures: %d, want 429", res.StatusCode)
	}
	if strings.Contains(c.log.String(), "s3cret pass") || strings.Contains(c.log.String(), token) {
		t.Fatal("a password or token reached the log")
	}
}

func isClose(err error, code int) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce) && ce.Code == code
}

func TestFirstBootPasswordAndRemoval(t *testing.T) {
	dir := t.TempDir()
	p := startRun(t, dir)
	const msg = "no admin existed: created one with this random password (shown only now; change it with 'chatd admin set')"
	first := p.log.waitMsg(t, msg)
	password, _ := first["password"].(string)
	if len(password) < 16 || first["level"] != "warn" || first["admin"] != "admin" {
		t.Fatalf("first-boot line %v", first)
	}
	login(t, p.url(), "admin", password)
	if code := p.stop(t); code != 0 {
		t.Fatalf("stop: %d", code)
	}

	// Second boot: the password is not logged again and still works.
	p = startRun(t, dir)
	if n := p.log.count(msg); n != 0 || strings.Contains(p.log.String(), password) {
		t.Fatalf("second boot logged the password again:\n%s", p.log.String())
	}
	login(t, p.url(), "admin", password)
	p.stop(t)

	// Add bob, remove admin: after a reboot admin's login fails and bob's works.
	if code, _, e := runBin(t, "bobpw\n", nil, "admin", "set", "bob", "--data", dir, "--bcrypt-cost", "4"); code != 0 {
		t.Fatal(e)
	}
	if code, _, e := runBin(t, "", nil, "admin", "remove", "admin", "--data", dir); code != 0 {
		t.Fatal(e)
	}
	p = startRun(t, dir)
	res, _ := httpDo(t, "POST", p.url()+"/api/login", fmt.Sprintf(`{"name":"admin","password":%q}`, password), "")
	if res.StatusCode != 401 {
		t.Fatalf("removed admin login: %d, want 401", res.StatusCode)
	}
	login(t, p.url(), "bob", "bobpw")
	if p.log.count(msg) != 0 {
		t.Fatal("a random admin was created although bob exists")
	}
}

func TestBrokenSeedFile(t *testing.T) {
	dir := t.TempDir()
	if code, _, e := runBin(t, "pw\n", nil, "admin", "set", "ann", "--data", dir, "--bcrypt-cost", "4"); code != 0 {
		t.Fatal(e)
	}
	path := dir + "/admins.json"
	if err := writeFile(path, `[{"name":"ann","hash":"not-bcrypt"}]`); err != nil {
		t.Fatal(err)
	}
	log := newLogLines()
	code := run(t.Context(), []string{"--addr", "127.0.0.1:0", "--data", dir, "--log-format", "json"}, noEnv, nil, log)
	if code == 0 || !strings.Contains(log.String(), path) || !strings.Contains(log.String(), "not bcrypt") {
		t.Fatalf("broken seed file: exit %d, log:\n%s", code, log.String())
	}
}
