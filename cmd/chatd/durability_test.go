package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/store"
)

// acked records every message the server acknowledged, by visitor and cid.
type acked struct {
	mu    sync.Mutex
	msgs  map[string]message // visitor id + "/" + cid
	n     int
	reach chan struct{} // closed when n reaches goal
	goal  int
	max   uint64
}

func newAcked(goal int) *acked {
	return &acked{msgs: map[string]message{}, reach: make(chan struct{}), goal: goal}
}

func (a *acked) add(m message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.msgs[m.Client+"/"+m.CID] = m
	a.n++
	if m.Offset > a.max {
		a.max = m.Offset
	}
	if a.n == a.goal {
		close(a.reach)
	}
}

func (a *acked) snapshot() map[string]message {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]message, len(a.msgs))
	for k, v := range a.msgs {
		out[k] = v
	}
	return out
}

// writer sends messages on w one at a time, each as soon as the previous one
// is acknowledged, until the socket fails or stop closes.
func writer(w *wsConn, id, prefix string, a *acked, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		cid := fmt.Sprintf("%s-%d", prefix, i)
		w.c.SetWriteDeadline(time.Now().Add(wait))
		if err := w.c.WriteJSON(map[string]any{"type": "client:message",
			"data": map[string]any{"cid": cid, "text": "text of " + cid}}); err != nil {
			return
		}
		for {
			f, err := w.tryRead()
			if err != nil {
				return
			}
			if f.Type != "client:message" {
				continue
			}
			var m message
			if jsonUnmarshal(f.Data, &m) != nil {
				return
			}
			if m.CID == cid {
				a.add(m)
				break
			}
		}
	}
}

// collect reads replay frames of type typ (the hub sends history in chunks)
// until every key of want is seen, and returns all messages read.
func collect(t *testing.T, w *wsConn, typ string, want map[string]message) []message {
	t.Helper()
	missing := make(map[string]bool, len(want))
	for k := range want {
		missing[k] = true
	}
	var all []message
	for first := true; first || len(missing) > 0; first = false {
		var chunk []message
		w.expect(typ, &chunk)
		for _, m := range chunk {
			delete(missing, m.Client+"/"+m.CID)
		}
		all = append(all, chunk...)
	}
	return all
}

