package server

import (
	"net/http"
	"testing"
)

// TestClientIPRealIPOfTheNearestProxy: behind a trusted proxy that adds
// X-Real-IP rather than replacing it, a client's own X-Real-IP comes first;
// chatd takes the value the nearest proxy wrote (the last), so a visitor
// cannot pick its address and escape the per-address limits (logins,
// sockets, new visitors, storage budgets). Before, the first value won.
func TestClientIPRealIPOfTheNearestProxy(t *testing.T) {
	trusted, err := ParseCIDRs("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	ip := ClientIP(trusted)
	for _, tc := range []struct {
		name   string
		remote string
		real   []string // X-Real-IP header lines, in order
		want   string
	}{
		{"one value", "10.1.1.1:9", []string{"198.51.100.9"}, "198.51.100.9"},
		{"client's value, then the proxy's", "10.1.1.1:9", []string{"6.6.6.6", "198.51.100.9"}, "198.51.100.9"},
		{"three lines", "10.1.1.1:9", []string{"6.6.6.6", "7.7.7.7", "198.51.100.9"}, "198.51.100.9"},
		{"one line, a list", "10.1.1.1:9", []string{"6.6.6.6, 198.51.100.9"}, "198.51.100.9"},
		{"empty last line", "10.1.1.1:9", []string{"6.6.6.6", "198.51.100.9", ""}, "198.51.100.9"},
		{"trailing comma", "10.1.1.1:9", []string{"6.6.6.6, 198.51.100.9,"}, "198.51.100.9"},
		{"IPv6 last", "10.1.1.1:9", []string{"6.6.6.6", "2001:db8::7"}, "2001:db8::7"},
		{"garbage last: the peer", "10.1.1.1:9", []string{"6.6.6.6", "bogus"}, "10.1.1.1"},
		{"untrusted peer: ignored", "203.0.113.5:1", []string{"6.6.6.6", "198.51.100.9"}, "203.0.113.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.real {
				r.Header.Add("X-Real-IP", v)
			}
			if got := ip(r); got != tc.want {
				t.Fatalf("ClientIP = %q, want %q", got, tc.want)
			}
		})
	}
}
