package hub

import (
	"context"
	"time"

	"github.com/chatd/chatd/store"
)

// Privacy: an admin exports one visitor's data or deletes it (server: GET
// /api/visitors/{id}/export, DELETE /api/visitors/{id}), and with
// Config.RetentionDays the hub deletes, in the background, every visitor
// without activity (no message, no connection) for that many days. A
// deleted visitor's sockets are closed (error visitor_deleted, close 1008
// "visitor deleted": the client forgets what it kept of the visitor) and every admin socket is told (admin:client_deleted).
// The store does the deleting (store/privacy.go): in small transactions,
// between which the hub's other writes go on.

const evAdminClientDeleted = "admin:client_deleted"

// DefaultRetentionEvery is how often the retention sweep runs.
const DefaultRetentionEvery = time.Hour

// retentionBatch is the most visitors one sweep deletes; the next sweep goes on.
const retentionBatch = 1000

// clientDeleted is admin:client_deleted.
type clientDeleted struct {
	ID string `json:"id"`
}

// ExportVisitor returns everything kept of visitor id (store.ErrNotFound if unknown).
func (h *Hub) ExportVisitor(id string) (store.VisitorExport, error) { return h.st.ExportVisitor(id) }

// DeleteVisitor deletes visitor id and everything kept of it, closes its
// sockets and tells every admin socket. by names who asked, for the log
// ("retention" for the sweep).
func (h *Hub) DeleteVisitor(ctx context.Context, id, by string) (store.Deleted, error) {
	h.kickVisitor(id)
	d, err := h.st.DeleteVisitor(ctx, id)
	if err != nil {
		return d, err
	}
	h.kickVisitor(id)                 // a socket that came back meanwhile
	h.cfg.Observer.VisitorDeleted(id) // reply mails and alerts still waiting for it are dropped
	if h.feed != nil {
		h.feed.Broadcast(kickTo+id, nil) // its sockets on other nodes, their notifier (feed.go)
	}
	h.log.Info().Str("visitor", id).Str("admin", by).Int("messages", d.Messages).Msg("visitor deleted")
	h.tellAdmins(encodeFrame(evAdminClientDeleted, clientDeleted{ID: id}))
	h.inbox.countsChanged()
	return d, nil
}

// kickVisitor closes every socket of visitor id.
func (h *Hub) kickVisitor(id string) {
	f := encodeFrame(evError, refuse(codeVisitorDeleted, "this visitor's data was deleted", ""))
	h.idx.each(id, func(c *conn) {
		c.write(f)
		c.closeWith(ClosePolicy, "visitor deleted")
	}, nil)
}

// retentionChanged makes the retention sweep look at the setting again: a
// new number of days is swept soon, not at the next hourly sweep.
func (ib *inboxHub) retentionChanged() {
	select {
	case ib.retentionWake <- struct{}{}:
	default:
	}
}

// retention deletes inactive visitors every RetentionEvery until stop, while
// the retention setting in force (read before each sweep) is above 0.
func (ib *inboxHub) retention(every time.Duration) {
	h := ib.h
	defer close(ib.retentionDone)
	soon := min(every, time.Minute) // the first sweep soon after a start or a change
	wait := soon
	for {
		t := time.NewTimer(wait)
		select {
		case <-ib.stop:
			t.Stop()
			return
		case <-ib.retentionWake:
			t.Stop()
			wait = soon
			continue
		case <-t.C:
		}
		wait = every
		days := h.settings().RetentionDays
		if days <= 0 {
			continue // keep forever
		}
		cutoff := h.cfg.Clock().Add(-time.Duration(days) * 24 * time.Hour)
		ids, err := h.st.Inactive(cutoff, retentionBatch)
		if err != nil {
			h.log.Error().Err(err).Msg("retention: list inactive visitors")
			ib.sweeps.Add(1)
			continue
		}
		deleted, messages := 0, 0
		online := h.idx.online()
		for _, id := range ids {
			if _, on := online[id]; on {
				continue
			}
			select {
			case <-ib.stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			d, err := h.DeleteVisitor(ctx, id, "retention")
			cancel()
			if err != nil {
				h.log.Warn().Err(err).Str("visitor", id).Msg("retention: delete visitor")
				continue
			}
			deleted++
			messages += d.Messages
		}
		// Every sweep is logged, also one that deleted nothing: operators see
		// it runs. Logged before it is counted, so a sweep counted is logged.
		h.log.Info().Int("visitors", deleted).Int("messages", messages).Int("candidates", len(ids)).Int("days", days).
			Msg("retention: sweep done")
		ib.sweeps.Add(1)
		ib.retained.Add(uint64(deleted))
	}
}
