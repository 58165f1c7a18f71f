package main

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/chatdtest"
)

// dirNames lists dir's entries, to show that a refused write left nothing behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestAdminsFileOnARefusingDisk: when the data directory refuses writes
// (chatd runs as nobody; the directory is made read-only under it), every
// change of the admins file, through /api/agents or `chatd admin`, answers
// an error saying nothing changed (503 with a message; exit 1 naming the
// file and the cause); the file in force, the agents in force and the
// directory stay as they were; logins and chat keep working; once the
// directory is writable again the same changes work.
func TestAdminsFileOnARefusingDisk(t *testing.T) {
	cred := chatdtest.Nobody(t)
	bin := chatdtest.Binary(t)
	data := chatdtest.DataDirFor(t, chatdtest.NobodyID)
	args := []string{"admin", "set", "boss", "--role", "admin", "--data", data, "--bcrypt-cost", "4"}
	if code, out, errOut := chatdtest.RunAs(t, cred, bin, "boss password\n", nil, args...); code != 0 {
		t.Fatalf("chatd admin set boss: exit %d %s%s", code, out, errOut)
	}
	c := startChildOpts(t, chatdtest.Options{Data: data, Args: []string{"--bcrypt-cost", "4"}, Credential: cred})
	boss := login(t, c.url(), "boss", "boss password")
	call := func(method, path, body string, want int) string {
		t.Helper()
		res, b := httpDo(t, method, c.url()+path, body, boss)
		if res.StatusCode != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, b, want)
		}
		return b
	}
	call("PUT", "/api/agents/bob", `{"password":"bob password","role":"agent","display":"Bob"}`, http.StatusOK)
	file := filepath.Join(data, "admins.json")
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	names := dirNames(t, data)
	listBefore := call("GET", "/api/agents", "", http.StatusOK)

	if err := os.Chmod(data, 0o500); err != nil { // chatd's user may no longer create files in it
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, body string }{
		{"PUT", "/api/agents/carl", `{"password":"carl password"}`},
		{"PUT", "/api/agents/bob", `{"display":"Robert"}`},
		{"PUT", "/api/agents/bob", `{"password":"new bob password"}`},
		{"PUT", "/api/agents/bob", `{"role":"admin"}`},
		{"PUT", "/api/agents/bob", `{"totp":"enable","otp":""}`},
		{"DELETE", "/api/agents/bob", ``},
	} {
		b := call(tc.method, tc.path, tc.body, http.StatusServiceUnavailable)
		if !strings.Contains(b, "admins file") || !strings.Contains(b, "nothing changed") {
			t.Errorf("%s %s %s answered %s, want it to say the admins file was not changed", tc.method, tc.path, tc.body, b)
		}
	}
	for _, tc := range []struct {
		stdin string
		args  []string
	}{
		{"carl password\n", []string{"admin", "set", "carl"}},
		{"new bob password\n", []string{"admin", "set", "bob"}},
		{"\n", []string{"admin", "set", "bob", "--display", "Robert"}},
		{"", []string{"admin", "remove", "bob"}},
	} {
		code, out, errOut := chatdtest.RunAs(t, cred, bin, tc.stdin, nil, append(tc.args, "--data", data, "--bcrypt-cost", "4")...)
		if code == 0 || !strings.Contains(errOut, file) || !strings.Contains(errOut, "permission denied") {
			t.Errorf("chatd %v on a refusing disk: exit %d, stdout %q, stderr %q; want a failure naming %s and the cause", tc.args, code, out, errOut, file)
		}
	}
	if after, err := os.ReadFile(file); err != nil || string(after) != string(before) {
		t.Fatalf("admins file after refused changes: %v\n%s\nwant\n%s", err, after, before)
	}
	if got := dirNames(t, data); !slices.Equal(got, names) {
		t.Fatalf("data directory after refused changes %v, want %v", got, names)
	}
	if got := call("GET", "/api/agents", "", http.StatusOK); got != listBefore {
		t.Fatalf("agents after refused changes %s, want %s", got, listBefore)
	}
	bob := login(t, c.url(), "bob", "bob password")
	// Chat keeps working: a visitor's message reaches an agent.
	adm, _ := adminSocket(t, c.url(), bob)
	v, id, _ := visitor(t, c.url(), "Vera")
	v.send("client:message", map[string]any{"cid": "c1", "text": "still there?"})
	var m message
	v.expect("client:message", &m)
	if adm.expect("admin:message", &m); m.Client != id || m.Text != "still there?" {
		t.Fatalf("admin:message %+v, want the visitor's message", m)
	}

	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatal(err)
	}
	call("PUT", "/api/agents/carl", `{"password":"carl password"}`, http.StatusOK)
	login(t, c.url(), "carl", "carl password")

	// Mode 0300: the file is replaced, but the directory cannot be opened to
	// fsync the rename (atomicfile.ErrNotDurable). The change is in force, so
	// it is answered as done, with a warning: never "failed" while applied.
	if err := os.Chmod(data, 0o300); err != nil {
		t.Fatal(err)
	}
	b := call("PUT", "/api/agents/bob", `{"display":"Robert"}`, http.StatusOK)
	if !strings.Contains(b, `"warning"`) || !strings.Contains(call("GET", "/api/agents", "", http.StatusOK), `"display":"Robert"`) {
		t.Fatalf("PUT with an unsynced directory answered %s; want 200 with a warning, and the change in force", b)
	}
	code, out, errOut := chatdtest.RunAs(t, cred, bin, "\n", nil, "admin", "set", "bob", "--display", "Rob", "--data", data)
	if code != 0 || !strings.Contains(errOut, "warning") || !strings.Contains(call("GET", "/api/agents", "", http.StatusOK), `"display":"Rob"`) {
		t.Fatalf("chatd admin set with an unsynced directory: exit %d %q %q; want 0, a warning, the change in force", code, out, errOut)
	}
	call("DELETE", "/api/agents/carl", ``, http.StatusNoContent)
	if strings.Contains(call("GET", "/api/agents", "", http.StatusOK), `"carl"`) {
		t.Fatal("carl listed after a DELETE answered 204")
	}
	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatal(err)
	}
	call("DELETE", "/api/agents/bob", ``, http.StatusNoContent)
}
