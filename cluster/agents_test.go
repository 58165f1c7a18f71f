package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatd/chatd/hub"
)

// agentsSeen records what the aggregate told the hub.
func agentsSeen(p *presence) *[]string {
	var got []string
	p.s.feed.Store(&hub.FeedEvents{Agents: func(on, away map[string]bool) {
		got = append(got, fmt.Sprintf("on=%v away=%v", on, away))
	}})
	return &got
}

// TestAgentsAggregate: an agent is connected while some live node of its
// current boot has an admin socket of it; its status is the last one it
// chose on any node; a node that dies takes its agents with it.
func TestAgentsAggregate(t *testing.T) {
	now := time.Now()
	beat := func(p *presence, node, boot string) { p.apply("node."+node, presVal{Boot: boot}, false, now) }
	on := func(p *presence, node, boot, name string) {
		p.apply("agent."+node+"."+keyOf(name), presVal{Boot: boot}, false, now)
	}
	off := func(p *presence, node, name string) { p.apply("agent."+node+"."+keyOf(name), presVal{}, true, now) }
	away := func(p *presence, name string, a bool) { p.apply("status."+keyOf(name), presVal{Away: a}, !a, now) }
	for _, tc := range []struct {
		name  string
		steps func(p *presence)
		want  string
	}{
		{"portal on another node", func(p *presence) {
			beat(p, "b", "B1")
			on(p, "b", "B1", "alice")
		}, "[on=map[alice:true] away=map[]]"},
		{"portals on two nodes: connected until both close", func(p *presence) {
			beat(p, "a", "A1")
			beat(p, "b", "B1")
			on(p, "a", "A1", "alice")
			on(p, "b", "B1", "alice")
			off(p, "a", "alice")
			off(p, "b", "alice")
		}, "[on=map[alice:true] away=map[] on=map[] away=map[]]"},
		{"away chosen on one node, online again on another", func(p *presence) {
			beat(p, "b", "B1")
			on(p, "b", "B1", "bob.smith")
			away(p, "bob.smith", true)
			away(p, "bob.smith", false)
		}, "[on=map[bob.smith:true] away=map[] on=map[bob.smith:true] away=map[bob.smith:true] on=map[bob.smith:true] away=map[]]"},
		{"an entry of a previous boot never counts", func(p *presence) {
			beat(p, "b", "B2")
			on(p, "b", "B1", "alice")
		}, "[]"},
		{"a node shut down cleanly takes its agents", func(p *presence) {
			beat(p, "b", "B1")
			on(p, "b", "B1", "alice")
			p.apply("node.b", presVal{}, true, now)
		}, "[on=map[alice:true] away=map[] on=map[] away=map[]]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newTestPresence(t)
			got := agentsSeen(p)
			tc.steps(p)
			if fmt.Sprint(*got) != tc.want {
				t.Errorf("told %v\nwant  %v", *got, tc.want)
			}
		})
	}
}

// TestNotifierIsTheLowestLiveNode: exactly the live node with the lowest
// name notifies, the next one once it dies, none while cut off.
func TestNotifierIsTheLowestLiveNode(t *testing.T) {
	p, _ := newTestPresence(t) // this node is "a"
	s := p.s
	s.presence = p
	if s.Notifier() {
		t.Fatal("notifier before its own heartbeat")
	}
	now := time.Now()
	p.apply("node.b", presVal{Boot: "B1"}, false, now)
	p.apply("node.a", presVal{Boot: "A1"}, false, now)
	if !s.Notifier() {
		t.Fatal("a, the lowest live node, does not notify")
	}
	// A node with a lower name comes.
	p.apply("node.0", presVal{Boot: "Z1"}, false, now)
	if s.Notifier() {
		t.Fatal("a notifies while 0 is alive")
	}
	// It goes silent: a takes over at the expiry.
	p.nodes["0"].seen = now.Add(-time.Minute)
	p.expire()
	if !s.Notifier() {
		t.Fatal("a does not take over from a dead node")
	}
	// This node's own heartbeats stop getting through: it cannot tell.
	p.nodes["a"].seen = now.Add(-time.Minute)
	p.expire()
	if s.Notifier() {
		t.Fatal("a notifies while cut off")
	}
	// Another boot of this node's name is not this node.
	p.apply("node.a", presVal{Boot: "A0"}, false, time.Now())
	if s.Notifier() {
		t.Fatal("a notifies on another boot's heartbeat")
	}
	p.apply("node.a", presVal{Boot: "A1"}, false, time.Now())
	if !s.Notifier() {
		t.Fatal("a does not notify again")
	}
	p.closing.Store(true)
	if s.Notifier() {
		t.Fatal("a notifies while shutting down")
	}
}
