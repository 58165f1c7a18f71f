package cluster

import (
	"encoding/base64"
	"maps"
	"strings"
	"time"
)

// Agents across nodes: a node writes agent.<node>.<b64 login> while the
// agent has an admin socket on it (counted, like a visitor's on-key, only
// while that node heartbeats with the same boot id) and status.<b64 login>
// while the agent chose away. The hub gets the aggregate (hub.FeedEvents.Agents)
// whenever it changes.

// applyAgent applies an agent or status key (under p.mu); false if key is neither.
func (p *presence) applyAgent(key string, v presVal, deleted bool) bool {
	if k, ok := strings.CutPrefix(key, "status."); ok {
		name, ok := loginOf(k)
		if !ok {
			return true
		}
		if deleted || !v.Away {
			delete(p.away, name)
		} else {
			p.away[name] = true
		}
		p.emitAgents()
		return true
	}
	rest, ok := strings.CutPrefix(key, "agent.")
	if !ok {
		return false
	}
	node, k, ok := strings.Cut(rest, ".")
	if !ok {
		return true
	}
	name, ok := loginOf(k)
	if !ok {
		return true
	}
	m := p.agents[name]
	if deleted {
		delete(m, node)
		if len(m) == 0 {
			delete(p.agents, name)
		}
	} else {
		if m == nil {
			m = map[string]presVal{}
			p.agents[name] = m
		}
		m[node] = v
	}
	p.recomputeAgents()
	return true
}

// loginOf decodes the base64url login of a key.
func loginOf(k string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(k)
	return string(b), err == nil && len(b) > 0
}

// recomputeAgents announces a change of the set of connected agents (under p.mu).
func (p *presence) recomputeAgents() {
	on := map[string]bool{}
	for name, m := range p.agents {
		for node, v := range m {
			if p.valid(node, v) {
				on[name] = true
				break
			}
		}
	}
	if maps.Equal(on, p.agentsOn) {
		return
	}
	p.agentsOn = on
	p.emitAgents()
}

// emitAgents tells the hub the agents' state (under p.mu).
func (p *presence) emitAgents() {
	ev := p.s.feed.Load()
	if ev == nil || ev.Agents == nil {
		return
	}
	ev.Agents(maps.Clone(p.agentsOn), maps.Clone(p.away))
}

// SetAgent implements hub.Feed.
func (s *Store) SetAgent(name string, connected bool) {
	if s.setup.Load() {
		s.presence.setAgent(name, connected)
	}
}

// SetAgentStatus implements hub.Feed.
func (s *Store) SetAgentStatus(name string, away bool) {
	if s.setup.Load() {
		s.presence.setAway(name, away)
	}
}

// Notifier reports whether this node is the one that sends notifications
// now: the live node with the lowest name, as this node sees the
// heartbeats, and only while its own heartbeats get through. When that
// node dies the next one takes over after the presence TTL; two nodes
// may both believe it for about a heartbeat while their views differ.
// It takes no lock (the hub's presence callbacks may ask).
func (s *Store) Notifier() bool {
	return s.setup.Load() && !s.presence.closing.Load() && s.presence.notifier.Load()
}

// updateNotifier recomputes Notifier's answer (under p.mu).
func (p *presence) updateNotifier() {
	self := p.nodes[p.node]
	ok := self != nil && !self.dead && self.boot == p.boot && time.Since(self.seen) <= p.ttl/2
	for name, n := range p.nodes {
		if ok && name < p.node && !n.dead && time.Since(n.seen) <= p.ttl {
			ok = false
		}
	}
	if p.notifier.Swap(ok) != ok {
		p.s.log.Info().Bool("notifier", ok).Msg("this node's notification role changed")
	}
}
