package hub

import (
	"time"
	"unicode/utf8"
)

// A refused Origin is logged at most originLogBurst times per originLogEvery
// (a page embedding the widget on a site that is not allowed can open many
// sockets); the lines skipped are counted in the next one. Every refusal is
// counted in Stats.Rejected["origin_not_allowed"].
const (
	originLogEvery = 10 * time.Second
	originLogBurst = 3
	originLogMax   = 120 // bytes of the Origin header shown in a log line
)

// logRefusedOrigin logs a refused socket's Origin, rate-limited.
func (h *Hub) logRefusedOrigin(c *conn, origin string) {
	if !h.originLog.Allow() {
		h.originQuiet.Add(1)
		return
	}
	if len(origin) > originLogMax {
		origin = origin[:originLogMax] + "..."
	}
	if !utf8.ValidString(origin) {
		origin = "(not UTF-8)"
	}
	kind := "visitor"
	if c.kind == kindAdmin {
		kind = "admin"
	}
	h.log.Warn().Str("origin", origin).Str("socket", kind).Str("remote", c.remote).
		Uint64("not_logged_since", h.originQuiet.Swap(0)).Msg("socket refused: origin not allowed")
}
