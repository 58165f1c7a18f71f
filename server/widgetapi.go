package server

import (
	"net/http"
)

// GET /api/widget tells a page whether anyone is there to answer before its
// visitor writes (docs/protocol.md, "Availability"). Any site may ask
// (Access-Control-Allow-Origin: *, no credentials); it reads the hub's
// in-memory state, creates nothing and may be cached for 5 seconds.

// widgetMaxAge is how long a browser may reuse an answer, in seconds.
const widgetMaxAge = "5"

func (s *Server) widgetRoutes() {
	if s.cfg.Availability == nil {
		return
	}
	s.mux.HandleFunc("GET /api/widget", s.widgetInfo)
	s.mux.HandleFunc("OPTIONS /api/widget", s.widgetPreflight)
}

// widgetInfo answers the availability object, or 403
// {"error":"origin_not_allowed"} to a page whose Origin the visitor socket
// would refuse (still with CORS *, so the widget can read why and say it).
// The answer depends on Origin when origins are restricted: Vary: Origin
// keeps a cache from serving one site's answer to another.
func (s *Server) widgetInfo(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "public, max-age="+widgetMaxAge)
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if s.cfg.WidgetOrigin != nil {
		h.Set("Vary", "Origin")
		if !s.cfg.WidgetOrigin(r) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "origin_not_allowed"})
			return
		}
	}
	writeJSON(w, http.StatusOK, s.cfg.Availability())
}

// widgetPreflight answers a CORS preflight (a plain GET needs none; a page
// that adds headers gets told which are allowed: none).
func (s *Server) widgetPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}
