package hub

// RecheckAdmins verifies the login token of every open admin socket again and
// ends each one whose token is no longer valid (logged out, expired, its agent
// removed or its password changed) with error `unauthorized` and close code
// 1008. The login layer calls it on every revocation, so a revoked socket
// ends at once rather than at its next frame. It returns how many sockets it
// closed; it only queues frames, so it never blocks on a slow socket.
func (h *Hub) RecheckAdmins() int {
	closed := 0
	for _, c := range h.idx.adminConns() {
		id := c.who()
		if id == nil || c.closing.Load() {
			continue
		}
		if _, ok := h.auth.Verify(id.token); ok {
			continue
		}
		h.log.Info().Str("admin", id.name).Str("remote", c.remote).Msg("admin session ended; socket closed")
		h.reply(c, refuse(codeUnauthorized, "session ended (logged out, expired or revoked), log in again", ""))
		c.closeWith(ClosePolicy, codeUnauthorized)
		closed++
	}
	return closed
}

// adminConns returns the identified admin sockets.
func (x *index) adminConns() []*conn {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]*conn, 0, len(x.admins))
	for c := range x.admins {
		out = append(out, c)
	}
	return out
}
