package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/store"
)

// One password rule (seed.ValidPassword) for `chatd admin set` and PUT
// /api/agents: a password bcrypt would refuse or cut (over 72 bytes), one of
// white space only, with a control character or not UTF-8 is refused by both
// with a message saying why, instead of a 503 "the admins file could not be
// written" from the API; what either accepts signs in with exactly that password.
func TestPasswordRuleInEveryPath(t *testing.T) {
	dir := t.TempDir()
	admin := store.RoleAdmin
	if _, err := seed.SetWith(dir, "boss", seed.Change{Password: "boss password", Cost: 4, Role: &admin}); err != nil {
		t.Fatal(err)
	}
	p := startRun(t, dir)
	boss := login(t, p.url(), "boss", "boss password")
	for i, tc := range []struct {
		pw       string
		cli, api string // "" = accepted, else a part of the refusal
	}{
		{strings.Repeat("a", 72), "", ""},
		{strings.Repeat("€", 24), "", ""}, // 72 bytes
		{"zebra cloud 7", "", ""},
		{" spaced out ", "", ""}, // kept as given, spaces and all
		{"short", "", "at least 8"},
		{strings.Repeat("a", 73), "73 bytes, at most 72", "73 bytes, at most 72"},
		{strings.Repeat("€", 25), "75 bytes, at most 72", "75 bytes, at most 72"},
		{strings.Repeat("x", 1024), "1024 bytes, at most 72", "1024 bytes, at most 72"},
		{"        ", "only white space", "only white space"},
		{"\u00a0\u3000\u2003", "only white space", "only white space"},
		{"pass\tword 1", "U+0009", "U+0009"},
		{"pass\rword 1", "U+000D", "U+000D"},
		{"pass\x00word 1", "U+0000", "U+0000"},
		{"pass\u0085word 1", "U+0085", "U+0085"},
		{"pass\x7fword 1", "U+007F", "U+007F"},
		{"p\xe4ssword 1", "not valid UTF-8", ""}, // Latin-1 ä: JSON cannot carry it (bad_json, tested elsewhere)
	} {
		cliName, apiName := fmt.Sprintf("cli%d", i), fmt.Sprintf("api%d", i)
		code, _, errOut := runBin(t, tc.pw+"\n", nil, "admin", "set", cliName, "--data", dir, "--bcrypt-cost", "4")
		switch {
		case tc.cli == "" && code != 0:
			t.Errorf("admin set %+q: exit %d %s", tc.pw, code, errOut)
		case tc.cli != "" && (code != 1 || !strings.Contains(errOut, tc.cli)):
			t.Errorf("admin set %+q: exit %d %q, want 1 with %q", tc.pw, code, errOut, tc.cli)
		case tc.cli == "":
			login(t, p.url(), cliName, tc.pw)
		}
		if !strings.HasPrefix(tc.cli, "not valid") {
			body, _ := json.Marshal(map[string]string{"password": tc.pw})
			res, got := httpDo(t, "PUT", p.url()+"/api/agents/"+apiName, string(body), boss)
			switch {
			case tc.api == "" && res.StatusCode != http.StatusOK:
				t.Errorf("PUT %+q: %d %s", tc.pw, res.StatusCode, got)
			case tc.api != "" && (res.StatusCode != http.StatusBadRequest || !strings.Contains(got, tc.api)):
				t.Errorf("PUT %+q: %d %s, want 400 with %q", tc.pw, res.StatusCode, got, tc.api)
			case tc.api == "":
				login(t, p.url(), apiName, tc.pw)
			}
		}
	}
	// A refused new password leaves an existing entry as it was.
	body, _ := json.Marshal(map[string]string{"password": strings.Repeat("b", 80)})
	if res, got := httpDo(t, "PUT", p.url()+"/api/agents/boss", string(body), boss); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("PUT boss 80 bytes: %d %s", res.StatusCode, got)
	}
	login(t, p.url(), "boss", "boss password")
}