// checkReplay reconnects each visitor and an admin and requires every acked message, unchanged.
func checkReplay(t *testing.T, base, adminPW string, tokens map[string]string, want map[string]message) uint64 {
	t.Helper()
	var hi uint64
	for id, tok := range tokens {
		mine := map[string]message{}
		for k, m := range want {
			if m.Client == id {
				mine[k] = m
			}
		}
		w := dialWS(t, base, "/ws/client")
		w.send("client:add", map[string]any{"name": "x", "token": tok, "after": 0})
		var who struct{ ID string }
		w.expect("client:id", &who)
		if who.ID != id {
			t.Fatalf("token restored visitor %s, want %s", who.ID, id)
		}
		got := map[string]message{}
		var prev uint64
		for _, m := range collect(t, w, "client:messages", mine) {
			if m.Offset <= prev {
				t.Fatalf("replay offsets not increasing: %d after %d", m.Offset, prev)
			}
			prev = m.Offset
			got[m.Client+"/"+m.CID] = m
			hi = max(hi, m.Offset)
		}
		for k, m := range mine {
			if g, ok := got[k]; !ok || g.Offset != m.Offset || g.Text != m.Text {
				t.Fatalf("acked message %s (offset %d) replayed as %+v (found %v)", k, m.Offset, g, ok)
			}
		}
	}
	adm := dialWS(t, base, "/ws/admin")
	adm.send("admin:add", map[string]any{"token": login(t, base, "ann", adminPW), "after": 0})
	adm.expect("admin:list", nil)
	byKey := map[string]message{}
	// The replay holds the newest 1000 messages, then admin:replayed; older
	// ones are paged per conversation with admin:history.
	for f := adm.read(); f.Type != "admin:replayed"; f = adm.read() {
		var chunk []message
		if f.Type == "admin:messages" {
			if err := json.Unmarshal(f.Data, &chunk); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range chunk {
			byKey[m.Client+"/"+m.CID] = m
		}
	}
	for id := range tokens {
		for before := uint64(0); ; {
			adm.send("admin:history", map[string]any{"client": id, "before": before, "limit": 500})
			var h struct {
				Messages []message `json:"messages"`
				More     bool      `json:"more"`
			}
			adm.expect("admin:history", &h)
			for _, m := range h.Messages {
				byKey[m.Client+"/"+m.CID] = m
			}
			if !h.More || len(h.Messages) == 0 {
				break
			}
			before = h.Messages[0].Offset
		}
	}
	for k, m := range want {
		if g, ok := byKey[k]; !ok || g.Offset != m.Offset {
			t.Fatalf("admin replay lacks acked %s at offset %d (got %+v)", k, m.Offset, g)
		}
	}
	return hi
}

// TestKill9KeepsAckedMessages: under every fsync policy an acknowledged
// message has reached the file, so a killed process loses none of them.
func TestKill9KeepsAckedMessages(t *testing.T) {
	for _, policy := range []string{"1s", "always", "never"} {
		t.Run(policy, func(t *testing.T) { testKill9(t, policy) })
	}
}

func testKill9(t *testing.T, policy string) {
	dir := t.TempDir()
	if err := seed.Set(dir, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	limits := []string{"--msg-rate", "100000", "--msg-burst", "100000", "--quota-visitor", "1000000000", "--quota-address", "1000000000", "--fsync", policy}
	c := startChild(t, dir, limits...)
	const visitors = 4
	a := newAcked(1500)
	stop := make(chan struct{})
	tokens := map[string]string{}
	var wg sync.WaitGroup
	for i := 0; i < visitors; i++ {
		w, id, tok := visitor(t, c.url(), fmt.Sprintf("v%d", i))
		tokens[id] = tok
		wg.Add(1)
		go func() { defer wg.Done(); writer(w, id, fmt.Sprintf("v%d", i), a, stop) }()
	}
	select {
	case <-a.reach:
	case <-time.After(wait):
		t.Fatalf("only %d acks within %v", len(a.snapshot()), wait)
	}
	c.Kill(t)
	close(stop)
	wg.Wait()
	want := a.snapshot()
	t.Logf("%d messages acknowledged before SIGKILL, highest offset %d", len(want), a.max)

	c2 := startChild(t, dir, limits...)
	max := checkReplay(t, c2.url(), "pw", tokens, want)
	// Offsets continue strictly increasing after the restart.
	var id string
	for k := range tokens {
		id = k
	}
	w := dialWS(t, c2.url(), "/ws/client")
	w.send("client:add", map[string]any{"name": "x", "token": tokens[id], "after": max})
	w.expect("client:messages", nil)
	w.send("client:message", map[string]any{"cid": "after-restart", "text": "still here"})
	var m message
	w.expect("client:message", &m)
	if m.Offset <= max {
		t.Fatalf("offset after restart %d, not above %d", m.Offset, max)
	}
}

func TestBackupDuringWritesRestores(t *testing.T) {
	dir := t.TempDir()
	admin := store.RoleAdmin // /api/backup needs the admin role
	if _, err := seed.SetWith(dir, "ann", seed.Change{Password: "pw", Cost: 4, Role: &admin}); err != nil {
		t.Fatal(err)
	}
	p := startRun(t, dir, "--msg-rate", "100000", "--msg-burst", "100000", "--quota-visitor", "1000000000", "--quota-address", "1000000000")
	token := login(t, p.url(), "ann", "pw")
	a := newAcked(100)
	stop := make(chan struct{})
	tokens := map[string]string{}
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		w, id, tok := visitor(t, p.url(), fmt.Sprintf("v%d", i))
		tokens[id] = tok
		wg.Add(1)
		go func() { defer wg.Done(); writer(w, id, fmt.Sprintf("v%d", i), a, stop) }()
	}
	defer func() { close(stop); wg.Wait() }()
	select {
	case <-a.reach:
	case <-time.After(wait):
		t.Fatal("writers did not get going")
	}
	before := a.snapshot() // acked before the backup starts
	file := filepath.Join(t.TempDir(), "snap.db")
	code, out, errOut := runBin(t, "", []string{"CHATD_TOKEN=" + token}, "backup", file, "--url", p.url())
	if code != 0 {
		t.Fatalf("online backup: %d %s %s", code, out, errOut)
	}
	if n := len(a.snapshot()); n == len(before) {
		t.Log("no message was acknowledged during the backup")
	}

	// A backup by data dir of a live chatd goes through its control socket, without a token.
	code, out, errOut = runBin(t, "", nil, "backup", filepath.Join(t.TempDir(), "x.db"), "--data", dir)
	if code != 0 || !contains(out, "through "+filepath.Join(dir, "chatd.sock")) {
		t.Fatalf("backup of a live dir by --data: %d %s %s", code, out, errOut)
	}
	// A wrong token is refused.
	if code, _, _ := runBin(t, "", nil, "backup", file+".2", "--url", p.url(), "--token", "nope"); code == 0 {
		t.Fatal("backup with a bad token succeeded")
	}

	// Restore: a new data dir with the file as chatd.db.
	restored := t.TempDir()
	copyFile(t, file, filepath.Join(restored, "chatd.db"))
	if err := seed.Set(restored, "ann", "pw", 4); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, restored)
	checkReplay(t, r.url(), "pw", tokens, before)
	r.stop(t)

	// Offline backup of the restored (stopped) dir works too.
	if code, _, e := runBin(t, "", nil, "backup", filepath.Join(t.TempDir(), "off.db"), "--data", restored); code != 0 {
		t.Fatalf("offline backup: %s", e)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
