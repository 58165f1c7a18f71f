// Package netaddr groups client addresses for per-address limits: one IPv4
// address is one address, but one IPv6 subscriber usually holds a whole /64
// (RFC 6177, RFC 7421: a /64 is the smallest subnet a site gets) and can
// pick any address in it, so IPv6 addresses are grouped by a prefix. Every
// per-address limit of chatd (sockets, new visitors, storage budget, admin
// logins) keys on Group's result, so they all agree on what one address is.
package netaddr

import (
	"fmt"
	"net/netip"
)

// DefaultIPv6Prefix is the IPv6 prefix length grouped as one address.
const DefaultIPv6Prefix = 64

// Bounds of the IPv6 prefix length: a /16 would put whole providers in one
// group, and /128 is every address alone.
const (
	MinIPv6Prefix = 16
	MaxIPv6Prefix = 128
)

// CheckIPv6Prefix reports a prefix length outside MinIPv6Prefix..MaxIPv6Prefix.
func CheckIPv6Prefix(bits int) error {
	if bits < MinIPv6Prefix || bits > MaxIPv6Prefix {
		return fmt.Errorf("IPv6 prefix /%d: must be between %d and %d", bits, MinIPv6Prefix, MaxIPv6Prefix)
	}
	return nil
}

// Grouper returns the grouping function for IPv6 prefix length bits (out of
// range values are clamped to the bounds): an IPv4 address (also written as
// IPv4-mapped IPv6) is itself, "192.0.2.1"; an IPv6 address becomes its
// masked prefix, "2001:db8:1:2::/64"; anything that is not an IP address is
// returned unchanged, so it still counts as one key of its own.
func Grouper(bits int) func(ip string) string {
	bits = min(max(bits, MinIPv6Prefix), MaxIPv6Prefix)
	return func(ip string) string {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return ip
		}
		a = a.Unmap().WithZone("")
		if a.Is4() {
			return a.String()
		}
		p, err := a.Prefix(bits)
		if err != nil {
			return ip
		}
		return p.String()
	}
}
