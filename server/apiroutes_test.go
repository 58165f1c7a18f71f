package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAPIWrongMethodOrPath: a request for an API path with a method none of
// its routes takes gets 405 with exactly the methods they take in Allow, an
// unknown API path 404, both as JSON like every API error; neither is given
// to the static files (GET /api/login answered a text 404, and Allow headers
// listed GET and HEAD for routes that have no GET). Routes, the static files
// and unclean paths' redirects are unchanged.
func TestAPIWrongMethodOrPath(t *testing.T) {
	is := newInboxServer(t)
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/api/login", 405, "POST"},
		{"HEAD", "/api/login", 405, "POST"},
		{"PUT", "/api/login", 405, "POST"},
		{"OPTIONS", "/api/login", 405, "POST"},
		{"GET", "/api/logout", 405, "POST"},
		{"DELETE", "/api/session", 405, "GET, HEAD"},
		{"POST", "/api/backup", 405, "GET, HEAD"},
		{"PATCH", "/api/canned", 405, "GET, HEAD"},
		{"GET", "/api/canned/hi", 405, "PUT, DELETE"},
		{"HEAD", "/api/canned/hi", 405, "PUT, DELETE"},
		{"POST", "/api/canned/hi", 405, "PUT, DELETE"},
		{"GET", "/api/visitors/0123456789abcdef", 405, "DELETE"},
		{"POST", "/api/visitors/0123456789abcdef/export", 405, "GET, HEAD"},
		{"POST", "/api/settings", 405, "GET, HEAD, PUT"},
		{"GET", "/api/nope", 404, ""},
		{"PATCH", "/api/nope", 404, ""},
		{"HEAD", "/api/nope", 404, ""},
		{"GET", "/api/", 404, ""},
		{"GET", "/api/canned/", 404, ""},
		{"DELETE", "/api/visitors/a/b/c", 404, ""},
	} {
		req, _ := http.NewRequest(tc.method, is.url+tc.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		jsonErr := json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != tc.code || res.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d Allow %q, want %d Allow %q", tc.method, tc.path, res.StatusCode, res.Header.Get("Allow"), tc.code, tc.allow)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", tc.method, tc.path, ct)
		}
		if tc.method != "HEAD" && (jsonErr != nil || body.Error == "") {
			t.Errorf("%s %s: body is not a JSON error: %v", tc.method, tc.path, jsonErr)
		}
	}
	// Unchanged: the routes themselves, redirects of unclean paths (the static
	// files: TestRoutesAndHeaders).
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/api/canned", 401},
		{"HEAD", "/api/settings", 401},
		{"PUT", "/api/canned/hi", 401},
	} {
		req, _ := http.NewRequest(tc.method, is.url+tc.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.code {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, res.StatusCode, tc.code)
		}
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", is.url+"/api//canned", nil)
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode/100 != 3 || !strings.HasSuffix(loc, "/api/canned") {
		t.Errorf("GET /api//canned = %d Location %q, want a redirect to /api/canned", res.StatusCode, loc)
	}
}
