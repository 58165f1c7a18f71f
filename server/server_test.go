package server

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/store"
)

type stubHub struct{}

func (stubHub) ServeClient(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "client") }
func (stubHub) ServeAdmin(w http.ResponseWriter, r *http.Request)  { io.WriteString(w, "admin") }

type oneAdmin struct{ hash string }

func (a oneAdmin) Admin(name string) (store.Admin, error) {
	if name != "ann" {
		return store.Admin{}, store.ErrNotFound
	}
	return store.Admin{Name: name, Hash: a.hash}, nil
}

type snapshot string

func (s snapshot) Backup(w io.Writer) error {
	if s == "fail" {
		io.WriteString(w, "partial")
		return errors.New("disk on fire")
	}
	_, err := io.WriteString(w, string(s))
	return err
}

func newTestServer(t *testing.T, backup snapshot, metricsToken string) (*Server, *httptest.Server) {
	t.Helper()
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	au, err := auth.New(auth.Config{DummyCost: bcrypt.MinCost}, oneAdmin{string(h)})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	m.WatchHub(func() hub.Stats { return hub.Stats{Visitors: 3, Rejected: map[string]uint64{"bad_json": 2}} })
	s := New(Config{
		Hub: stubHub{}, Store: backup, Auth: au, Metrics: m, MetricsToken: metricsToken, Log: zerolog.Nop(),
		Static: fstest.MapFS{
			"index.html":        {Data: []byte("<h1>demo</h1>")},
			"widget.js":         {Data: []byte("console.log(1)")},
			"portal/index.html": {Data: []byte("<h1>portal</h1>")},
			"assets/app.css":    {Data: []byte("body{}")},
		},
	})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func do(t *testing.T, method, url, body, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestRoutesAndHeaders(t *testing.T) {
	s, ts := newTestServer(t, "SNAP", "")
	s.SetReady(true)
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/", 200, "demo"},
		{"GET", "/widget.js", 200, "console.log"},
		{"GET", "/portal/", 200, "portal"},
		{"GET", "/nope", 404, ""},
		{"GET", "/assets/", 404, ""},
		{"GET", "/assets/app.css", 200, "body"},
		{"GET", "/ws/client", 200, "client"},
		{"GET", "/ws/admin", 200, "admin"},
		{"GET", "/healthz", 200, "ok"},
		{"GET", "/readyz", 200, "ready"},
		{"GET", "/metrics", 200, "chatd_visitors_connected 3"},
		{"GET", "/api/login", 405, "use POST"},
		{"GET", "/api/nope", 404, "no such endpoint"},
		{"POST", "/api/backup", 405, ""},
	} {
		res, body := do(t, tc.method, ts.URL+tc.path, "", "")
		if res.StatusCode != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, res.StatusCode, body, tc.code, tc.body)
		}
		if got := res.Header.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") ||
			!strings.Contains(got, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", tc.path, got)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: missing nosniff or Referrer-Policy", tc.path)
		}
		if tc.path == "/widget.js" {
			if c := res.Header.Get("Cross-Origin-Resource-Policy"); c != "" {
				t.Errorf("widget.js has CORP %q; customer sites could not load it", c)
			}
			if !strings.Contains(res.Header.Get("Cache-Control"), "max-age=") {
				t.Errorf("widget.js Cache-Control %q", res.Header.Get("Cache-Control"))
			}
		}
	}
	s.SetReady(false)
	if res, _ := do(t, "GET", ts.URL+"/readyz", "", ""); res.StatusCode != 503 {
		t.Fatalf("readyz not ready = %d", res.StatusCode)
	}
}

