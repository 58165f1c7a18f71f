package push

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// A subscription's endpoint is a URL chosen by whoever holds an agent's
// token (the browser hands it over, but any client can POST one), and chatd
// then sends POST requests to it. Left open, an agent could make chatd
// reach what only chatd's host can reach: its own loopback services, the
// cloud metadata address (169.254.169.254), the private network. Real push
// services (FCM, Mozilla autopush, Apple, Windows) are public hosts, so by
// default an endpoint whose address is not a public unicast one is refused:
// when subscribing if the URL names such an address or a localhost name,
// and when connecting for every name whatever it resolves to then (DNS may
// change between the two). Config.AllowPrivate lifts the rule for a push
// service on the operator's own network, and for tests on 127.0.0.1.

// ErrPrivateAddress is the refusal of an endpoint whose address is not public.
var ErrPrivateAddress = errors.New("push endpoint is not on a public address (loopback, private, link-local or otherwise reserved)")

// publicAddr reports whether a is a public unicast address: not loopback,
// private (RFC 1918, RFC 4193), link-local, unspecified, multicast, shared
// (RFC 6598), documentation/benchmarking, or IPv4-mapped/NAT64 forms of them.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() ||
		a.IsLinkLocalUnicast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// reserved are the special-purpose ranges netip has no predicate for (IANA
// special-purpose address registries, RFC 6890).
var reserved = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",         // "this network"
		"100.64.0.0/10",     // shared address space, carrier-grade NAT (RFC 6598)
		"192.0.0.0/24",      // IETF protocol assignments
		"192.0.2.0/24",      // documentation (TEST-NET-1)
		"198.18.0.0/15",     // benchmarking (RFC 2544)
		"198.51.100.0/24",   // documentation (TEST-NET-2)
		"203.0.113.0/24",    // documentation (TEST-NET-3)
		"240.0.0.0/4",       // reserved
		"64:ff9b::/96",      // NAT64 (RFC 6052): an IPv4 address behind it
		"64:ff9b:1::/48",    // local-use NAT64 (RFC 8215)
		"100::/64",          // discard-only (RFC 6666)
		"2001::/23",         // IETF protocol assignments (Teredo, ORCHID...)
		"2001:db8::/32",     // documentation
		"2002::/16",         // 6to4: embeds an IPv4 address
		"fec0::/10",         // deprecated site-local
		"::ffff:0:0:0/96",   // IPv4-translated
		"::/128", "::1/128", // unspecified, loopback
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// checkHost refuses, when subscribing, an endpoint host that is an address
// that is not public, or a localhost name (RFC 6761 §6.3: always loopback).
func checkHost(host string) error {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return ErrPrivateAddress
	}
	if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil && !publicAddr(a) {
		return ErrPrivateAddress
	}
	return nil
}

// refusePrivate is a net.Dialer Control function: it refuses a connection
// to an address that is not public, checked on the address actually dialed
// (after name resolution, so a name resolving to 127.0.0.1 is caught too).
func refusePrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("push: dial %s: %w", address, err)
	}
	if !publicAddr(ap.Addr()) {
		return fmt.Errorf("push: dial %s: %w", address, ErrPrivateAddress)
	}
	return nil
}

// publicTransport is http.DefaultTransport's clone dialing public addresses only.
func publicTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: refusePrivate}
	t.DialContext = d.DialContext
	return t
}
