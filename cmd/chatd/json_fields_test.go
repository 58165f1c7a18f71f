package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/store"
)

// A JSON API body names only the documented fields, exactly: a name the
// endpoint does not know (a typo, another case, the shortcut of PUT
// /api/canned/{shortcut} sent in the body) is 400 naming it and the fields,
// and nothing is done; a value of the wrong type names its field. Before,
// encoding/json dropped unknown names and matched the rest ignoring case,
// so these answered 200 having done something else than asked.
func TestJSONBodiesNameOnlyKnownFields(t *testing.T) {
	dir := t.TempDir()
	admin := store.RoleAdmin
	if _, err := seed.SetWith(dir, "boss", seed.Change{Password: "boss password", Cost: 4, Role: &admin}); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.SetWith(dir, "ann", seed.Change{Password: "ann password", Cost: 4}); err != nil {
		t.Fatal(err)
	}
	p := startRun(t, dir)
	boss := login(t, p.url(), "boss", "boss password")
	for _, tc := range []struct {
		method, path, body, want string
	}{
		{"PUT", "/api/agents/ann", `{"rol":"admin"}`, `unknown field "rol"`},
		{"PUT", "/api/agents/ann", `{"Role":"admin"}`, `unknown field "Role"`},
		{"PUT", "/api/agents/ann", `{"role ":"admin"}`, `unknown field "role "`},
		{"PUT", "/api/agents/ann", `{"r\u00f4le":"admin"}`, `unknown field "r\u00f4le"`},
		{"PUT", "/api/agents/ann", `{"display":"Ann","roles":["admin"]}`, `unknown field "roles"`},
		{"PUT", "/api/agents/ann", `{"totp":"enable","code":"123456"}`, `unknown field "code"`},
		{"PUT", "/api/agents/ann", `{"passwd":"new long password"}`, `unknown field "passwd"`},
		{"PUT", "/api/agents/ann", `{"password":"new long password","PASSWORD":null}`, `same name twice`},
		{"PUT", "/api/agents/ann", `{"role":true}`, `field "role" must be a string, not a JSON bool`},
		{"PUT", "/api/agents/ann", `{"display":["Ann"]}`, `field "display" must be a string, not a JSON array`},
		{"PUT", "/api/agents/eve", `{"password":"eve long password","rol":"admin"}`, `unknown field "rol"`},
		{"PUT", "/api/agents/ann", `["role","admin"]`, `body must be a JSON object`},
		{"PUT", "/api/agents/ann", `null`, `body must be a JSON object`},
		{"PUT", "/api/canned/hi", `{"text":"Hello!","shortcut":"bye"}`, `unknown field "shortcut"`},
		{"PUT", "/api/canned/hi", `{"Text":"Hello!"}`, `unknown field "Text"`},
		{"PUT", "/api/canned/hi", `{"text":42}`, `field "text" must be a string, not a JSON number`},
		{"PUT", "/api/canned/hi", `"Hello!"`, `body must be a JSON object`},
		{"POST", "/api/login", `{"name":"ann","Password":"ann password"}`, `unknown field "Password"`},
		{"POST", "/api/login", `{"user":"ann","password":"ann password"}`, `unknown field "user"`},
		{"POST", "/api/login", `{"name":"ann","password":"ann password","totp":"123456"}`, `unknown field "totp"`},
		{"POST", "/api/login", `{"name":["ann"],"password":"ann password"}`, `field "name" must be a string`},
	} {
		res, body := httpDo(t, tc.method, p.url()+tc.path, tc.body, boss)
		var e struct{ Error string }
		json.Unmarshal([]byte(body), &e)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s %s %s: %d %s, want 400 with %q", tc.method, tc.path, tc.body, res.StatusCode, body, tc.want)
		}
	}
	// Nothing was done: ann is an agent without a display name or second
	// factor and keeps her password, eve does not exist, there is no canned reply.
	admins, err := seed.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(admins, func(a store.Admin) bool { return a.Name == "ann" })
	if len(admins) != 2 || i < 0 || admins[i].EffectiveRole() != store.RoleAgent || admins[i].Display != "" || admins[i].TOTP != "" {
		t.Fatalf("admins changed: %+v", admins)
	}
	login(t, p.url(), "ann", "ann password")
	if res, body := httpDo(t, "GET", p.url()+"/api/canned", "", boss); res.StatusCode != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("canned replies: %d %s", res.StatusCode, body)
	}
	// The documented names still work.
	for _, tc := range []struct{ method, path, body string }{
		{"PUT", "/api/agents/ann", `{"role":"admin","display":"Ann"}`},
		{"PUT", "/api/canned/hi", `{"text":"Hello!"}`},
	} {
		if res, body := httpDo(t, tc.method, p.url()+tc.path, tc.body, boss); res.StatusCode != http.StatusOK {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, res.StatusCode, body)
		}
	}
}
