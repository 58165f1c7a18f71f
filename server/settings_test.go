package server

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/store"
)

// getSettingsAs reads GET /api/settings with token.
func getSettingsAs(t *testing.T, is inboxServer, token string) hub.SettingsView {
	t.Helper()
	res, body := do(t, "GET", is.url+"/api/settings", "", token)
	if res.StatusCode != 200 {
		t.Fatalf("GET /api/settings = %d %s", res.StatusCode, body)
	}
	var v hub.SettingsView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("GET /api/settings: %v in %s", err, body)
	}
	return v
}

func TestSettingsAPI(t *testing.T) {
	dir := t.TempDir()
	// Started with --assign-limit 7 and --typing-preview given explicitly.
	is := newInboxServerWith(t, dir, hub.Config{AssignLimit: 7, TypingPreview: true,
		Locked: map[string]string{store.SettingTypingPreview: "set by --typing-preview"}})
	sock := is.adminWS(t, is.bo) // an agent's portal is told too
	start := hub.SettingsView{InboxSettings: store.InboxSettings{AssignLimit: 7, TypingPreview: true},
		Locked: []string{"typing_preview"}, Reasons: map[string]string{"typing_preview": "set by --typing-preview"}}
	if got := getSettingsAs(t, is, is.bo); !reflect.DeepEqual(got, start) {
		t.Fatalf("at start %+v\nwant %+v", got, start)
	}
	big := `{"assign_limit":1` + strings.Repeat(" ", 2<<10) + `}`
	for _, tc := range []struct {
		name, method, body, token string
		code                      int
		has                       string
	}{
		{"no token", "GET", "", "", 401, "token"},
		{"forged token", "GET", "", "forged", 401, "token"},
		{"agent reads", "GET", "", is.bo, 200, `"locked":["typing_preview"]`},
		{"no token: no change", "PUT", `{"auto_assign":true}`, "", 401, "token"},
		{"agent may not change", "PUT", `{"auto_assign":true}`, is.bo, 403, "admin role"},
		{"agent with a bad body: still 403", "PUT", `[`, is.bo, 403, "admin role"},
		{"unknown setting", "PUT", `{"auto_assign":true,"max_text":5}`, is.ann, 400, `unknown setting \"max_text\"`},
		{"unknown setting, case differs", "PUT", `{"Auto_Assign":true}`, is.ann, 400, "unknown setting"},
		{"bool as string", "PUT", `{"auto_assign":"true"}`, is.ann, 400, "auto_assign must be true or false"},
		{"bool as number", "PUT", `{"typing_preview":1}`, is.ann, 400, "typing_preview must be true or false"},
		{"number as string", "PUT", `{"assign_limit":"5"}`, is.ann, 400, "assign_limit must be a whole number"},
		{"fraction", "PUT", `{"retention_days":1.5}`, is.ann, 400, "retention_days must be a whole number"},
		{"exponent", "PUT", `{"retention_days":1e3}`, is.ann, 400, "retention_days must be a whole number"},
		{"huge number", "PUT", `{"assign_limit":99999999999999999999}`, is.ann, 400, "assign_limit 99999999999999999999: must be between 0 (no limit) and 100000"},
		{"one past int64", "PUT", `{"retention_days":9223372036854775808}`, is.ann, 400, "retention_days 9223372036854775808: must be between 0 (keep forever) and 36500"},
		{"huge negative number", "PUT", `{"retention_days":-99999999999999999999}`, is.ann, 400, "retention_days -99999999999999999999: must be between 0"},
		{"400 digits", "PUT", `{"assign_limit":1` + strings.Repeat("0", 400) + `}`, is.ann, 400, "assign_limit 10000000000000000000000000000000...: must be between"},
		{"huge exponent", "PUT", `{"assign_limit":1e400}`, is.ann, 400, "assign_limit must be a whole number"},
		{"null", "PUT", `{"assign_limit":null}`, is.ann, 400, "assign_limit must not be null"},
		{"bool as number", "PUT", `{"retention_days":true}`, is.ann, 400, "retention_days must be a whole number"},
		{"negative limit", "PUT", `{"assign_limit":-1}`, is.ann, 400, "assign_limit -1: must be between 0"},
		{"limit over the flag's bound", "PUT", `{"assign_limit":100001}`, is.ann, 400, "assign_limit 100001"},
		{"days over the flag's bound", "PUT", `{"retention_days":36501}`, is.ann, 400, "retention_days 36501"},
		{"negative days", "PUT", `{"retention_days":-3}`, is.ann, 400, "retention_days -3"},
		{"one bad value: nothing applied", "PUT", `{"auto_assign":true,"assign_limit":-1}`, is.ann, 400, "assign_limit"},
		{"a setting twice", "PUT", `{"auto_assign":true,"auto_assign":false}`, is.ann, 400, "same name twice"},
		{"a setting twice, in two cases", "PUT", `{"retention_days":1,"RETENTION_DAYS":2}`, is.ann, 400, "same name twice"},
		{"empty object", "PUT", `{}`, is.ann, 400, "at least one of"},
		{"JSON null", "PUT", `null`, is.ann, 400, "at least one of"},
		{"array", "PUT", `[{"auto_assign":true}]`, is.ann, 400, "JSON object"},
		{"not JSON", "PUT", `auto_assign=1`, is.ann, 400, "JSON object"},
		{"invalid UTF-8", "PUT", "{\"auto_assign\xff\":true}", is.ann, 400, "not valid text"},
		{"oversized", "PUT", big, is.ann, 413, "too large"},
		{"locked: another value", "PUT", `{"typing_preview":false}`, is.ann, 409, "typing_preview is set by --typing-preview"},
		{"locked: another value beside a good one", "PUT", `{"auto_assign":true,"typing_preview":false}`, is.ann, 409, "typing_preview"},
	} {
		res, body := do(t, tc.method, is.url+"/api/settings", tc.body, tc.token)
		if res.StatusCode != tc.code || !strings.Contains(body, tc.has) {
			t.Errorf("%s: %s %s = %d %s, want %d with %q", tc.name, tc.method, tc.body, res.StatusCode, body, tc.code, tc.has)
		}
	}
	if got := getSettingsAs(t, is, is.ann); !reflect.DeepEqual(got, start) {
		t.Fatalf("refused changes changed the settings: %+v", got)
	}
	// A change, with the locked setting at its value (what GET answered may be sent back).
	res, body := do(t, "PUT", is.url+"/api/settings", `{"auto_assign":true,"assign_limit":3,"typing_preview":true,"retention_days":36500}`, is.ann)
	want := hub.SettingsView{InboxSettings: store.InboxSettings{AutoAssign: true, AssignLimit: 3, TypingPreview: true, RetentionDays: 36500},
		Locked: start.Locked, Reasons: start.Reasons}
	var got hub.SettingsView
	json.Unmarshal([]byte(body), &got)
	if res.StatusCode != 200 || !reflect.DeepEqual(got, want) {
		t.Fatalf("PUT = %d %s, want %+v", res.StatusCode, body, want)
	}
	if res, body := do(t, "PUT", is.url+"/api/settings", `{"retention_days":30}`, is.ann); res.StatusCode != 200 {
		t.Fatalf("PUT retention_days = %d %s", res.StatusCode, body)
	}
	want.RetentionDays = 30
	// The agent's socket was told of each change, with who made it.
	for _, days := range []int{36500, 30} {
		var f struct {
			hub.SettingsView
			By string `json:"by"`
		}
		json.Unmarshal(nextFrame(t, sock, "admin:settings"), &f)
		w := want
		w.RetentionDays = days
		if f.By != "ann" || !reflect.DeepEqual(f.SettingsView, w) {
			t.Fatalf("admin:settings %+v, want %+v by ann", f, w)
		}
	}

	// Restart with --assign-limit 9 given: the flag wins (locked); the stored
	// auto_assign and retention_days apply; typing_preview, locked before and
	// never stored, is back at its default.
	is.stop()
	is = newInboxServerWith(t, dir, hub.Config{AssignLimit: 9, Locked: map[string]string{store.SettingAssignLimit: "set by CHATD_ASSIGN_LIMIT"}})
	restarted := hub.SettingsView{InboxSettings: store.InboxSettings{AutoAssign: true, AssignLimit: 9, RetentionDays: 30},
		Locked: []string{"assign_limit"}, Reasons: map[string]string{"assign_limit": "set by CHATD_ASSIGN_LIMIT"}}
	if got := getSettingsAs(t, is, is.bo); !reflect.DeepEqual(got, restarted) {
		t.Fatalf("after a restart with --assign-limit %+v\nwant %+v", got, restarted)
	}
	// Restart without flags: the stored assign_limit comes back.
	is.stop()
	is = newInboxServerWith(t, dir, hub.Config{})
	free := hub.SettingsView{InboxSettings: store.InboxSettings{AutoAssign: true, AssignLimit: 3, RetentionDays: 30},
		Locked: []string{}, Reasons: map[string]string{}}
	if got := getSettingsAs(t, is, is.ann); !reflect.DeepEqual(got, free) {
		t.Fatalf("after a restart without flags %+v\nwant %+v", got, free)
	}
	if res, body := do(t, "PUT", is.url+"/api/settings", `{"typing_preview":true}`, is.ann); res.StatusCode != 200 || !strings.Contains(body, `"typing_preview":true`) {
		t.Fatalf("unlocked typing_preview: %d %s", res.StatusCode, body)
	}
}
