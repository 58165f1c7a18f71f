package cluster

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// presVal is a value of the presence bucket. Keys:
//
//	node.<node>            heartbeat of a node: its boot id, every TTL/5
//	on.<node>.<visitor>    the visitor has at least one socket on that node
//	agent.<node>.<b64>     the agent (base64url of its login) has an admin socket on that node
//	status.<b64>           the agent chose away (deleted when it chooses online again)
//
// An on-key counts only while its node is alive (a heartbeat seen within the
// TTL) and was written by the node's current boot, so a node that dies takes
// its visitors' presence with it within the TTL, and a node that restarts
// does not bring back the sockets of its previous life.
type presVal struct {
	Boot string `json:"boot"`
	Name string `json:"name,omitempty"`
	New  bool   `json:"new,omitempty"`
	Away bool   `json:"away,omitempty"` // status.<b64>
}

type nodeState struct {
	boot string
	seen time.Time // local time the last heartbeat was applied
	dead bool
}

// presence aggregates the visitors' presence over all nodes and publishes
// this node's part of it.
type presence struct {
	s    *Store
	kv   jetstream.KeyValue
	view *kvView[presVal]
	node string
	boot string
	ttl  time.Duration

	mu        sync.Mutex
	nodes     map[string]*nodeState
	byVisitor map[string]map[string]presVal // visitor -> node -> value
	online    map[string]string             // visitors online as last announced: id -> name
	agents    map[string]map[string]presVal // agent login -> node -> value
	away      map[string]bool               // agents who chose away
	agentsOn  map[string]bool               // agents connected as last announced

	closing  atomic.Bool // set by leaveAll: no more heartbeats or writes
	notifier atomic.Bool // see Store.Notifier

	wmu   sync.Mutex
	want  map[string]presVal // by key: this node's visitors and agents with a socket, statuses set here
	dirty map[string]bool    // keys to write
	kick  chan struct{}
}

func newPresence(s *Store, kv jetstream.KeyValue) *presence {
	boot, _ := randomString(6, false)
	p := &presence{
		s: s, kv: kv, node: s.cfg.Node, boot: boot, ttl: s.cfg.PresenceTTL,
		nodes: map[string]*nodeState{}, byVisitor: map[string]map[string]presVal{}, online: map[string]string{},
		agents: map[string]map[string]presVal{}, away: map[string]bool{}, agentsOn: map[string]bool{},
		want: map[string]presVal{}, dirty: map[string]bool{}, kick: make(chan struct{}, 1),
	}
	p.view = newKVView(s.nc, kv, jsonDecode[presVal], s.log)
	p.view.onChange = p.apply
	return p
}

// set records that visitor id has (online) or no longer has a socket on
// this node; the write happens in the background, latest state wins.
func (p *presence) set(id, name string, online, isNew bool) {
	p.put("on."+p.node+"."+id, presVal{Boot: p.boot, Name: name, New: isNew}, online)
}

// setAgent records that agent name has (connected) or no longer has an
// admin socket on this node; setAway records the agent's chosen status.
func (p *presence) setAgent(name string, connected bool) {
	p.put("agent."+p.node+"."+keyOf(name), presVal{Boot: p.boot}, connected)
}

func (p *presence) setAway(name string, away bool) {
	p.put("status."+keyOf(name), presVal{Away: true}, away)
}

// put plans the write of key (v when on, a delete otherwise) in the
// background, latest state wins.
func (p *presence) put(key string, v presVal, on bool) {
	p.wmu.Lock()
	if on {
		p.want[key] = v
	} else {
		delete(p.want, key)
	}
	p.dirty[key] = true
	p.wmu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// run heartbeats, writes this node's presence and expires dead nodes.
func (p *presence) run(ctx context.Context) {
	beat := p.ttl / 5
	tick := time.NewTicker(beat)
	defer tick.Stop()
	// Entries of this node's previous life no longer count (another boot id);
	// drop them from the bucket too.
	p.purgeOwn(ctx)
	p.heartbeat(ctx)
	for ctx.Err() == nil && !p.closing.Load() {
		if !p.flush(ctx) {
			sleep(ctx, 200*time.Millisecond) // no quorum: try again soon
		}
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-tick.C:
			p.heartbeat(ctx)
			p.expire()
		}
	}
}

func (p *presence) heartbeat(ctx context.Context) {
	if p.closing.Load() {
		return
	}
	b, _ := json.Marshal(presVal{Boot: p.boot})
	wctx, cancel := context.WithTimeout(ctx, p.ttl/5)
	defer cancel()
	if _, err := p.kv.Put(wctx, "node."+p.node, b); err != nil && ctx.Err() == nil {
		p.s.log.Debug().Err(err).Msg("presence heartbeat failed")
	}
}

// flush writes the dirty entries; false if some failed (kept dirty).
func (p *presence) flush(ctx context.Context) bool {
	p.wmu.Lock()
	dirty := p.dirty
	p.dirty = map[string]bool{}
	p.wmu.Unlock()
	ok := true
	for key := range dirty {
		p.wmu.Lock()
		v, on := p.want[key]
		p.wmu.Unlock()
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var err error
		if on {
			b, _ := json.Marshal(v)
			_, err = p.kv.Put(wctx, key, b)
		} else {
			err = p.kv.Delete(wctx, key)
		}
		cancel()
		if err != nil {
			ok = false
			p.wmu.Lock()
			p.dirty[key] = true
			p.wmu.Unlock()
		}
	}
	return ok
}

