package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/chatd/chatd/seed"
)

// The agents API writes the admins file (which stays the source of truth)
// and applies it at once; two-factor login with TOTP.
func TestAgentsAPIAndTwoFactorLogin(t *testing.T) {
	dir := t.TempDir()
	if code, _, e := runBin(t, "boss password\n", nil, "admin", "set", "boss", "--role", "admin", "--data", dir, "--bcrypt-cost", "4"); code != 0 {
		t.Fatal(e)
	}
	p := startRun(t, dir)
	base := p.url()
	boss := login(t, base, "boss", "boss password")
	call := func(method, path, body, token string, want int) string {
		t.Helper()
		res, b := httpDo(t, method, base+path, body, token)
		if res.StatusCode != want {
			t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, res.StatusCode, b, want)
		}
		return b
	}
	call("PUT", "/api/agents/bob", `{"password":"bob's password","role":"agent","display":"Bob B."}`, boss, http.StatusOK)
	call("PUT", "/api/agents/short", `{"password":"1234567"}`, boss, http.StatusBadRequest)
	call("PUT", "/api/agents/nopass", `{"role":"agent"}`, boss, http.StatusBadRequest)
	call("PUT", "/api/agents/bad%E2%80%AEname", `{"password":"long enough"}`, boss, http.StatusBadRequest)
	call("PUT", "/api/agents/carl", `{"password":"long enough","role":"king"}`, boss, http.StatusBadRequest)
	call("PUT", "/api/agents/bob", `{"totp":"maybe"}`, boss, http.StatusBadRequest)
	if list := call("GET", "/api/agents", "", boss, http.StatusOK); !strings.Contains(list, `{"name":"bob","display":"Bob B.","role":"agent","totp":false}`) || strings.Contains(list, "hash") {
		t.Fatalf("list %s", list)
	}
	// The file holds it, as `chatd admin set` would have written it.
	if admins, err := seed.Load(dir); err != nil || len(admins) != 2 || admins[0].Name != "bob" || admins[0].Display != "Bob B." {
		t.Fatalf("admins file %+v %v", admins, err)
	}
	bob := login(t, base, "bob", "bob's password")
	call("GET", "/api/agents", "", bob, http.StatusForbidden)
	call("PUT", "/api/agents/carl", `{"password":"long enough"}`, bob, http.StatusForbidden)
	call("PUT", "/api/agents/bob", `{"display":"Bobby"}`, bob, http.StatusForbidden)
	call("DELETE", "/api/agents/boss", "", boss, http.StatusConflict) // the last admin
	call("PUT", "/api/agents/boss", `{"role":"agent"}`, boss, http.StatusConflict)
	call("DELETE", "/api/agents/nobody", "", boss, http.StatusNotFound)

	// bob turns two-factor login on for himself.
	var on struct{ Secret, Otpauth string }
	json.Unmarshal([]byte(call("PUT", "/api/agents/bob", `{"totp":"enable"}`, bob, http.StatusOK)), &on)
	if on.Secret == "" || !strings.HasPrefix(on.Otpauth, "otpauth://totp/chatd:bob?") {
		t.Fatalf("enable: %+v", on)
	}
	try := func(otp string) (int, string) {
		res, b := httpDo(t, "POST", base+"/api/login", fmt.Sprintf(`{"name":"bob","password":"bob's password","otp":%q}`, otp), "")
		return res.StatusCode, b
	}
	if code, b := try(""); code != 401 || !strings.Contains(b, `"otp":"required"`) {
		t.Fatalf("no code: %d %s", code, b)
	}
	if code, b := try("000000x"); code != 401 || !strings.Contains(b, `"otp":"invalid"`) {
		t.Fatalf("bad code: %d %s", code, b)
	}
	if code, _ := httpDo(t, "POST", base+"/api/login", `{"name":"bob","password":"wrong","otp":"123456"}`, ""); code.StatusCode != 401 {
		t.Fatal("a wrong password with a code")
	}
	code, err := totp.GenerateCode(on.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c, b := try(code); c != 200 {
		t.Fatalf("right code: %d %s", c, b)
	}
	if c, b := try(code); c != 401 || !strings.Contains(b, `"otp":"invalid"`) {
		t.Fatalf("the same code twice: %d %s", c, b)
	}
	if list := call("GET", "/api/agents", "", boss, http.StatusOK); !strings.Contains(list, `"name":"bob","display":"Bob B.","role":"agent","totp":true`) || strings.Contains(list, on.Secret) {
		t.Fatalf("list after enabling: %s", list)
	}
	// Removing bob ends his sessions at once.
	call("DELETE", "/api/agents/bob", "", boss, http.StatusNoContent)
	if res, _ := httpDo(t, "GET", base+"/api/session", "", bob); res.StatusCode != 401 {
		t.Fatalf("bob's session after his removal: %d", res.StatusCode)
	}
	if admins, _ := seed.Load(dir); len(admins) != 1 {
		t.Fatalf("admins file after removal: %+v", admins)
	}
}
