package server

import (
	"net/http"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := ParseCIDRs("10.0.0.0/8, 127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ip := ClientIP(trusted)
	for _, tc := range []struct {
		name, remote, xff, real, want string
	}{
		{"direct", "203.0.113.5:1234", "", "", "203.0.113.5"},
		{"untrusted peer lies", "203.0.113.5:1234", "1.1.1.1", "2.2.2.2", "203.0.113.5"},
		{"trusted proxy", "127.0.0.1:9", "198.51.100.7", "", "198.51.100.7"},
		{"chain of proxies", "10.1.1.1:9", "6.6.6.6, 198.51.100.7, 10.2.2.2", "", "198.51.100.7"},
		{"x-real-ip", "10.1.1.1:9", "", "198.51.100.9", "198.51.100.9"},
		{"all trusted", "10.1.1.1:9", "10.3.3.3", "", "10.1.1.1"},
		{"garbage hop", "10.1.1.1:9", "1.2.3.4, bogus", "", "10.1.1.1"},
		{"ipv6 peer", "[2001:db8::1]:80", "9.9.9.9", "", "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.real != "" {
				r.Header.Set("X-Real-IP", tc.real)
			}
			if got := ip(r); got != tc.want {
				t.Fatalf("ClientIP = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := ParseCIDRs("10.0.0.0/99"); err == nil {
		t.Fatal("bad CIDR accepted")
	}
	if got := ClientIP(nil)(&http.Request{RemoteAddr: "1.2.3.4:5"}); got != "1.2.3.4" {
		t.Fatalf("no trusted proxies: %q", got)
	}
}
