package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/store"
)

// GET /api/widget answers the hub's availability to any origin, cacheable
// for a few seconds, and creates nothing.
func TestWidgetAvailabilityEndpoint(t *testing.T) {
	st, err := store.Open(t.TempDir(), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := hub.New(hub.Config{ReplyMinutes: 4, EmailCapture: hub.EmailRequired,
		CheckEmail: func(s string) (string, error) { return s, nil }}, st, nil, zerolog.Nop())
	defer h.Shutdown(t.Context())
	s := New(Config{Hub: stubHub{}, Store: st, Static: fstest.MapFS{}, Log: zerolog.Nop(),
		Availability: func() any { return h.Availability() }})
	srv := httptest.NewServer(s)
	defer srv.Close()

	for _, origin := range []string{"", "https://shop.example", "null"} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/widget", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		req.Header.Set("Cookie", "session=whatever")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("origin %q: %d %v", origin, res.StatusCode, err)
		}
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("origin %q: Access-Control-Allow-Origin %q", origin, got)
		}
		if res.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Error("credentials allowed")
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=5" {
			t.Errorf("Cache-Control %q", got)
		}
		want := map[string]any{"available": false, "agents_online": 0.0, "open": true, "next_change": nil,
			"reply_minutes": 4.0, "email": "required", "transcript": false}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("%s = %v, want %v (body %v)", k, body[k], v, body)
			}
		}
	}
	res, err := http.Post(srv.URL+"/api/widget", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("OPTIONS", srv.URL+"/api/widget", nil)
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
	if vs, _ := st.Visitors(); len(vs) != 0 {
		t.Errorf("asking made %d visitors", len(vs))
	}
}

// BenchmarkWidgetAvailability measures GET /api/widget served by a real hub
// (in memory, no store access): what every page view of a new visitor costs.
func BenchmarkWidgetAvailability(b *testing.B) {
	st, err := store.Open(b.TempDir(), db.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := hub.New(hub.Config{ReplyMinutes: 4, CheckEmail: func(s string) (string, error) { return s, nil }}, st, nil, zerolog.Nop())
	defer h.Shutdown(b.Context())
	s := New(Config{Hub: stubHub{}, Store: st, Static: fstest.MapFS{}, Log: zerolog.Nop(),
		Availability: func() any { return h.Availability() }})
	req := httptest.NewRequest("GET", "/api/widget", nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}
