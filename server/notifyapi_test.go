package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/internal/logcheck"
	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/notify/push"
	"github.com/chatd/chatd/notify/webhook"
	"github.com/chatd/chatd/store"
)

// roleAdmin is one admin, "ann", with role (store.RoleAdmin or store.RoleAgent).
type roleAdmin struct{ hash, role string }

func (a roleAdmin) Admin(name string) (store.Admin, error) {
	if name != "ann" {
		return store.Admin{}, store.ErrNotFound
	}
	return store.Admin{Name: name, Hash: a.hash, Role: a.role}, nil
}

// notifyServer serves the notification API over a real push Sender (its
// subscriptions in a real db) and a real webhook Notifier, with ann signed
// in as role.
func notifyServer(t *testing.T, withPush bool, role string) (*httptest.Server, *push.Sender, *push.DBStore, string) {
	t.Helper()
	return notifyServerLog(t, withPush, role, io.Discard)
}

// notifyServerLog is notifyServer logging JSON lines to log.
func notifyServerLog(t *testing.T, withPush bool, role string, log io.Writer) (*httptest.Server, *push.Sender, *push.DBStore, string) {
	t.Helper()
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	au, err := auth.New(auth.Config{DummyCost: bcrypt.MinCost}, roleAdmin{string(h), role})
	if err != nil {
		t.Fatal(err)
	}
	g, err := au.Login(auth.Attempt{Addr: "127.0.0.1", Name: "ann", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	token := g.Token
	cfg := Config{Hub: stubHub{}, Auth: au, Log: zerolog.New(log), Static: fstest.MapFS{}, Metrics: NewMetrics()}
	var (
		sender *push.Sender
		st     *push.DBStore
	)
	if withPush {
		dir := t.TempDir()
		d, err := db.Open(dir, db.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if st, err = push.NewDBStore(d); err != nil {
			t.Fatal(err)
		}
		keys, err := push.LoadOrCreateKeys(dir)
		if err != nil {
			t.Fatal(err)
		}
		if sender, err = push.New(push.Config{Keys: keys, Subject: "mailto:ops@chatd.test"}, st); err != nil {
			t.Fatal(err)
		}
		cfg.Push = sender
	}
	wh, err := webhook.New(webhook.Config{Endpoints: []webhook.Endpoint{{URL: "https://hooks.example/T/B/SeCrEt", Secret: "0123456789abcdef-secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { wh.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	cfg.Webhooks = wh
	cfg.Metrics.NotifyCounter("email", "push", "webhook")
	ts := httptest.NewServer(New(cfg))
	t.Cleanup(ts.Close)
	return ts, sender, st, token
}

func TestPushAPI(t *testing.T) {
	var logs logcheck.Buffer
	ts, sender, st, token := notifyServerLog(t, true, store.RoleAdmin, &logs)
	b := notifytest.NewBrowser(t, "b1")
	sub := string(b.Subscription("https://push.example/send/abc"))
	for _, tc := range []struct {
		name, method, path, body, token string
		code                            int
		want                            string
	}{
		{"key without a token", "GET", "/api/push/vapid", "", "", 200, `{"key":"` + sender.PublicKey() + `"}`},
		{"subscribe without a token", "POST", "/api/push/subscriptions", sub, "", 401, "token"},
		{"subscribe with a bad token", "POST", "/api/push/subscriptions", sub, "nope", 401, "token"},
		{"not json", "POST", "/api/push/subscriptions", "{", token, 400, "not a PushSubscription"},
		{"http endpoint", "POST", "/api/push/subscriptions", strings.Replace(sub, "https:", "http:", 1), token, 400, "https"},
		{"private endpoint", "POST", "/api/push/subscriptions", strings.Replace(sub, "push.example", "10.0.0.7:8443", 1), token, 400, "--push-allow-private"},
		{"localhost endpoint", "POST", "/api/push/subscriptions", strings.Replace(sub, "push.example", "localhost", 1), token, 400, "--push-allow-private"},
		{"shared-space endpoint", "POST", "/api/push/subscriptions", strings.Replace(sub, "push.example", "100.100.1.2", 1), token, 400, "--push-allow-private"},
		{"too large", "POST", "/api/push/subscriptions", `{"endpoint":"https://x/` + strings.Repeat("a", 4000) + `"}`, token, 413, "too large"},
		{"subscribe", "POST", "/api/push/subscriptions", sub, token, 201, `{"id":"` + push.SubscriptionID("https://push.example/send/abc") + `"}`},
		{"unsubscribe without a token", "DELETE", "/api/push/subscriptions", `{"endpoint":"https://push.example/send/abc"}`, "", 401, "token"},
		{"unsubscribe without endpoint", "DELETE", "/api/push/subscriptions", `{}`, token, 400, "endpoint"},
		{"unsubscribe bad json", "DELETE", "/api/push/subscriptions", `[`, token, 400, "JSON"},
	} {
		res, body := do(t, tc.method, ts.URL+tc.path, tc.body, tc.token)
		if res.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %s %s = %d %s, want %d with %q", tc.name, tc.method, tc.path, res.StatusCode, body, tc.code, tc.want)
		}
	}
	// Each refusal of a non-public endpoint is logged once at warn, with
	// the host and never the path; other refusals are the caller's alone.
	var hosts []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l struct{ Level, Message, Host, Admin string }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if strings.HasPrefix(l.Message, "push subscription refused") {
			if l.Level != "warn" || l.Admin != "ann" || !strings.Contains(l.Message, "--push-allow-private") || strings.Contains(line, "/send/abc") {
				t.Errorf("refusal logged as %s", line)
			}
			hosts = append(hosts, l.Host)
		}
	}
	if want := []string{"https://10.0.0.7:8443", "https://localhost", "https://100.100.1.2"}; !slices.Equal(hosts, want) {
		t.Errorf("refusals logged for hosts %q, want %q\n%s", hosts, want, logs.String())
	}
	// The subscription is the admin's, and DELETE removes it.
	subs, _ := st.Subscriptions("ann")
	if len(subs) != 1 || subs[0].Admin != "ann" || subs[0].Endpoint != "https://push.example/send/abc" {
		t.Fatalf("stored subscriptions %+v", subs)
	}
	if res, body := do(t, "DELETE", ts.URL+"/api/push/subscriptions", `{"endpoint":"https://push.example/send/abc"}`, token); res.StatusCode != 204 {
		t.Fatalf("unsubscribe: %d %s", res.StatusCode, body)
	}
	if subs, _ := st.Subscriptions("ann"); len(subs) != 0 {
		t.Fatalf("left after DELETE: %+v", subs)
	}
}

func TestPushAPIWithoutPush(t *testing.T) {
	ts, _, _, token := notifyServer(t, false, store.RoleAdmin)
	for _, tc := range []struct{ method, path, body, token string }{
		{"GET", "/api/push/vapid", "", ""},
		{"POST", "/api/push/subscriptions", "{}", token},
		{"DELETE", "/api/push/subscriptions", `{"endpoint":"https://x/y"}`, token},
	} {
		if res, body := do(t, tc.method, ts.URL+tc.path, tc.body, tc.token); res.StatusCode != 404 || !strings.Contains(body, "not enabled") {
			t.Errorf("%s %s without push: %d %s", tc.method, tc.path, res.StatusCode, body)
		}
	}
}

func TestWebhookLogAPI(t *testing.T) {
	ts, _, _, token := notifyServer(t, false, store.RoleAdmin)
	if res, _ := do(t, "GET", ts.URL+"/api/webhooks", "", ""); res.StatusCode != 401 {
		t.Fatalf("without a token: %d", res.StatusCode)
	}
	res, body := do(t, "GET", ts.URL+"/api/webhooks", "", token)
	var got struct {
		Endpoints  []webhook.EndpointInfo `json:"endpoints"`
		Deliveries []webhook.Delivery     `json:"deliveries"`
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Endpoints) != 1 ||
		got.Endpoints[0].Endpoint != "https://hooks.example" || got.Deliveries == nil || strings.Contains(body, "SeCrEt") {
		t.Fatalf("webhook log: %d %s", res.StatusCode, body)
	}
	if c := res.Header.Get("Cache-Control"); c != "no-store" {
		t.Fatalf("Cache-Control %q", c)
	}
	// An agent without the admin role is refused.
	ts, _, _, token = notifyServer(t, false, store.RoleAgent)
	if res, body := do(t, "GET", ts.URL+"/api/webhooks", "", token); res.StatusCode != 403 || !strings.Contains(body, "admin role") {
		t.Fatalf("without the admin role: %d %s", res.StatusCode, body)
	}
}

func TestNotifyCounterIsExported(t *testing.T) {
	m := NewMetrics()
	c := m.NotifyCounter("email", "push")
	c.Count("email", "sent")
	ts := httptest.NewServer(m.Handler())
	defer ts.Close()
	_, body := do(t, "GET", ts.URL, "", "")
	for _, want := range []string{`chatd_notify_total{channel="email",outcome="sent"} 1`, `chatd_notify_total{channel="push",outcome="dropped"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	(*Metrics)(nil).NotifyCounter("email").Count("email", "sent") // metrics off: counts nothing, must not panic
}