func TestLoginLogoutBackup(t *testing.T) {
	_, ts := newTestServer(t, "SNAP", "")
	if res, _ := do(t, "POST", ts.URL+"/api/login", `{"name":"ann","password":"bad"}`, ""); res.StatusCode != 401 {
		t.Fatalf("bad password = %d", res.StatusCode)
	}
	if res, _ := do(t, "POST", ts.URL+"/api/login", `nope`, ""); res.StatusCode != 400 {
		t.Fatalf("bad json = %d", res.StatusCode)
	}
	big := `{"name":"ann","password":"` + strings.Repeat("x", 5000) + `"}`
	if res, _ := do(t, "POST", ts.URL+"/api/login", big, ""); res.StatusCode != 413 {
		t.Fatalf("big body = %d", res.StatusCode)
	}
	if res, _ := do(t, "GET", ts.URL+"/api/backup", "", ""); res.StatusCode != 401 {
		t.Fatalf("backup without token = %d", res.StatusCode)
	}
	res, body := do(t, "POST", ts.URL+"/api/login", `{"name":"ann","password":"pw"}`, "")
	if res.StatusCode != 200 || !strings.Contains(body, `"token"`) || !strings.Contains(body, `"expires"`) {
		t.Fatalf("login = %d %s", res.StatusCode, body)
	}
	token := strings.Split(strings.Split(body, `"token":"`)[1], `"`)[0]
	res, body = do(t, "GET", ts.URL+"/api/backup", "", token)
	if res.StatusCode != 200 || body != "SNAP" || res.Trailer.Get(BackupStatusTrailer) != "ok" {
		t.Fatalf("backup = %d %q trailer %q", res.StatusCode, body, res.Trailer.Get(BackupStatusTrailer))
	}
	if res, _ := do(t, "POST", ts.URL+"/api/logout", "", token); res.StatusCode != 204 {
		t.Fatalf("logout = %d", res.StatusCode)
	}
	if res, _ := do(t, "GET", ts.URL+"/api/backup", "", token); res.StatusCode != 401 {
		t.Fatalf("backup after logout = %d", res.StatusCode)
	}
	for i := 0; i < 4; i++ { // one failure above: 5 in all, the burst
		do(t, "POST", ts.URL+"/api/login", `{"name":"ann","password":"bad"}`, "")
	}
	res, _ = do(t, "POST", ts.URL+"/api/login", `{"name":"ann","password":"pw"}`, "")
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("after a burst of failures = %d", res.StatusCode)
	}
	_, metrics := do(t, "GET", ts.URL+"/metrics", "", "")
	if !strings.Contains(metrics, `chatd_login_failures_total{reason="bad_credentials"} 5`) ||
		!strings.Contains(metrics, `chatd_login_failures_total{reason="rate_limited"} 1`) {
		t.Fatalf("login failure metrics:\n%s", grep(metrics, "chatd_login"))
	}
}

func TestFailedBackupHasNoOKTrailer(t *testing.T) {
	_, ts := newTestServer(t, "fail", "")
	_, body := do(t, "POST", ts.URL+"/api/login", `{"name":"ann","password":"pw"}`, "")
	token := strings.Split(strings.Split(body, `"token":"`)[1], `"`)[0]
	res, _ := do(t, "GET", ts.URL+"/api/backup", "", token)
	if res.Trailer.Get(BackupStatusTrailer) == "ok" {
		t.Fatal("failed backup carried an ok trailer")
	}
}

func TestMetricsToken(t *testing.T) {
	_, ts := newTestServer(t, "", "sekrit")
	for _, tc := range []struct {
		token string
		code  int
	}{{"", 401}, {"wrong", 401}, {"sekrit", 200}} {
		if res, _ := do(t, "GET", ts.URL+"/metrics", "", tc.token); res.StatusCode != tc.code {
			t.Errorf("metrics with token %q = %d, want %d", tc.token, res.StatusCode, tc.code)
		}
	}
	_, body := do(t, "GET", ts.URL+"/metrics", "", "sekrit")
	for _, want := range []string{`chatd_rejected_frames_total{reason="bad_json"} 2`,
		`chatd_rejected_frames_total{reason="too_large"} 0`, "go_goroutines", "chatd_store_write_seconds"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
