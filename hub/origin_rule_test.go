package hub

import (
	"net/http"
	"strings"
	"testing"
)

// TestNormalizeOrigin: an origin is put in the form a browser sends (RFC
// 6454 §6.2: lower case, no default port, no trailing slash); what no
// browser can send as an Origin is refused, saying why.
func TestNormalizeOrigin(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://shop.example", "https://shop.example"},
		{"https://shop.example/", "https://shop.example"},
		{" https://shop.example ", "https://shop.example"},
		{"HTTPS://Shop.EXAMPLE", "https://shop.example"},
		{"https://shop.example:443", "https://shop.example"},
		{"http://shop.example:80", "http://shop.example"},
		{"https://shop.example:80", "https://shop.example:80"},
		{"http://shop.example:443", "http://shop.example:443"},
		{"https://shop.example:8443/", "https://shop.example:8443"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"https://[::1]:8443", "https://[::1]:8443"},
		{"https://[2001:DB8::1]", "https://[2001:db8::1]"},
		{"https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
		{"https://shop.example.", "https://shop.example."},
		{"http://localhost:3000", "http://localhost:3000"},
	} {
		if got, err := NormalizeOrigin(tc.in); err != nil || got != tc.want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "shop.example", "//shop.example", "ftp://shop.example", "ws://shop.example", "file:///tmp/x", "null",
		"chrome-extension://abcdef", "https:shop.example", "https://", "https://:443",
		"https://*.shop.example", "https://*", "https://shop.*", "*",
		"https://bücher.example", "https://shop.exämple:8443",
		"https://ann@shop.example", "https://ann:pw@shop.example",
		"https://shop.example/path", "https://shop.example//", "https://shop.example?x=1", "https://shop.example/?", "https://shop.example#top", "https://shop.example/#",
		"https://shop.example:", "https://shop.example:0", "https://shop.example:0443", "https://shop.example:65536", "https://shop.example:99999", "https://shop.example:-1", "https://shop.example:4a",
		"https://shop example", "https://shop%2eexample", "https://shop.example,https://b.example",
	} {
		if got, err := NormalizeOrigin(in); err == nil {
			t.Errorf("NormalizeOrigin(%q) = %q, want an error", in, got)
		}
	}
}

// TestOriginsComparedAsBrowsersSendThem: --origins written with a default
// port, in upper case or with a slash still matches what browsers send, a
// request's Origin in another spelling of an allowed origin is allowed, and
// the admin socket's same-origin rule holds behind proxies that write the
// default port into Host, never letting another port of the host in.
func TestOriginsComparedAsBrowsersSendThem(t *testing.T) {
	ts := startServer(t, Config{AllowedOrigins: []string{"https://shop.example:443", "HTTP://Shop2.EXAMPLE:80/", "https://[::1]:8443"}})
	for _, c := range []struct {
		path, host, origin string
		ok                 bool
	}{
		{"/ws/client", "", "https://shop.example", true},
		{"/ws/client", "", "https://shop.example:443", true},
		{"/ws/client", "", "http://shop2.example", true},
		{"/ws/client", "", "http://shop2.example:80", true},
		{"/ws/client", "", "https://[::1]:8443", true},
		{"/ws/client", "", "https://shop.example:8443", false},
		{"/ws/client", "", "http://shop.example", false},
		{"/ws/client", "", "https://shop2.example", false},
		{"/ws/client", "", "https://ann@shop.example", false},
		{"/ws/client", "", "https://shop.example.evil.example", false},
		{"/ws/client", "", "null", false},
		{"/ws/client", "", "https://*.example", false},
		// The server's own origin, by Host.
		{"/ws/admin", "chat.example", "https://chat.example", true},
		{"/ws/admin", "chat.example", "http://chat.example", true},
		{"/ws/admin", "chat.example:443", "https://chat.example", true},
		{"/ws/admin", "chat.example:80", "http://chat.example", true},
		{"/ws/admin", "CHAT.example:443", "https://chat.EXAMPLE:443", true},
		{"/ws/admin", "chat.example:8443", "https://chat.example:8443", true},
		{"/ws/admin", "[::1]:8443", "https://[::1]:8443", true},
		{"/ws/admin", "chat.example", "https://chat.example:8443", false},
		{"/ws/admin", "chat.example", "http://chat.example:8080", false},
		{"/ws/admin", "chat.example:8443", "https://chat.example", false},
		{"/ws/admin", "chat.example:443", "http://chat.example", false},
		{"/ws/admin", "chat.example:80", "https://chat.example", false},
		{"/ws/admin", "chat.example", "chrome-extension://chat.example", false},
		{"/ws/admin", "chat.example", "ftp://chat.example", false},
		{"/ws/admin", "chat.example", "https://user@chat.example", false},
		{"/ws/admin", "chat.example", "https://chat.example.evil.example", false},
		{"/ws/admin", "chat.example", "null", false},
		{"/ws/client", "chat.example:443", "https://chat.example", true}, // own origin, though not in --origins
		{"/ws/client", "chat.example", "https://chat.example:8443", false},
	} {
		hdr := http.Header{"Origin": {c.origin}}
		if c.host != "" {
			hdr.Set("Host", c.host)
		}
		name := c.path + " Host " + c.host + " Origin " + c.origin
		w := ts.dial(name, c.path, hdr)
		add := `{"type":"client:add","data":{"name":"Eve","token":""}}`
		if c.path == "/ws/admin" {
			add = `{"type":"admin:add","data":{"token":"` + adminToken + `"}}`
		}
		w.sendRaw(add)
		f := w.next()
		refused := f.Type == evError && strings.Contains(string(f.raw), `"code":"origin_not_allowed"`)
		if refused == c.ok {
			t.Errorf("%s: got %s, want allowed=%v", name, f.raw, c.ok)
		}
		w.close()
	}
}
