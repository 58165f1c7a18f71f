package server

import (
	"net/http"
	"net/textproto"
)

// singletonHeaders are the request headers chatd decides on that are not
// lists (RFC 9110 §5.3: a sender must not send such a field twice): which
// session a request speaks for, and which page it comes from. Sent twice, a
// proxy in front of chatd and chatd may each read another one (Go's
// Header.Get takes the first), so such a request is refused, as a JSON
// object naming a field twice is (internal/jsontext).
var singletonHeaders = [...]string{"Authorization", "Origin"}

// ambiguousHeader returns the first of singletonHeaders that r holds more
// than once (as several field lines), or "".
func ambiguousHeader(r *http.Request) string {
	for _, h := range singletonHeaders {
		if len(r.Header[textproto.CanonicalMIMEHeaderKey(h)]) > 1 {
			return h
		}
	}
	return ""
}
