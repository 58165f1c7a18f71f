package hub

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestRefusedOriginIsToldAndCounted: a socket from an origin that is not
// allowed is upgraded (a browser cannot read an HTTP 403 on a handshake),
// told origin_not_allowed, closed with 1008 "origin not allowed", logged at
// most a few times, and counted; nothing it sends is read.
func TestRefusedOriginIsToldAndCounted(t *testing.T) {
	ts := startServer(t, Config{AllowedOrigins: []string{"https://shop.example"}})
	own := "http://" + strings.TrimPrefix(ts.url, "ws://")
	cases := []struct {
		path, origin string
		ok           bool
	}{
		{"/ws/client", "", true},
		{"/ws/client", "https://shop.example", true},
		{"/ws/client", "https://SHOP.example/", true},
		{"/ws/client", own, true},
		{"/ws/client", "https://evil.example", false},
		{"/ws/client", "https://shop.example.evil.example", false},
		{"/ws/client", "null", false},
		{"/ws/client", "https://shop.example:8443", false},
		{"/ws/admin", "", true},
		{"/ws/admin", own, true},
		{"/ws/admin", "https://shop.example", false},
	}
	refused := 0
	for _, c := range cases {
		hdr := http.Header{}
		if c.origin != "" {
			hdr.Set("Origin", c.origin)
		}
		w := ts.dial(c.path+" from "+c.origin, c.path, hdr)
		add := `{"type":"client:add","data":{"name":"Eve","token":"","after":0}}`
		if c.path == "/ws/admin" {
			add = `{"type":"admin:add","data":{"token":"` + adminToken + `","after":0}}`
		}
		w.sendRaw(add)
		f := w.next()
		if c.ok {
			if f.Type == evError {
				t.Errorf("%s from %q refused: %s", c.path, c.origin, f.raw)
			}
			w.close()
			continue
		}
		refused++
		if f.Type != evError || !strings.Contains(string(f.raw), `"code":"origin_not_allowed"`) {
			t.Fatalf("%s from %q: got %s, want origin_not_allowed", c.path, c.origin, f.raw)
		}
		_, _, err := w.c.ReadMessage()
		ce, isClose := err.(*websocket.CloseError)
		if !isClose || ce.Code != ClosePolicy || ce.Text != "origin not allowed" {
			t.Fatalf("%s from %q: ended with %v, want close 1008 \"origin not allowed\"", c.path, c.origin, err)
		}
	}
	st := ts.hub.Stats()
	if st.Rejected[codeOrigin] != uint64(refused) || st.Visitors != 0 {
		t.Fatalf("counted %d refused origins of %d; %d visitors joined", st.Rejected[codeOrigin], refused, st.Visitors)
	}
	if n := strings.Count(ts.logs.String(), "origin not allowed"); n == 0 || n > originLogBurst {
		t.Fatalf("%d log lines for %d refusals (rate limit %d):\n%s", n, refused, originLogBurst, ts.logs)
	}

	// Without AllowedOrigins any site may embed the widget; the admin socket
	// still takes only its own origin.
	open := startServer(t, Config{})
	hdr := http.Header{"Origin": {"https://anyone.example"}}
	v := open.dial("v", "/ws/client", hdr)
	v.send(evClientAdd, map[string]any{"name": "Ann"})
	v.expect(evClientID, nil)
	a := open.dial("a", "/ws/admin", hdr)
	a.send(evAdminAdd, map[string]any{"token": adminToken})
	a.expectError(codeOrigin)
	a.expectClose(ClosePolicy)
}
