package hub

// AdminsApplied is called whenever the admins file was applied (boot, the
// agents API, `chatd admin set/remove`, the file watcher, SIGHUP, the control
// socket). Every admin socket gets admin:agents at once (new, removed and
// renamed agents), and every conversation assigned to a login that is no
// longer an agent is unassigned, each told as admin:conversation with by
// (the agent who removed it through the API, or "system"). It never blocks
// on a socket.
func (h *Hub) AdminsApplied(by string) {
	if by == "" {
		by = BySystem
	}
	h.presence.mu.Lock()
	h.presence.agentsChangedLocked()
	h.presence.mu.Unlock()
	ctx, cancel := storeCtx()
	defer cancel()
	gone, err := h.st.UnassignGone(ctx)
	if err != nil {
		h.log.Error().Err(err).Msg("unassign the conversations of removed agents")
	}
	for _, c := range gone {
		h.convChanged(c, by)
	}
	if len(gone) > 0 {
		h.log.Info().Int("conversations", len(gone)).Str("by", by).Msg("unassigned the conversations of removed agents")
	}
}

// BySystem is admin:conversation's by for changes no agent made (an agent
// removed from the admins file by an operator).
const BySystem = "system"
