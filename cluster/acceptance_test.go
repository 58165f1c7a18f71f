package cluster_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
)

// visitorSim is one visitor behaving like the widget: it keeps its token,
// the highest offset seen and an outbox, reconnects to another node when its
// socket dies and re-sends unacknowledged messages with their cids.
type visitorSim struct {
	t     *testing.T
	name  string
	home  int // node index it starts on
	nodes []*node
	dead  *atomic.Int32 // index+1 of the killed node, 0 if none

	id, token string
	at        int // node index connected to
	ws        *chatdtest.WS
	last      uint64            // highest offset seen
	acked     map[string]uint64 // own cid -> offset
	seen      map[uint64]string // offset -> cid, everything received
	replies   int               // admin replies received
	retrying  bool              // every send re-sends a stored cid
}

func (v *visitorSim) connect() error {
	for try := 0; try < 3*len(v.nodes); try++ {
		i := (v.home + try) % len(v.nodes)
		if int(v.dead.Load()) == i+1 {
			continue
		}
		ws, err := chatdtest.DialWS(v.nodes[i].URL(), "/ws/client")
		if err != nil {
			continue
		}
		if err := ws.Send("client:add", map[string]any{"name": v.name, "token": v.token, "after": v.last}); err != nil {
			ws.Close()
			continue
		}
		f, err := ws.Read(step)
		if err != nil || f.Type != "client:id" {
			ws.Close()
			continue
		}
		var id struct{ ID, Token string }
		json.Unmarshal(f.Data, &id)
		if v.id != "" && id.ID != v.id {
			return fmt.Errorf("%s: node %d answered another visitor %s", v.name, i+1, id.ID)
		}
		v.id, v.token, v.ws, v.at = id.ID, id.Token, ws, i
		for {
			f, err := ws.Read(step)
			if err != nil {
				return err
			}
			if f.Type != "client:messages" {
				return fmt.Errorf("%s: replay frame %s", v.name, f.Type)
			}
			var part []chatdtest.Message
			json.Unmarshal(f.Data, &part)
			for _, m := range part {
				v.record(m, false)
			}
			if len(part) < 500 {
				return nil
			}
		}
	}
	return fmt.Errorf("%s: no node took the socket", v.name)
}

// record keeps m; live messages must arrive in strictly increasing offset,
// except the answer to a re-sent cid.
func (v *visitorSim) record(m chatdtest.Message, resent bool) {
	if prev, ok := v.seen[m.Offset]; ok && prev != m.CID {
		v.t.Errorf("%s: offset %d carried cid %q and %q", v.name, m.Offset, prev, m.CID)
	}
	if m.Offset <= v.last && !resent {
		if _, ok := v.seen[m.Offset]; !ok || !(m.From == "client" && v.acked[m.CID] == m.Offset) {
			v.t.Errorf("%s: offset %d after %d", v.name, m.Offset, v.last)
		}
	}
	v.seen[m.Offset] = m.CID
	v.last = max(v.last, m.Offset)
	if m.From == "client" {
		if o, ok := v.acked[m.CID]; ok && o != m.Offset {
			v.t.Errorf("%s: cid %s acknowledged at %d and %d", v.name, m.CID, o, m.Offset)
		}
		v.acked[m.CID] = m.Offset
	} else {
		v.replies++
	}
}

// send stores one message, retrying across failures, until acknowledged.
func (v *visitorSim) send(cid string) error {
	deadline := time.Now().Add(60 * time.Second)
	resent := v.retrying
	for time.Now().Before(deadline) {
		if _, ok := v.acked[cid]; ok {
			return nil
		}
		if v.ws == nil {
			if err := v.connect(); err != nil {
				v.ws = nil
				time.Sleep(200 * time.Millisecond) // reconnect backoff
				continue
			}
		}
		if err := v.ws.Send("client:message", map[string]any{"cid": cid, "text": "hello " + cid}); err != nil {
			v.ws.Close()
			v.ws = nil
			continue
		}
		for v.ws != nil {
			f, err := v.ws.Read(step)
			if err != nil {
				v.ws.Close()
				v.ws, resent = nil, true
				break
			}
			switch f.Type {
			case "client:message":
				var m chatdtest.Message
				json.Unmarshal(f.Data, &m)
				v.record(m, resent && m.CID == cid)
			case "error":
				var e struct{ Code, CID string }
				json.Unmarshal(f.Data, &e)
				if e.Code != "unavailable" {
					return fmt.Errorf("%s: error %s", v.name, f.Data)
				}
				time.Sleep(200 * time.Millisecond) // the client's retry backoff
				resent = true
			}
			if _, ok := v.acked[cid]; ok || f.Type == "error" {
				break
			}
		}
	}
	if _, ok := v.acked[cid]; ok {
		return nil
	}
	return fmt.Errorf("%s: cid %s never acknowledged", v.name, cid)
}

