package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// RemoteIP returns the host part of r.RemoteAddr.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ParseCIDRs reads a comma-separated list of CIDRs or bare IPs.
func ParseCIDRs(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("bad IP or CIDR %q", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("bad CIDR %q", f)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ClientIP returns a function giving a request's client IP: the peer address,
// unless the peer is one of trusted proxies, in which case X-Forwarded-For is
// walked from the right, skipping trusted hops, then X-Real-IP is used: its
// last value, the one the nearest proxy wrote (a proxy adding the header, as
// HAProxy's add-header does, leaves a client's own X-Real-IP before it).
func ClientIP(trusted []netip.Prefix) func(*http.Request) string {
	if len(trusted) == 0 {
		return RemoteIP
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer := RemoteIP(r)
		if !isTrusted(peer) {
			return peer
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			h := strings.TrimSpace(hops[i])
			if h == "" {
				continue
			}
			a, err := netip.ParseAddr(h)
			if err != nil {
				return peer // garbage from an untrusted hop: believe no more
			}
			if !isTrusted(h) {
				return a.Unmap().String()
			}
		}
		if real := lastValue(r.Header.Values("X-Real-IP")); real != "" {
			if a, err := netip.ParseAddr(real); err == nil {
				return a.Unmap().String()
			}
		}
		return peer
	}
}

// lastValue is the last non-empty element of a header's values, each a
// comma list: what the hop nearest to chatd wrote.
func lastValue(values []string) string {
	for i := len(values) - 1; i >= 0; i-- {
		parts := strings.Split(values[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			if v := strings.TrimSpace(parts[j]); v != "" {
				return v
			}
		}
	}
	return ""
}
