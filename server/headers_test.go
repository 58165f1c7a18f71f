package server

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestSingletonHeaderTwiceRefused: a request holding Authorization or Origin
// twice (two field lines, the same value or two, any case of the name) is
// refused with 400 on every route, sockets included, instead of chatd
// reading the first while a proxy may have read the other; once, each
// works as before.
func TestSingletonHeaderTwiceRefused(t *testing.T) {
	is := newInboxServer(t)
	addr := strings.TrimPrefix(is.url, "http://")
	own := is.url
	send := func(method, path string, lines ...string) (int, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		req := method + " " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n" + strings.Join(lines, "\r\n")
		if len(lines) > 0 {
			req += "\r\n"
		}
		if method == "POST" || method == "PUT" {
			req += "Content-Length: 2\r\n\r\n{}"
		} else {
			req += "\r\n"
		}
		fmt.Fprint(c, req)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b := make([]byte, 512)
		n, _ := res.Body.Read(b)
		return res.StatusCode, string(b[:n])
	}
	ws := []string{"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="}
	bearer := "Authorization: Bearer " + is.ann
	for _, tc := range []struct {
		name, method, path string
		lines              []string
		code               int
	}{
		{"session: token twice", "GET", "/api/session", []string{bearer, bearer}, 400},
		{"session: forged token first", "GET", "/api/session", []string{"Authorization: Bearer forged", bearer}, 400},
		{"session: real token first", "GET", "/api/session", []string{bearer, "Authorization: Bearer forged"}, 400},
		{"session: other case of the name", "GET", "/api/session", []string{bearer, "authorization: Bearer forged"}, 400},
		{"session: another scheme beside", "GET", "/api/session", []string{"Authorization: Basic YTpi", bearer}, 400},
		{"canned: token twice", "PUT", "/api/canned/hi", []string{bearer, bearer}, 400},
		{"logout: token twice", "POST", "/api/logout", []string{bearer, bearer}, 400},
		{"login: Authorization twice", "POST", "/api/login", []string{"Authorization: x", "Authorization: y"}, 400},
		{"visitor socket: Origin twice", "GET", "/ws/client", append([]string{"Origin: " + own, "Origin: https://evil.example"}, ws...), 400},
		{"admin socket: Origin twice", "GET", "/ws/admin", append([]string{"Origin: " + own, "Origin: " + own}, ws...), 400},
		{"admin socket: other case", "GET", "/ws/admin", append([]string{"Origin: " + own, "ORIGIN: " + own}, ws...), 400},
		{"static file: Origin twice", "GET", "/healthz", []string{"Origin: a", "Origin: b"}, 400},
		// Once: as before.
		{"session: token once", "GET", "/api/session", []string{bearer}, 200},
		{"admin socket: Origin once", "GET", "/ws/admin", append([]string{"Origin: " + own}, ws...), 101},
		{"visitor socket: no Origin", "GET", "/ws/client", ws, 101},
	} {
		code, body := send(tc.method, tc.path, tc.lines...)
		if code != tc.code {
			t.Errorf("%s: %d %q, want %d", tc.name, code, body, tc.code)
		}
		if tc.code == 400 && !strings.Contains(body, "twice") {
			t.Errorf("%s: body %q does not say what is twice", tc.name, body)
		}
	}
}