// leaveAll ends this node's presence on a clean shutdown, so its visitors
// go offline at once instead of after the TTL: deleting its heartbeat key
// makes every node drop its entries, which are then purged.
func (p *presence) leaveAll(ctx context.Context) {
	p.closing.Store(true)
	if err := p.kv.Delete(ctx, "node."+p.node); err != nil {
		p.s.log.Warn().Err(err).Msg("presence: cannot announce this node's shutdown; its visitors go offline after the TTL")
		return
	}
	p.purgeOwn(ctx)
}

// purgeOwn removes this node's on- and agent-keys from the bucket.
func (p *presence) purgeOwn(ctx context.Context) {
	st, err := p.s.js.Stream(ctx, "KV_"+bucketPresence)
	if err == nil {
		err = st.Purge(ctx, jetstream.WithPurgeSubject("$KV."+bucketPresence+".on."+p.node+".>"))
	}
	if err == nil {
		err = st.Purge(ctx, jetstream.WithPurgeSubject("$KV."+bucketPresence+".agent."+p.node+".>"))
	}
	if err != nil && ctx.Err() == nil {
		p.s.log.Debug().Err(err).Msg("presence: purge this node's keys")
	}
}

// apply is the view's change hook, in stream order.
func (p *presence) apply(key string, v presVal, deleted bool, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if node, ok := strings.CutPrefix(key, "node."); ok {
		n := p.nodes[node]
		if n == nil {
			n = &nodeState{}
			p.nodes[node] = n
		}
		if deleted { // a clean shutdown
			n.dead, n.boot = true, ""
		} else {
			// While this node catches up at start, a heartbeat is as old as
			// its timestamp says (a node dead for an hour is not alive for
			// another TTL); afterwards it is as fresh as its arrival, so a
			// skewed clock cannot make live nodes look dead for long.
			seen := time.Now()
			if !p.s.setup.Load() && !at.IsZero() && at.Before(seen) {
				seen = at
			}
			n.boot, n.seen, n.dead = v.Boot, seen, time.Since(seen) > p.ttl
		}
		p.recomputeNode(node)
		p.updateNotifier()
		return
	}
	if p.applyAgent(key, v, deleted) {
		return
	}
	rest, ok := strings.CutPrefix(key, "on.")
	if !ok {
		return
	}
	node, id, ok := strings.Cut(rest, ".")
	if !ok {
		return
	}
	m := p.byVisitor[id]
	if deleted {
		delete(m, node)
		if len(m) == 0 {
			delete(p.byVisitor, id)
		}
	} else {
		if m == nil {
			m = map[string]presVal{}
			p.byVisitor[id] = m
		}
		m[node] = v
	}
	p.recompute(id, v)
}

// valid reports whether node's entry v counts (under mu).
func (p *presence) valid(node string, v presVal) bool {
	if node == p.node {
		return v.Boot == p.boot
	}
	n := p.nodes[node]
	return n != nil && !n.dead && n.boot == v.Boot
}

// recompute announces a change of visitor id's presence (under mu); hint
// carries the name and "new" of the entry that changed.
func (p *presence) recompute(id string, hint presVal) {
	var (
		on  bool
		val presVal
	)
	for node, v := range p.byVisitor[id] {
		if p.valid(node, v) {
			on, val = true, v
			if v.New {
				break
			}
		}
	}
	name, was := p.online[id]
	switch {
	case on && !was:
		p.online[id] = val.Name
		p.emit(id, val.Name, true, val.New)
	case !on && was:
		delete(p.online, id)
		if name == "" {
			name = hint.Name
		}
		p.emit(id, name, false, false)
	}
}

func (p *presence) recomputeNode(node string) {
	for id, m := range p.byVisitor {
		if v, ok := m[node]; ok {
			p.recompute(id, v)
		}
	}
	p.recomputeAgents()
}

func (p *presence) emit(id, name string, online, isNew bool) {
	if fn := p.s.statusSink.Load(); fn != nil && *fn != nil {
		(*fn)(id, name, online, isNew)
	}
}

// expire marks nodes whose heartbeat is older than the TTL as dead, as long
// as this node's own heartbeats are getting through (else it is this node
// that is cut off, and it cannot tell who is alive).
func (p *presence) expire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.updateNotifier()
	self := p.nodes[p.node]
	if self == nil || time.Since(self.seen) > p.ttl/2 {
		return
	}
	for name, n := range p.nodes {
		if name != p.node && !n.dead && time.Since(n.seen) > p.ttl {
			n.dead = true
			p.s.log.Warn().Str("node", name).Dur("silent_ms", time.Since(n.seen).Round(time.Millisecond)).
				Msg("node stopped heartbeating: its visitors' sockets are gone")
			p.recomputeNode(name)
		}
	}
}

// snapshot returns the visitors online on any live node.
func (p *presence) snapshot() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]string, len(p.online))
	for id, name := range p.online {
		out[id] = name
	}
	return out
}

// SetPresence implements hub.Feed.
func (s *Store) SetPresence(id, name string, online, isNew bool) {
	if s.setup.Load() {
		s.presence.set(id, name, online, isNew)
	}
}

// Online implements hub.Feed: the visitors with a socket on any live node.
func (s *Store) Online() map[string]string {
	if !s.setup.Load() {
		return map[string]string{}
	}
	return s.presence.snapshot()
}
