package push

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/chatd/chatd/notify"
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
//
// Through an HTTP(S) proxy (Config.Proxy; by default HTTPS_PROXY, HTTP_PROXY
// and NO_PROXY, as http.ProxyFromEnvironment reads them) chatd dials only the
// proxy, and the proxy resolves and dials the endpoint: the dial-time check
// would see the proxy's address, refusing every push when the proxy is on a
// private address and protecting nothing when it is public. So for a request
// that goes through a proxy the proxy is dialed whatever its address (the
// operator chose it), and the endpoint's host is checked before each
// request instead: a literal address or localhost name as when subscribing,
// and a name by resolving it here; every address it resolves to must be
// public. A name chatd cannot resolve is left to the proxy (a host behind a
// proxy often resolves no outside names), which is why the proxy itself must
// refuse internal destinations: chatd's check cannot see what the proxy
// resolves.

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

// RefusedError is the refusal of a push endpoint that is not on a public
// address, when subscribing or sending. It matches ErrPrivateAddress, and
// its message names the flag that lifts the rule. Host is the endpoint's
// scheme and host (notify.Host), never its path: the path is a capability.
type RefusedError struct{ Host string }

func (e *RefusedError) Error() string {
	return "push endpoint " + e.Host + " is not on a public address (loopback, private, link-local, shared 100.64.0.0/10 or otherwise reserved): " +
		"refused unless chatd runs with --push-allow-private (for a push service on your own network)"
}

// Is makes errors.Is(err, ErrPrivateAddress) true.
func (e *RefusedError) Is(target error) bool { return target == ErrPrivateAddress }

func refusal(endpoint string) error { return &RefusedError{Host: notify.Host(endpoint)} }

// Resolver resolves a host name to its addresses, as
// net.Resolver.LookupNetIP(ctx, "ip", host) does.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

func defaultResolve(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// guarded is the RoundTripper of a Sender without AllowPrivate: a request
// that proxy sends directly goes through direct, which dials public
// addresses only (refusePrivate); one that goes through a proxy has its
// endpoint's host checked first (checkResolved), then goes through
// proxied, which dials the proxy whatever its address.
type guarded struct {
	proxy           func(*http.Request) (*url.URL, error)
	direct, proxied *http.Transport
	resolve         Resolver
}

// newGuarded returns the guarded transport over clones of
// http.DefaultTransport, choosing each request's proxy with proxy.
func newGuarded(proxy func(*http.Request) (*url.URL, error), resolve Resolver) *guarded {
	direct := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: refusePrivate}
	direct.DialContext, direct.Proxy = d.DialContext, nil
	proxied := http.DefaultTransport.(*http.Transport).Clone()
	proxied.Proxy = proxy
	return &guarded{proxy: proxy, direct: direct, proxied: proxied, resolve: resolve}
}

// RoundTrip implements http.RoundTripper.
func (g *guarded) RoundTrip(req *http.Request) (*http.Response, error) {
	pu, err := g.proxy(req)
	if err != nil {
		return nil, fmt.Errorf("push: choose the proxy: %w", err)
	}
	if pu == nil {
		return g.direct.RoundTrip(req)
	}
	if err := checkResolved(req.Context(), req.URL.Hostname(), g.resolve); err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on errors
		}
		return nil, fmt.Errorf("push: %w", err)
	}
	return g.proxied.RoundTrip(req)
}

// checkResolved refuses host when it is a literal address that is not
// public or a localhost name (checkHost), or a name that resolves to any
// address that is not public. A name that does not resolve is accepted:
// behind a proxy, the proxy resolves.
func checkResolved(ctx context.Context, host string, resolve Resolver) error {
	if err := checkHost(host); err != nil {
		return err
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return nil // a public literal
	}
	addrs, err := resolve(ctx, host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if !publicAddr(a) {
			return fmt.Errorf("%s resolves to %s: %w", host, a, ErrPrivateAddress)
		}
	}
	return nil
}
