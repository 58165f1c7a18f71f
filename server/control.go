package server

import (
	"net/http"
)

// ControlHandler serves chatd's control socket: a unix socket in the data
// directory that only the account running chatd may open (mode 0600), so
// operator commands reach the running server without a login token. Routes:
//
//	GET  /backup         a consistent snapshot of the store, as GET /api/backup
//	POST /reload-admins  apply the admins file now: 204, or 409 with the reason
func (s *Server) ControlHandler(reloadAdmins func() error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		s.writeBackup(w, "control socket")
	})
	mux.HandleFunc("POST /reload-admins", func(w http.ResponseWriter, r *http.Request) {
		if err := reloadAdmins(); err != nil {
			writeJSONError(w, http.StatusConflict, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}
