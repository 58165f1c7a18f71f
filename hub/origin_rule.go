package hub

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// NormalizeOrigin returns the form in which a browser sends web origin s in
// its Origin header (RFC 6454 §6.2, the ASCII serialization): scheme and host
// in lower case, the port only when it is not the scheme's default
// ("https://Shop.Example:443/" is "https://shop.example"). Only http and
// https origins are origins a page can have here; s must name a host and
// nothing else: no user, path, query, fragment or wildcard, a port of 1 to
// 65535 in plain digits, and a host in ASCII (a browser sends an
// internationalized name in its punycode form, xn--..., RFC 5891). The
// operator's --origins and each request's Origin header go through it, so
// both sides are compared in one form and a value that no browser could
// send is refused at start instead of never matching.
func NormalizeOrigin(s string) (string, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "/")
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("%q is not an origin like https://shop.example: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q: an origin starts with http:// or https://", s)
	case u.Opaque != "" || u.Host == "":
		return "", fmt.Errorf("%q: no host, want an origin like https://shop.example", s)
	case u.User != nil:
		return "", fmt.Errorf("%q: an origin holds no user name", s)
	case u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return "", fmt.Errorf("%q: an origin is scheme://host[:port] without path, query or fragment", s)
	}
	host, port := u.Hostname(), u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("%q: empty port", s)
	}
	for _, r := range host {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune("*%!\"'()<>\\^`{|},;=&$+", r) {
			if r > 0x7e {
				return "", fmt.Errorf("%q: write the host in its ASCII form (xn--...), as browsers send it", s)
			}
			return "", fmt.Errorf("%q: %q cannot be in a host name (wildcards are not supported: list each origin)", s, r)
		}
	}
	if host == "" {
		return "", fmt.Errorf("%q: no host", s)
	}
	host = strings.ToLower(host)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", fmt.Errorf("%q: port must be 1 to 65535", s)
		}
		if port == defaultPort(u.Scheme) {
			port = ""
		}
	}
	out := u.Scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, nil
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

var errNoOrigin = errors.New("no Origin header")

// requestOrigin is r's Origin header in NormalizeOrigin's form.
func requestOrigin(r *http.Request) (string, error) {
	o := r.Header.Get("Origin")
	if o == "" {
		return "", errNoOrigin
	}
	return NormalizeOrigin(o)
}

// sameOrigin accepts no Origin (non-browser tools) or the server's own: the
// Origin's host and port are the request's Host. A browser leaves the port
// out of Host when it is the default of the socket's scheme (80 for ws, 443
// for wss; a TLS-terminating proxy may pass that Host on), so a Host without
// a port is a page on the default port of its scheme ("https://chat.example",
// never "https://chat.example:8443"); a Host with a port must be the
// Origin's port, the default one included ("Host: chat.example:443" is the
// page https://chat.example, as some proxies write it).
func sameOrigin(r *http.Request) bool {
	o, err := requestOrigin(r)
	if errors.Is(err, errNoOrigin) {
		return true
	}
	if err != nil || r.Host == "" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil { // no port in Host
		return strings.EqualFold(strings.Trim(r.Host, "[]"), u.Hostname()) && u.Port() == ""
	}
	oport := u.Port()
	if oport == "" {
		oport = defaultPort(u.Scheme)
	}
	return strings.EqualFold(host, u.Hostname()) && port == oport
}
