package cluster_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
)

// TestClusterWithoutQuorum: a node left alone (2 of 3 killed) answers
// /readyz 503 and refuses writes with `unavailable` (nothing stored), keeps
// its open sockets, and takes the same cid again once a peer is back,
// storing it once.
func TestClusterWithoutQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	nodes := startCluster(t, 3)
	alone := nodes[0]
	ws, err := chatdtest.DialWS(alone.URL(), "/ws/client")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.Send("client:add", map[string]any{"name": "Ann", "after": 0})
	for f, err := ws.Read(step); f.Type != "client:replayed"; f, err = ws.Read(step) {
		if err != nil {
			t.Fatal(err)
		}
	}
	nodes[1].Kill(t)
	nodes[2].Kill(t)

	waitNotReady(t, alone) // /readyz turns 503
	// A write is refused with unavailable, with its cid.
	ws.Send("client:message", map[string]any{"cid": "q1", "text": "anyone?"})
	f, err := ws.Read(30 * time.Second)
	for err == nil && f.Type == "client:seen" { // told once after the replay (issue 13)
		f, err = ws.Read(30 * time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Code, CID string }
	json.Unmarshal(f.Data, &e)
	if f.Type != "error" || e.Code != "unavailable" || e.CID != "q1" {
		t.Fatalf("write without quorum answered %s %s", f.Type, f.Data)
	}

	// A peer comes back: the same cid is stored, once.
	nodes[1].Restart(t)
	waitReady(t, alone)
	var offset uint64
	for deadline := time.Now().Add(step); offset == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the re-sent cid was never acknowledged after quorum came back")
		}
		ws.Send("client:message", map[string]any{"cid": "q1", "text": "anyone?"})
		f, err := ws.Read(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var m chatdtest.Message
		json.Unmarshal(f.Data, &m)
		if f.Type == "client:message" && m.CID == "q1" {
			offset = m.Offset
		}
	}
	_, msgs := history(t, alone, login(t, alone))
	n := 0
	for _, m := range msgs {
		if m.CID == "q1" {
			n++
			if m.Offset != offset {
				t.Errorf("q1 stored at %d, acknowledged at %d", m.Offset, offset)
			}
		}
	}
	if n != 1 {
		t.Errorf("q1 stored %d times", n)
	}

	// Without a quorum again, SIGTERM while a write waits for one: the write
	// gives up (Drain) and the node exits 0 within its shutdown timeout.
	nodes[1].Kill(t)
	waitNotReady(t, alone)
	ws.Send("client:message", map[string]any{"cid": "q2", "text": "still there?"})
	alone.Stop(t) // fails the test on a non-zero exit or a stop beyond chatdtest.StopTimeout
}

// waitNotReady waits for the node's /readyz to answer 503.
func waitNotReady(t *testing.T, nd *node) {
	t.Helper()
	for deadline := time.Now().Add(step); ; {
		res, err := http.Get(nd.URL() + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusServiceUnavailable {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz of %s still not 503 after %v", nd.name, step)
		}
		time.Sleep(100 * time.Millisecond) // polling a probe
	}
}
