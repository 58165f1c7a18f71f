package dispatch

import (
	"errors"
	"time"

	"github.com/chatd/chatd/notify"
	"github.com/chatd/chatd/notify/mail"
	"github.com/chatd/chatd/notify/push"
	"github.com/chatd/chatd/notify/webhook"
	"github.com/chatd/chatd/store"
)

// message tells each channel about a stored message. An internal note
// tells none (the hub does not report notes either; this is the last
// guard): it is not an answer to the visitor (the alert stays), it is never
// mailed to the visitor, and webhooks, which the site's systems may relay
// to visitors, carry no notes at all.
func (d *Dispatcher) message(m store.Message, name string) {
	if m.Note {
		return
	}
	// A reply that may be mailed reads the visitor afresh (its address,
	// seen offset and page); anything else may use what was read moments ago.
	v, c := d.who(m.Client, name, m.From == store.FromAdmin && d.replyMails())
	wv := webhook.Visitor{ID: v.ID, Name: v.Name, Email: c.Email, Meta: v.Meta, Created: v.Created}
	wm := webhook.Message{Offset: m.Offset, Client: m.Client, From: m.From, Admin: m.Admin, CID: m.CID, Text: m.Text, At: m.At}
	switch m.From {
	case store.FromClient:
		first := d.first(m)
		kind := push.MessageCreated
		if first {
			kind = push.ConversationCreated
			if d.cfg.Webhooks != nil {
				d.cfg.Webhooks.ConversationCreated(wv)
			}
		}
		if d.cfg.Alerts != nil {
			d.cfg.Alerts.Message(v.ID, v.Name, m.Text, m.At, first)
		}
		if d.cfg.Webhooks != nil {
			d.cfg.Webhooks.MessageCreated(wm, wv)
		}
		if d.cfg.Push != nil {
			d.push(push.Notification{Type: kind, Visitor: v.ID, Name: v.Name, Text: m.Text, Offset: m.Offset, At: m.At})
		}
	case store.FromAdmin:
		if d.cfg.Alerts != nil {
			d.cfg.Alerts.Answered(v.ID)
		}
		if d.cfg.Webhooks != nil {
			wm.Display = m.Public().Display // as visitors see it; Admin stays the login
			d.cfg.Webhooks.MessageCreated(wm, wv)
		}
		if d.replyMails() {
			if len(d.replied) >= maxHanded {
				clear(d.replied)
			}
			d.replied[v.ID] = m.Offset
			if !d.visitorOnline(v.ID) {
				d.handOver(v, c, []store.Message{m})
			}
		}
	}
}

// first reports whether m is its visitor's first message: no earlier
// message of the conversation is the visitor's (an agent may have written
// first). Visitors known to have written are remembered.
func (d *Dispatcher) first(m store.Message) bool {
	if d.talked[m.Client] {
		return false
	}
	if len(d.talked) >= maxTalked {
		clear(d.talked)
	}
	d.talked[m.Client] = true
	earlier, err := d.cfg.Store.PublicMessagesBefore(m.Client, m.Offset, firstScan)
	if err != nil {
		d.lg.Warn().Err(err).Str("visitor", m.Client).Msg("read conversation for notifications")
		return false
	}
	for _, e := range earlier {
		if e.From == store.FromClient {
			return false
		}
	}
	return len(earlier) < firstScan
}

func (d *Dispatcher) contact(visitor string, page bool) Contact {
	if d.cfg.Contact == nil {
		return Contact{}
	}
	c, err := d.cfg.Contact(visitor, page)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		d.lg.Warn().Err(err).Str("visitor", visitor).Msg("read visitor contact for notifications")
	}
	return c
}

func (d *Dispatcher) visitorOnline(visitor string) bool {
	return d.cfg.Online != nil && d.cfg.Online(visitor)
}

// handOver schedules the agents' replies among msgs that the visitor has
// not seen and that were not handed over before, to be mailed.
func (d *Dispatcher) handOver(v store.Visitor, c Contact, msgs []store.Message) {
	if c.Email == "" {
		return
	}
	var rs []mail.Reply
	for _, m := range msgs {
		if m.From != store.FromAdmin || m.Note || m.Offset <= c.Seen || m.Offset <= d.handed[v.ID] {
			continue
		}
		if len(d.handed) >= maxHanded {
			clear(d.handed)
		}
		d.handed[v.ID] = m.Offset
		rs = append(rs, mail.Reply{Visitor: v.ID, Email: c.Email, Name: v.Name, Page: c.Page,
			Offset: m.Offset, Agent: m.Public().Admin, Text: m.Text, At: m.At}) // never the login
	}
	if len(rs) > 0 {
		d.cfg.Replies.AgentReplies(rs...) // one mail for all of them
	}
}

