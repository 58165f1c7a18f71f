package dispatch

import (
	"errors"
	"time"

	"github.com/chatd/chatd/store"
)

// What a busy conversation would otherwise read from the store for every
// message: the visitor (name, meta) and its address, and the agents to push
// to. Both are kept for seconds (a name or address changed meanwhile shows
// in webhooks and pushes up to knownFor later); what decides a reply mail
// (address, seen offset, page) is always read afresh.

// knownFor is how long a visitor read for notifications is reused.
const knownFor = 30 * time.Second

// agentsFor bounds how long the list of agents to push to is reused; it is
// read again at once when an agent comes, leaves or changes status.
const agentsFor = 10 * time.Second

type known struct {
	v     store.Visitor
	email string
	at    time.Time
}

type agentList struct {
	names []string
	at    time.Time
	valid bool
}

// who returns visitor id and its contact: read afresh with fresh (the page
// included), else reused when read less than knownFor ago. Without
// webhooks (the only other use of the address) and with the name the hub
// gave, nothing is read at all.
func (d *Dispatcher) who(id, name string, fresh bool) (store.Visitor, Contact) {
	now := time.Now()
	if k, ok := d.seen[id]; ok && !fresh && now.Sub(k.at) < knownFor {
		if name != "" {
			k.v.Name = name
		}
		return k.v, Contact{Email: k.email}
	}
	if !fresh && d.cfg.Webhooks == nil && name != "" {
		return store.Visitor{ID: id, Name: name}, Contact{}
	}
	v, err := d.cfg.Store.Visitor(id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			d.lg.Warn().Err(err).Str("visitor", id).Msg("read visitor for notifications")
		}
		v = store.Visitor{ID: id}
	}
	c := d.contact(id, fresh)
	if len(d.seen) >= maxTalked {
		clear(d.seen)
	}
	d.seen[id] = known{v: v, email: c.Email, at: now}
	return v, c
}

// pushAgents returns the agents to push to (Config.Agents), read again when
// the list is older than agentsFor or an agent's presence changed; ok is
// false when it could not be read.
func (d *Dispatcher) pushAgents(now time.Time) ([]string, bool) {
	if d.agents.valid && now.Sub(d.agents.at) < agentsFor {
		return d.agents.names, true
	}
	names, err := d.cfg.Agents()
	if err != nil {
		d.lg.Warn().Err(err).Msg("list agents for push")
		return nil, false
	}
	d.agents = agentList{names: names, at: now, valid: true}
	return names, true
}
