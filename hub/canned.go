package hub

import (
	"context"

	"github.com/chatd/chatd/store"
)

// Canned replies are managed over HTTP (server: GET/PUT/DELETE /api/canned)
// through the hub, which tells every admin socket the whole list
// (admin:canned) after each change and once after admin:replayed.

const evAdminCanned = "admin:canned"

// cannedWire is one canned reply on the wire.
type cannedWire struct {
	Shortcut string `json:"shortcut"`
	Text     string `json:"text"`
}

// CannedReplies lists the canned replies by shortcut.
func (h *Hub) CannedReplies() ([]store.Canned, error) { return h.st.CannedReplies() }

// SetCanned creates or replaces canned reply shortcut as agent by, and tells
// every admin socket. It returns the reply as stored. Errors wrap
// store.ErrInvalid for a bad shortcut or text.
func (h *Hub) SetCanned(ctx context.Context, shortcut, text, by string) (saved store.Canned, changed bool, err error) {
	saved, changed, err = h.st.SetCanned(ctx, shortcut, text, by)
	if err == nil && changed {
		h.log.Info().Str("admin", by).Str("shortcut", shortcut).Msg("canned reply saved")
		h.cannedChanged()
	}
	return saved, changed, err
}

// DeleteCanned removes canned reply shortcut (store.ErrNotFound if none) and tells every admin socket.
func (h *Hub) DeleteCanned(ctx context.Context, shortcut, by string) error {
	if err := h.st.DeleteCanned(ctx, shortcut); err != nil {
		return err
	}
	h.log.Info().Str("admin", by).Str("shortcut", shortcut).Msg("canned reply deleted")
	h.cannedChanged()
	return nil
}

func (h *Hub) cannedChanged() {
	if f, ok := h.cannedFrame(); ok {
		h.tellAdmins(f)
	}
}

// cannedFrame is admin:canned with the whole list.
func (h *Hub) cannedFrame() ([]byte, bool) {
	list, err := h.st.CannedReplies()
	if err != nil {
		h.log.Error().Err(err).Msg("read canned replies")
		return nil, false
	}
	out := make([]cannedWire, 0, len(list))
	for _, c := range list {
		out = append(out, cannedWire{Shortcut: c.Shortcut, Text: c.Text})
	}
	return encodeFrame(evAdminCanned, out), true
}
