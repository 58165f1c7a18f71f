package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Every path that creates a login applies the login rule: the agents API
// and `chatd admin set` refuse look-alikes; an admins file written before
// the rule still loads (its agents sign in) with a warning.
func TestLoginRuleInEveryPath(t *testing.T) {
	dir := t.TempDir()
	hash, _ := bcrypt.GenerateFromPassword([]byte("boss password"), 4)
	file, _ := json.Marshal([]map[string]string{{"name": "boss", "hash": string(hash), "role": "admin"},
		{"name": "Alice", "hash": string(hash), "role": "agent"}})
	if err := os.WriteFile(filepath.Join(dir, "admins.json"), file, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "Bob", "b\u043eb", "a b"} { // alice: Alice's case twin; Cyrillic о
		if code, _, _ := runBin(t, "a long password\n", nil, "admin", "set", name, "--data", dir, "--bcrypt-cost", "4"); code == 0 {
			t.Errorf("chatd admin set %+q succeeded", name)
		}
	}
	p := startRun(t, dir)
	if !strings.Contains(p.log.String(), "logins outside the login rule") || !strings.Contains(p.log.String(), `"Alice"`) {
		t.Fatalf("no warning about Alice:\n%s", p.log.String())
	}
	boss := login(t, p.url(), "boss", "boss password")
	login(t, p.url(), "Alice", "boss password") // not locked out
	for _, name := range []string{"alice", "ALICE", "\u0430lice", "a/b", "a b", "<b>bob</b>", "bob\u200b", "Bob"} {
		res, body := httpDo(t, "PUT", p.url()+"/api/agents/"+url.PathEscape(name), `{"password":"a long password"}`, boss)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT /api/agents/%+q: %d %s, want 400", name, res.StatusCode, body)
		}
	}
	if res, body := httpDo(t, "PUT", p.url()+"/api/agents/bob", `{"password":"a long password","display":"Bob <B.>"}`, boss); res.StatusCode != http.StatusOK {
		t.Fatalf("PUT bob: %d %s", res.StatusCode, body)
	}
}
