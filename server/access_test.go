package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/store"
)

type roleAdmins map[string]store.Admin

func (m roleAdmins) Admin(name string) (store.Admin, error) {
	a, ok := m[name]
	if !ok {
		return store.Admin{}, store.ErrNotFound
	}
	return a, nil
}

func newRoleServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	admins := roleAdmins{
		"boss":  {Name: "boss", Hash: string(h), Role: store.RoleAdmin},
		"old":   {Name: "old", Hash: string(h)}, // no role: an admin
		"agent": {Name: "agent", Hash: string(h), Role: store.RoleAgent, Display: "Alice from Acme"},
	}
	au, err := auth.New(auth.Config{DummyCost: bcrypt.MinCost}, admins)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(au.Close)
	s := New(Config{Hub: stubHub{}, Store: snapshot("SNAP"), Auth: au, Log: zerolog.Nop()})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func tokenOf(t *testing.T, ts *httptest.Server, name string) string {
	t.Helper()
	res, body := do(t, "POST", ts.URL+"/api/login", `{"name":"`+name+`","password":"pw"}`, "")
	if res.StatusCode != 200 {
		t.Fatalf("login %s: %d %s", name, res.StatusCode, body)
	}
	return strings.Split(strings.Split(body, `"token":"`)[1], `"`)[0]
}

// TestBackupNeedsTheAdminRole: /api/backup answers admins (and entries
// without a role), refuses agents with 403 and the remedy.
func TestBackupNeedsTheAdminRole(t *testing.T) {
	_, ts := newRoleServer(t)
	for _, tc := range []struct {
		name string
		code int
	}{{"boss", 200}, {"old", 200}, {"agent", 403}} {
		res, body := do(t, "GET", ts.URL+"/api/backup", "", tokenOf(t, ts, tc.name))
		if res.StatusCode != tc.code {
			t.Errorf("%s: backup = %d %s, want %d", tc.name, res.StatusCode, body, tc.code)
		}
		if tc.code == 403 && (strings.Contains(body, "SNAP") || !strings.Contains(body, "--role admin")) {
			t.Errorf("agent refusal %q", body)
		}
	}
	res, body := do(t, "GET", ts.URL+"/api/session", "", tokenOf(t, ts, "agent"))
	if res.StatusCode != 200 || !strings.Contains(body, `"role":"agent"`) || !strings.Contains(body, `"display":"Alice from Acme"`) ||
		!strings.Contains(body, `"name":"agent"`) || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("session = %d %s", res.StatusCode, body)
	}
	if res, _ := do(t, "GET", ts.URL+"/api/session", "", "nope"); res.StatusCode != 401 {
		t.Fatalf("session with a bad token = %d", res.StatusCode)
	}
}

// TestDeviceCookie: a login sets an HttpOnly, SameSite=Strict device cookie
// scoped to /api/login, and a browser sending it back is trusted by the limits.
func TestDeviceCookie(t *testing.T) {
	_, ts := newRoleServer(t)
	res, _ := do(t, "POST", ts.URL+"/api/login", `{"name":"boss","password":"pw"}`, "")
	var dev *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == DeviceCookie {
			dev = c
		}
	}
	if dev == nil || !dev.HttpOnly || dev.SameSite != http.SameSiteStrictMode || dev.Path != "/api/login" || dev.MaxAge <= 0 {
		t.Fatalf("device cookie %+v", dev)
	}
	// Spend this address's budget for boss, then come back with the cookie.
	for i := 0; i < 5; i++ {
		do(t, "POST", ts.URL+"/api/login", `{"name":"boss","password":"bad"}`, "")
	}
	if res, _ := do(t, "POST", ts.URL+"/api/login", `{"name":"boss","password":"pw"}`, ""); res.StatusCode != 429 {
		t.Fatalf("without the cookie = %d, want 429", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/api/login", strings.NewReader(`{"name":"boss","password":"pw"}`))
	req.AddCookie(dev)
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != 200 {
		t.Fatalf("with the device cookie = %d, want 200", res2.StatusCode)
	}
}

func TestControlHandler(t *testing.T) {
	s, _ := newRoleServer(t)
	var reloads int
	var fail error
	h := s.ControlHandler(func() error { reloads++; return fail })
	sock := filepath.Join(t.TempDir(), "c.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	res, err := c.Get("http://chatd/backup")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "SNAP" || res.Trailer.Get(BackupStatusTrailer) != "ok" {
		t.Fatalf("control backup %q, trailer %q", b, res.Trailer.Get(BackupStatusTrailer))
	}
	res, _ = c.Post("http://chatd/reload-admins", "", nil)
	res.Body.Close()
	if res.StatusCode != 204 || reloads != 1 {
		t.Fatalf("reload = %d (%d reloads)", res.StatusCode, reloads)
	}
	fail = io.ErrUnexpectedEOF
	res, _ = c.Post("http://chatd/reload-admins", "", nil)
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 409 || !strings.Contains(string(b), "unexpected EOF") {
		t.Fatalf("failed reload = %d %s", res.StatusCode, b)
	}
}
