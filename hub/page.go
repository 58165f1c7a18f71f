package hub

import (
	"errors"
	"time"

	"golang.org/x/time/rate"

	"github.com/chatd/chatd/store"
)

// A visitor's current page: client:add's meta.page (a full page load) and
// client:page (a navigation without one, e.g. history.pushState) store it
// apart from the visitor document (store.SetPage keeps a bounded trail) and
// tell the admins with admin:client_page. Writes are throttled per visitor
// and charged to the storage budgets; the same page again writes nothing.
var (
	pageRate  = rate.Every(3 * time.Second) // sustained client:page writes per visitor
	pageBurst = 10
)

// clientPage handles client:page.
func (h *Hub) clientPage(c *conn, p *clientPage) {
	h.setPage(c, c.who().visitor, p.URL, p.Title, true)
}

// setPage stores visitor id's current page and tells the admins. answer
// says whether refusals are answered on the socket (client:page) or only
// logged (meta.page of client:add, which must not disturb the handshake).
func (h *Hub) setPage(c *conn, id, url, title string, answer bool) {
	fail := func(code, msg string) {
		if answer {
			h.reply(c, refuse(code, msg, ""))
		} else {
			h.count(code)
		}
	}
	if !h.pageLimits.allow(id) {
		fail(codeRateLimited, "too many page changes, slow down")
		return
	}
	refund, ok := h.quota.take(id, c.addr, len(url)+len(title)+pageOverhead)
	if !ok {
		fail(codeQuota, "storage budget of this visitor or address used up; page not stored")
		return
	}
	ctx, cancel := storeCtx()
	defer cancel()
	cur, changed, err := h.st.SetPage(ctx, id, store.PageView{URL: url, Title: title})
	if err != nil || !changed {
		refund()
	}
	switch {
	case errors.Is(err, store.ErrInvalid):
		fail(codeBadRequest, "page refused")
		return
	case err != nil:
		h.log.Warn().Err(err).Str("visitor", id).Msg("store page")
		fail(codeUnavailable, "store unavailable, page not stored")
		return
	case !changed, h.feed != nil: // a Feed tells every node's admins (deliverPage)
		return
	}
	h.deliverPage(id, cur)
}