// presence: a visitor who leaves with an address may have left replies
// unread; they are mailed if it does not come back within ReplyDelay.
func (d *Dispatcher) presence(ev event) {
	if ev.online {
		delete(d.leftAt, ev.visitor)
		return
	}
	// Only a visitor with an agent's reply not yet mailed nor seen can have
	// left one unread: the others cost nothing (a site's visitors leave in
	// bursts).
	if !d.replyMails() || d.replied[ev.visitor] <= d.handed[ev.visitor] || d.contact(ev.visitor, false).Email == "" {
		return
	}
	if len(d.leaving) >= maxLeaving {
		d.cfg.Metrics.Count(Channel, notify.Dropped)
		d.drops.Warn().Str("visitor", ev.visitor).Msg("departure not tracked for reply mails: too many waiting")
		return
	}
	d.leftAt[ev.visitor] = ev.at
	// ReplyDelay is the same for all, so departures fall due in the order
	// they came: a FIFO is a timer queue.
	d.leaving = append(d.leaving, event{kind: evLeft, visitor: ev.visitor, at: ev.at})
}

// due handles the departures whose ReplyDelay has passed at now and returns
// when the next one falls due (zero: none waits).
func (d *Dispatcher) due(now time.Time) time.Time {
	for len(d.leaving) > 0 {
		ev := d.leaving[0]
		at := ev.at.Add(d.cfg.ReplyDelay)
		if at.After(now) {
			return at
		}
		d.leaving[0] = event{}
		d.leaving = d.leaving[1:]
		d.left(ev)
	}
	d.leaving = nil
	return time.Time{}
}

// left mails the replies a visitor left unread, unless it came back or
// left again later (that departure has its own check).
func (d *Dispatcher) left(ev event) {
	if at, ok := d.leftAt[ev.visitor]; !ok || !at.Equal(ev.at) {
		return
	}
	delete(d.leftAt, ev.visitor)
	if d.visitorOnline(ev.visitor) {
		return
	}
	c := d.contact(ev.visitor, true)
	if c.Email == "" {
		return
	}
	v, err := d.cfg.Store.Visitor(ev.visitor)
	if err != nil {
		return
	}
	msgs, err := d.cfg.Store.PublicMessagesOf(ev.visitor, max(c.Seen, d.handed[ev.visitor]), leftScan)
	if err != nil {
		d.lg.Warn().Err(err).Str("visitor", ev.visitor).Msg("read unread replies")
		return
	}
	d.handOver(v, c, msgs)
}

func (d *Dispatcher) replyMails() bool { return d.cfg.Replies != nil && d.cfg.ReplyMails }

// push notifies the browsers of the current agents, unless this
// conversation was pushed less than PushGap ago (the Sender would skip every
// subscription anyway; this spares its store reads).
func (d *Dispatcher) push(n push.Notification) {
	now := time.Now()
	if t, ok := d.pushed[n.Visitor]; ok && now.Sub(t) < d.cfg.PushGap {
		return
	}
	var agents []string
	if d.cfg.Agents != nil {
		var ok bool
		if agents, ok = d.pushAgents(now); !ok || len(agents) == 0 {
			return // every agent has the portal open: nothing pushed, nothing held back
		}
	}
	if len(d.pushed) >= maxTalked {
		for v, t := range d.pushed {
			if now.Sub(t) >= d.cfg.PushGap {
				delete(d.pushed, v)
			}
		}
		if len(d.pushed) >= maxTalked {
			clear(d.pushed)
		}
	}
	d.pushed[n.Visitor] = now
	d.cfg.Push.Notify(n, agents...)
}

// forget drops what is waiting or kept about a deleted visitor: replies not
// mailed yet, its conversation in the next alert digest, its departure, and
// the maps that remember it.
func (d *Dispatcher) forget(visitor string) {
	if d.cfg.Replies != nil {
		d.cfg.Replies.Forget(visitor)
	}
	if d.cfg.Alerts != nil {
		d.cfg.Alerts.Answered(visitor) // drops its waiting conversation
	}
	delete(d.talked, visitor)
	delete(d.handed, visitor)
	delete(d.replied, visitor)
	delete(d.leftAt, visitor) // its departure, still in leaving, is then skipped by left
	delete(d.pushed, visitor)
	delete(d.seen, visitor)
}