// TestClusterSurvivesLeaderKill is issue 14's acceptance test: 3 nodes,
// visitors on nodes 1 and 2, an agent on node 3, kill -9 of the message
// stream's leader mid-stream, reconnects with the last offsets, then checks
// offsets, exactly-once storage on every node, presence, cid retries across
// nodes and after the dedupe window, and the killed node catching up.
func TestClusterSurvivesLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	nodes := startCluster(t, 3, "--cluster-dedupe-window", "1s", "--cluster-presence-ttl", "2s")
	token := login(t, nodes[0]) // sessions are shared: used on every node below
	var dead atomic.Int32

	// An agent on node 3 answers every 5th message it sees.
	agent, err := chatdtest.DialWS(nodes[2].URL(), "/ws/admin")
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	if err := agent.Send("admin:add", map[string]any{"token": token, "after": 0}); err != nil {
		t.Fatal(err)
	}

	const perVisitor = 30
	var sims []*visitorSim
	for i := 0; i < 4; i++ {
		v := &visitorSim{t: t, name: fmt.Sprintf("v%d", i), home: i % 2, nodes: nodes, dead: &dead,
			acked: map[string]uint64{}, seen: map[uint64]string{}}
		if err := v.connect(); err != nil {
			t.Fatal(err)
		}
		sims = append(sims, v)
	}
	// Ghosts: one idle visitor per node; the one on the killed node must go offline.
	var ghosts []*visitorSim
	for i := range nodes {
		g := &visitorSim{t: t, name: fmt.Sprintf("ghost%d", i+1), home: i, nodes: nodes, dead: &dead,
			acked: map[string]uint64{}, seen: map[uint64]string{}}
		if err := g.connect(); err != nil {
			t.Fatal(err)
		}
		defer g.ws.Close()
		ghosts = append(ghosts, g)
	}

	var acks atomic.Int64
	var wg sync.WaitGroup
	for _, v := range sims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < perVisitor; k++ {
				if err := v.send(fmt.Sprintf("%s-%d", v.name, k)); err != nil {
					t.Error(err)
					return
				}
				acks.Add(1)
			}
		}()
	}
	agentDone := make(chan agentSaw, 1)
	go func() { agentDone <- runAgent(t, agent, &dead) }()

	// Mid-stream: kill -9 the stream leader.
	for deadline := time.Now().Add(step); acks.Load() < int64(len(sims)*perVisitor/3); {
		if time.Now().After(deadline) {
			t.Fatal("too few acknowledgements before the kill")
		}
		time.Sleep(10 * time.Millisecond) // watching a counter
	}
	lead := leader(t, nodes[0])
	var killed int
	for i, nd := range nodes {
		if nd.name == lead {
			killed = i
		}
	}
	t.Logf("killing the stream leader %s after %d acks", lead, acks.Load())
	dead.Store(int32(killed + 1))
	nodes[killed].Kill(t)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	live := []*node{}
	for i, nd := range nodes {
		if i != killed {
			live = append(live, nd)
		}
	}

	// Every acknowledged message is on every surviving node, once, at its offset.
	all := map[string]uint64{}
	for _, v := range sims {
		for cid, off := range v.acked {
			all[v.id+"/"+cid] = off
		}
	}
	var top uint64
	for _, off := range all {
		top = max(top, off)
	}
	var lists [][]listEntry
	for _, nd := range live {
		waitApplied(t, nd, top) // a node delivers what the quorum committed a moment later
		list, msgs := history(t, nd, token)
		lists = append(lists, list)
		checkLog(t, nd.name, msgs, all)
	}

	// Presence: every visitor socket open is online; the killed node's ghost is not.
	checkOnline := func() error {
		list, _ := history(t, live[0], token)
		on := map[string]bool{}
		for _, e := range list {
			on[e.ID] = e.Connected
		}
		for _, v := range sims {
			if v.ws != nil && !on[v.id] {
				return fmt.Errorf("%s (on node %d) shown offline", v.name, v.at+1)
			}
		}
		for i, g := range ghosts {
			if want := i != killed; on[g.id] != want {
				return fmt.Errorf("%s: online %v, want %v", g.name, on[g.id], want)
			}
		}
		return nil
	}
	for deadline := time.Now().Add(step); ; {
		err := checkOnline()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // presence expires by TTL
	}

	// cid retries: on another node, and after the dedupe window, store nothing new.
	v := sims[0]
	cid := v.name + "-0"
	want := v.acked[cid]
	other := live[0]
	if nodes[v.at] == other {
		other = live[1]
	}
	retry := &visitorSim{t: t, name: v.name, token: v.token, id: v.id, last: v.last, nodes: []*node{other}, dead: new(atomic.Int32),
		acked: map[string]uint64{}, seen: map[uint64]string{}, retrying: true}
	if err := retry.connect(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // outlast the 1s dedupe window: the property under test is time-based
	for _, c := range []string{cid, v.name + "-1"} {
		if err := retry.send(c); err != nil {
			t.Fatal(err)
		}
		if retry.acked[c] != v.acked[c] {
			t.Errorf("retry of %s on %s: offset %d, first stored at %d", c, other.name, retry.acked[c], v.acked[c])
		}
	}
	_ = want
	for _, nd := range live {
		_, msgs := history(t, nd, token)
		checkLog(t, nd.name+" after retries", msgs, all)
	}

	// The killed node restarts and catches up.
	nodes[killed].Restart(t)
	waitReady(t, nodes[killed])
	_, msgs := history(t, nodes[killed], token)
	checkLog(t, nodes[killed].name+" restarted", msgs, all)

	agent.Close()
	saw := <-agentDone
	if len(saw.msgs) == 0 {
		t.Error("the agent saw no message")
	}
	// Presence is announced across nodes: the agent on node 3 heard every
	// visitor of nodes 1 and 2 come online.
	for _, v := range append(append([]*visitorSim{}, sims...), ghosts...) {
		if !saw.online[v.id] {
			t.Errorf("agent on node 3 never got admin:client_status true for %s (home node %d)", v.name, v.home+1)
		}
	}
	_ = lists
}

