package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pquerna/otp/totp"
)

// Turning two-factor login on (or replacing it) ends the agent's other
// sessions and their sockets, keeping the one that asked; turning it off or
// replacing it needs a current code, unless an admin does it for another agent.
func TestTwoFactorChangesEndSessionsAndNeedACode(t *testing.T) {
	dir := t.TempDir()
	for _, a := range [][]string{{"boss", "--role", "admin"}, {"bob"}} {
		args := append([]string{"admin", "set", a[0], "--data", dir, "--bcrypt-cost", "4"}, a[1:]...)
		if code, _, e := runBin(t, a[0]+"'s password\n", nil, args...); code != 0 {
			t.Fatal(e)
		}
	}
	p := startRun(t, dir)
	base := p.url()
	boss := login(t, base, "boss", "boss's password")
	put := func(token, body string, want int) map[string]any {
		t.Helper()
		res, b := httpDo(t, "PUT", base+"/api/agents/bob", body, token)
		if res.StatusCode != want {
			t.Fatalf("PUT bob %s: %d %s, want %d", body, res.StatusCode, b, want)
		}
		var out map[string]any
		json.Unmarshal([]byte(b), &out)
		return out
	}
	live := func(token string) bool {
		res, _ := httpDo(t, "GET", base+"/api/session", "", token)
		return res.StatusCode == http.StatusOK
	}
	code := func(at time.Time, secret string) string {
		c, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	here := login(t, base, "bob", "bob's password")
	other := login(t, base, "bob", "bob's password")
	sock, _ := adminSocket(t, base, other)
	on := put(here, `{"totp":"enable"}`, http.StatusOK)
	secret, _ := on["secret"].(string)
	if secret == "" {
		t.Fatalf("enable: %v", on)
	}
	if live(other) || !live(here) {
		t.Fatalf("after enabling: other session live %v, this one live %v", live(other), live(here))
	}
	// The other session's socket is closed at once.
	for {
		f, err := sock.tryRead()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
				t.Fatalf("the other session's socket: %v, want a close 1008", err)
			}
			break
		}
		if f.Type == "error" && !strings.Contains(string(f.Data), "unauthorized") {
			t.Fatalf("error on the ended socket: %s", f.Data)
		}
	}

	// Turning it off, or replacing it, with a session token alone is refused.
	for _, body := range []string{`{"totp":"disable"}`, `{"totp":"enable"}`} {
		if out := put(here, body, http.StatusForbidden); out["otp"] != "required" {
			t.Fatalf("%s without a code: %v", body, out)
		}
		if out := put(here, strings.TrimSuffix(body, "}")+`,"otp":"000000"}`, http.StatusForbidden); out["otp"] != "invalid" {
			t.Fatalf("%s with a wrong code: %v", body, out)
		}
	}
	// Replacing it with a current code: a new key, other sessions end again.
	other = login2FA(t, base, "bob", "bob's password", code(time.Now(), secret))
	now := put(here, fmt.Sprintf(`{"totp":"enable","otp":%q}`, code(time.Now().Add(30*time.Second), secret)), http.StatusOK)
	if now["secret"] == secret || now["secret"] == "" {
		t.Fatalf("replaced key: %v", now)
	}
	if live(other) || !live(here) {
		t.Fatalf("after replacing: other session live %v, this one live %v", live(other), live(here))
	}
	// An admin turns bob's off without his code (he lost his phone).
	if out := put(boss, `{"totp":"disable"}`, http.StatusOK); out["totp"] != false {
		t.Fatalf("admin disables: %v", out)
	}
	// An admin turning it on for bob ends all of bob's sessions.
	put(boss, `{"totp":"enable"}`, http.StatusOK)
	if live(here) || !live(boss) {
		t.Fatalf("after an admin enabled bob's: bob's session live %v, boss's live %v", live(here), live(boss))
	}
}

// login2FA logs in with a two-factor code.
func login2FA(t *testing.T, base, name, password, otp string) string {
	t.Helper()
	res, body := httpDo(t, "POST", base+"/api/login", fmt.Sprintf(`{"name":%q,"password":%q,"otp":%q}`, name, password, otp), "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s with a code: %d %s", name, res.StatusCode, body)
	}
	var out struct{ Token string }
	json.Unmarshal([]byte(body), &out)
	return out.Token
}
