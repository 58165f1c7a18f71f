package server

import (
	"net/http"
	"path"
	"strings"
)

// staticPattern is the pattern of the static files, which takes every GET
// (and HEAD) no other route takes.
const staticPattern = "GET /"

// apiMethods are the methods whose routes are looked up for an Allow header.
var apiMethods = [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// apiMiss reports whether r is for an /api/ path that no API route serves
// with r's method: net/http's mux then hands a GET or HEAD to the static
// files (a text 404 for GET /api/login, a route that exists) and answers
// other methods 405 with an Allow header listing GET and HEAD because of
// that catch-all, though both give 404.
func (s *Server) apiMiss(r *http.Request) bool {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/api/") || (path.Clean(p) != p && path.Clean(p)+"/" != p) {
		return false // an unclean path: the mux redirects it to the clean one
	}
	_, pattern := s.mux.Handler(r)
	return pattern == "" || pattern == staticPattern
}

// apiNoRoute answers an apiMiss request as the API answers errors, in JSON:
// 405 with the methods the path's API routes take in Allow (RFC 9110
// §15.5.6), or 404 when none takes it. Methods are found by asking the mux
// which pattern would serve the same path with each method, skipping the
// static files.
func (s *Server) apiNoRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range apiMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != staticPattern {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeJSONError(w, http.StatusNotFound, "no such endpoint (see docs/protocol.md)")
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeJSONError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use "+strings.Join(allow, " or "))
}
