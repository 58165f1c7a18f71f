package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// status is one announcement the presence aggregate made.
type status struct {
	id     string
	online bool
	isNew  bool
}

// newTestPresence is the aggregation of node "a" without NATS: changes are
// fed to apply as the bucket's tail would, announcements are recorded.
func newTestPresence(t *testing.T) (*presence, *[]status) {
	t.Helper()
	s := &Store{log: zerolog.Nop(), cfg: Config{Node: "a", PresenceTTL: 10 * time.Second}}
	s.setup.Store(true)
	var got []status
	sink := func(id, name string, online, isNew bool) { got = append(got, status{id, online, isNew}) }
	s.statusSink.Store(&sink)
	p := &presence{s: s, node: "a", boot: "A1", ttl: 10 * time.Second,
		nodes: map[string]*nodeState{}, byVisitor: map[string]map[string]presVal{}, online: map[string]string{},
		agents: map[string]map[string]presVal{}, away: map[string]bool{}, agentsOn: map[string]bool{}}
	return p, &got
}

// TestPresenceAggregates: a visitor is online while any live node of its
// current boot has it; the announcements follow the aggregate, not the
// per-node changes.
func TestPresenceAggregates(t *testing.T) {
	now := time.Now()
	beat := func(p *presence, node, boot string) { p.apply("node."+node, presVal{Boot: boot}, false, now) }
	on := func(p *presence, node, boot, id string, isNew bool) {
		p.apply("on."+node+"."+id, presVal{Boot: boot, Name: "V", New: isNew}, false, now)
	}
	off := func(p *presence, node, id string) { p.apply("on."+node+"."+id, presVal{}, true, now) }
	for _, tc := range []struct {
		name  string
		steps func(p *presence)
		want  []status
	}{
		{"new visitor on this node", func(p *presence) {
			beat(p, "a", "A1")
			on(p, "a", "A1", "v1", true)
		}, []status{{"v1", true, true}}},
		{"tabs on two nodes: online once, offline after both", func(p *presence) {
			beat(p, "a", "A1")
			beat(p, "b", "B1")
			on(p, "a", "A1", "v1", false)
			on(p, "b", "B1", "v1", false)
			off(p, "a", "v1")
			off(p, "b", "v1")
		}, []status{{"v1", true, false}, {"v1", false, false}}},
		{"entry of another node before its heartbeat counts once it beats", func(p *presence) {
			on(p, "b", "B1", "v1", false)
			beat(p, "b", "B1")
		}, []status{{"v1", true, false}}},
		{"this node's entry from a previous boot never counts", func(p *presence) {
			on(p, "a", "A0", "v1", false)
			beat(p, "a", "A1")
		}, nil},
		{"a restarted node's old entries go with its new boot", func(p *presence) {
			beat(p, "b", "B1")
			on(p, "b", "B1", "v1", false)
			beat(p, "b", "B2")
		}, []status{{"v1", true, false}, {"v1", false, false}}},
		{"a clean shutdown (heartbeat deleted) takes the node's visitors", func(p *presence) {
			beat(p, "b", "B1")
			on(p, "b", "B1", "v1", false)
			on(p, "a", "A1", "v2", false)
			p.apply("node.b", presVal{}, true, now)
		}, []status{{"v1", true, false}, {"v2", true, false}, {"v1", false, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, got := newTestPresence(t)
			tc.steps(p)
			if fmt.Sprint(*got) != fmt.Sprint(tc.want) {
				t.Errorf("announced %v, want %v", *got, tc.want)
			}
		})
	}
}

// TestPresenceExpiresDeadNode: a node silent for the TTL loses its
// visitors, but only while this node's own heartbeats get through.
func TestPresenceExpiresDeadNode(t *testing.T) {
	p, got := newTestPresence(t)
	old := time.Now().Add(-time.Minute)
	p.apply("node.a", presVal{Boot: "A1"}, false, time.Now())
	p.apply("node.b", presVal{Boot: "B1"}, false, time.Now())
	p.apply("on.b.v1", presVal{Boot: "B1", Name: "V"}, false, time.Now())
	p.nodes["b"].seen = old // b went silent a minute ago
	p.nodes["a"].seen = old // ... and so did this node's own heartbeats: no verdict
	p.expire()
	if len(*got) != 1 {
		t.Fatalf("expired while cut off: %v", *got)
	}
	p.nodes["a"].seen = time.Now()
	p.expire()
	if want := "[{v1 true false} {v1 false false}]"; fmt.Sprint(*got) != want {
		t.Fatalf("announced %v, want %v", *got, want)
	}
	if len(p.snapshot()) != 0 {
		t.Errorf("snapshot after expiry: %v", p.snapshot())
	}
	// It comes back (same boot, a partition healed): its visitor is back.
	p.apply("node.b", presVal{Boot: "B1"}, false, time.Now())
	if p.snapshot()["v1"] != "V" {
		t.Errorf("node back, snapshot %v", p.snapshot())
	}
}

// TestPresenceCatchUpSeesOldHeartbeats: while a node reads the bucket at
// start, a heartbeat written long ago is as old as its timestamp, so the
// visitors of a node that died before this one started do not show online.
func TestPresenceCatchUpSeesOldHeartbeats(t *testing.T) {
	p, got := newTestPresence(t)
	p.s.setup.Store(false)
	long := time.Now().Add(-time.Hour)
	p.apply("node.b", presVal{Boot: "B1"}, false, long)
	p.apply("on.b.v1", presVal{Boot: "B1", Name: "V"}, false, long)
	if len(*got) != 0 || len(p.snapshot()) != 0 {
		t.Errorf("a node dead for an hour counts: %v %v", *got, p.snapshot())
	}
}
