package hub

import "maps"

// Agents with a Feed (a cluster): an agent is connected while it has an
// admin socket on some live node, and its status is the one it last chose
// on any node. This node reports its own part (SetAgent, SetAgentStatus)
// and computes availability, admin:agents and AdminConnected from the
// cluster-wide view the feed tells (fromFeed). Without a Feed, p.conns and
// p.away are the whole truth.

// connectedLocked reports whether agent name has an admin socket: on any
// node with a Feed, else here (under p.mu).
func (p *presence) connectedLocked(name string) bool {
	if p.remote != nil {
		return p.remote[name]
	}
	return p.conns[name] > 0
}

// connectedNamesLocked lists the connected agents (under p.mu).
func (p *presence) connectedNamesLocked() []string {
	var out []string
	if p.remote != nil {
		for name, on := range p.remote {
			if on {
				out = append(out, name)
			}
		}
		return out
	}
	for name, k := range p.conns {
		if k > 0 {
			out = append(out, name)
		}
	}
	return out
}

// fromFeed is FeedEvents.Agents: the cluster's agents changed. Every admin
// socket here is told the new list and the visitors' availability is
// recomputed when something an admin or a visitor sees changed.
func (p *presence) fromFeed(connected, away map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.remote == nil || p.stopped {
		return
	}
	if maps.Equal(connected, p.remote) && maps.Equal(away, p.away) {
		return
	}
	p.remote, p.away = connected, away
	if p.remote == nil {
		p.remote = map[string]bool{}
	}
	if p.away == nil {
		p.away = map[string]bool{}
	}
	p.agentsChangedLocked()
}
