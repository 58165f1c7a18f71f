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

// widgetInfo answers the availability object.
func (s *Server) widgetInfo(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "public, max-age="+widgetMaxAge)
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
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