// agentSaw is what the agent's socket received.
type agentSaw struct {
	msgs   []chatdtest.Message
	online map[string]bool // visitors announced online at least once
}

// checkLog checks one node's full history: offsets strictly increase, and
// every acknowledged (visitor, cid) is there exactly once at its offset.
func checkLog(t *testing.T, where string, msgs []chatdtest.Message, acked map[string]uint64) {
	t.Helper()
	count := map[string]int{}
	var prev uint64
	for _, m := range msgs {
		if m.Offset <= prev {
			t.Errorf("%s: offset %d after %d", where, m.Offset, prev)
		}
		prev = m.Offset
		if m.From != "client" {
			continue
		}
		k := m.Client + "/" + m.CID
		count[k]++
		if off, ok := acked[k]; ok && off != m.Offset {
			t.Errorf("%s: %s at offset %d, acknowledged at %d", where, k, m.Offset, off)
		}
	}
	for k := range acked {
		if count[k] != 1 {
			t.Errorf("%s: %s stored %d times", where, k, count[k])
		}
	}
}

// runAgent reads the agent's socket until it closes, answers every 5th
// visitor message and returns what it saw; its offsets strictly increase.
func runAgent(t *testing.T, ws *chatdtest.WS, dead *atomic.Int32) agentSaw {
	saw := agentSaw{online: map[string]bool{}}
	var last uint64
	n := 0
	for {
		f, err := ws.Read(2 * time.Minute)
		if err != nil {
			return saw
		}
		if f.Type == "admin:list" {
			var list []listEntry
			json.Unmarshal(f.Data, &list)
			for _, e := range list {
				saw.online[e.ID] = saw.online[e.ID] || e.Connected
			}
		}
		if f.Type == "admin:client_status" {
			var st struct {
				ID     string
				Status bool
			}
			json.Unmarshal(f.Data, &st)
			saw.online[st.ID] = saw.online[st.ID] || st.Status
		}
		if f.Type != "admin:message" && f.Type != "admin:messages" {
			continue
		}
		var ms []chatdtest.Message
		if f.Type == "admin:message" {
			var m chatdtest.Message
			json.Unmarshal(f.Data, &m)
			ms = append(ms, m)
		} else {
			json.Unmarshal(f.Data, &ms)
		}
		for _, m := range ms {
			if m.Offset <= last {
				t.Errorf("agent: offset %d after %d", m.Offset, last)
			}
			last = m.Offset
			saw.msgs = append(saw.msgs, m)
			if m.From == "client" {
				if n++; n%5 == 0 && dead.Load() == 0 {
					err := ws.Send("admin:message", map[string]any{"client": m.Client, "cid": fmt.Sprintf("r%d", m.Offset), "text": "ok"})
					if errors.Is(err, nil) {
						continue
					}
				}
			}
		}
	}
}
