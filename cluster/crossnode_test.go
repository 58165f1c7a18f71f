package cluster_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/identity"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/internal/notifytest"
)

const (
	crossHookSecret = "hook-secret-0123456789abcdef"
	crossIDSecret   = "identity-secret-0123456789abcdef0123"
)

// await reads ws until pred accepts a frame; it fails after step.
func await(t *testing.T, ws *chatdtest.WS, what string, pred func(chatdtest.Frame) bool) chatdtest.Frame {
	t.Helper()
	deadline := time.Now().Add(step)
	for {
		f, err := ws.Read(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if pred(f) {
			return f
		}
	}
}

func ofType(typ string) func(chatdtest.Frame) bool {
	return func(f chatdtest.Frame) bool { return f.Type == typ }
}

func dialOn(t *testing.T, nd *node, path string) *chatdtest.WS {
	t.Helper()
	ws, err := chatdtest.DialWS(nd.URL(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// widget returns GET /api/widget of a node.
func widget(t *testing.T, nd *node) (w struct {
	Available    bool `json:"available"`
	AgentsOnline int  `json:"agents_online"`
}) {
	t.Helper()
	res, err := http.Get(nd.URL() + "/api/widget")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&w); err != nil {
		t.Fatal(err)
	}
	return w
}

// eventually polls cond (an HTTP probe) until it holds, failing after step.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(step)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, step)
		}
		time.Sleep(50 * time.Millisecond) // polling an HTTP probe with a deadline
	}
}

// TestCrossNodeState runs three chatd processes and checks that what one
// node learns reaches the sockets of the others: agents online and their
// status (availability, admin:agents), a visitor's e-mail (client:email to
// its tabs, admin:client to every admin), a verified identity's device
// tokens, a logout closing the agent's sockets on another node, one VAPID
// key for the whole cluster, and notifications sent once, not once per node.
func TestCrossNodeState(t *testing.T) {
	hook := notifytest.NewWebhookReceiver(t, crossHookSecret)
	nodes := startCluster(t, 3, "--push-subject", "mailto:ops@shop.test",
		"--webhook-urls", hook.URL+"/hooks/chatd", "--webhook-secret", crossHookSecret,
		"--identity-secret", crossIDSecret)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]

	// One VAPID key for every node (each made its own; the first stored wins).
	var keys [3]string
	eventually(t, "one VAPID key on every node", func() bool {
		for i, nd := range nodes {
			res, err := http.Get(nd.URL() + "/api/push/vapid")
			if err != nil {
				return false
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			keys[i] = string(b)
		}
		return keys[0] != "" && keys[0] == keys[1] && keys[1] == keys[2]
	})

	// Nobody online: a visitor on node 2 is told so.
	if w := widget(t, n2); w.Available || w.AgentsOnline != 0 {
		t.Fatalf("before any agent: %+v", w)
	}
	visitor := dialOn(t, n2, "/ws/client")
	visitor.Send("client:add", map[string]any{"name": "Vic", "token": "", "after": 0})
	idf := await(t, visitor, "client:id", ofType("client:id"))
	var vid struct{ ID, Token string }
	json.Unmarshal(idf.Data, &vid)
	await(t, visitor, "client:replayed", ofType("client:replayed"))

	// An agent opens the portal on node 1: the visitor on node 2 learns it.
	tok := login(t, n1)
	agent := dialOn(t, n1, "/ws/admin")
	agent.Send("admin:add", map[string]any{"token": tok, "after": 0})
	await(t, agent, "admin:replayed", ofType("admin:replayed"))
	av := await(t, visitor, "client:availability (agent came)", ofType("client:availability"))
	if !strings.Contains(string(av.Data), `"available":true`) || !strings.Contains(string(av.Data), `"agents_online":1`) {
		t.Fatalf("availability after the agent came: %s", av.Data)
	}
	eventually(t, "node 3 counts the agent of node 1", func() bool { return widget(t, n3).AgentsOnline == 1 })

	// A second admin socket on node 3 sees the agent connected, and its away.
	watcher := dialOn(t, n3, "/ws/admin")
	watcher.Send("admin:add", map[string]any{"token": tok, "after": 0})
	await(t, watcher, "admin:replayed", ofType("admin:replayed"))
	agent.Send("admin:status", map[string]any{"status": "away"})
	await(t, watcher, "admin:agents with alice away", func(f chatdtest.Frame) bool {
		return f.Type == "admin:agents" && strings.Contains(string(f.Data), `"status":"away"`)
	})
	av = await(t, visitor, "client:availability (agent away)", ofType("client:availability"))
	if !strings.Contains(string(av.Data), `"available":false`) {
		t.Fatalf("availability with the agent away: %s", av.Data)
	}
	agent.Send("admin:status", map[string]any{"status": "online"})
	await(t, visitor, "client:availability (agent back)", func(f chatdtest.Frame) bool {
		return f.Type == "client:availability" && strings.Contains(string(f.Data), `"available":true`)
	})

	// The visitor's second tab is on node 3; its e-mail, left on node 2,
	// reaches both tabs and the admins of nodes 1 and 3.
	tab2 := dialOn(t, n3, "/ws/client")
	tab2.Send("client:add", map[string]any{"name": "Vic", "token": vid.Token, "after": 0})
	await(t, tab2, "client:replayed", ofType("client:replayed"))
	visitor.Send("client:email", map[string]any{"email": "vic@shop.test"})
	for name, ws := range map[string]*chatdtest.WS{"tab on node 2": visitor, "tab on node 3": tab2} {
		await(t, ws, "client:email on the "+name, func(f chatdtest.Frame) bool {
			return f.Type == "client:email" && strings.Contains(string(f.Data), "vic@shop.test")
		})
	}
	for name, ws := range map[string]*chatdtest.WS{"node 1": agent, "node 3": watcher} {
		await(t, ws, "admin:client on "+name, func(f chatdtest.Frame) bool {
			return f.Type == "admin:client" && strings.Contains(string(f.Data), vid.ID) && strings.Contains(string(f.Data), "vic@shop.test")
		})
	}

	// The inbox: the agent on node 1 resolves the conversation and assigns
	// it; the admins of node 3 are told, their counts follow, and node 2
	// lists it under the filter; an agent's seen offset reaches the visitor.
	visitor.Send("client:message", map[string]any{"cid": "m0", "text": "first"})
	m0 := await(t, visitor, "ack of m0", func(f chatdtest.Frame) bool { return f.Type == "client:message" })
	var ack chatdtest.Message
	json.Unmarshal(m0.Data, &ack)
	agent.Send("admin:resolve", map[string]any{"client": vid.ID})
	await(t, watcher, "admin:conversation resolved on node 3", func(f chatdtest.Frame) bool {
		return f.Type == "admin:conversation" && strings.Contains(string(f.Data), `"status":"resolved"`) && strings.Contains(string(f.Data), vid.ID)
	})
	await(t, watcher, "admin:counts with one resolved on node 3", func(f chatdtest.Frame) bool {
		return f.Type == "admin:counts" && strings.Contains(string(f.Data), `"resolved":1`)
	})
	agent.Send("admin:assign", map[string]any{"client": vid.ID, "to": "alice"})
	await(t, watcher, "admin:conversation assigned on node 3", func(f chatdtest.Frame) bool {
		return f.Type == "admin:conversation" && strings.Contains(string(f.Data), `"assignee":"alice"`)
	})
	lister := dialOn(t, n2, "/ws/admin")
	lister.Send("admin:add", map[string]any{"token": tok, "after": 0, "filter": "resolved"})
	lf := await(t, lister, "admin:list on node 2", ofType("admin:list"))
	if !strings.Contains(string(lf.Data), vid.ID) || !strings.Contains(string(lf.Data), `"assignee":"alice"`) {
		t.Fatalf("resolved list on node 2: %s", lf.Data)
	}
	lister.Close()
	agent.Send("admin:seen", map[string]any{"client": vid.ID, "offset": ack.Offset})
	await(t, tab2, "client:seen on the tab of node 3", func(f chatdtest.Frame) bool {
		return f.Type == "client:seen" && strings.Contains(string(f.Data), fmt.Sprintf(`"offset":%d`, ack.Offset))
	})
	// A visitor message reopens it, told on every node.
	visitor.Send("client:message", map[string]any{"cid": "m0b", "text": "one more thing"})
	await(t, watcher, "admin:conversation reopened on node 3", func(f chatdtest.Frame) bool {
		return f.Type == "admin:conversation" && strings.Contains(string(f.Data), `"status":"open"`)
	})
	for range 3 { // the webhooks of these messages (created, message, message), before the count below
		hook.Next(t)
	}

	// One message, one webhook delivery of each event: only the notifier sends.
	visitor.Send("client:message", map[string]any{"cid": "m1", "text": "hello"})
	seen := map[string]int{}
	for range 1 {
		h := hook.Next(t)
		seen[h.Event]++
	}
	select {
	case h := <-hook.Received():
		seen[h.Event]++
		t.Fatalf("a webhook more than once per event: %v (last %s)", seen, h.Body)
	case <-time.After(3 * time.Second): // nothing more: the other nodes stayed silent
	}
	if seen["message.created"] != 1 {
		t.Fatalf("webhooks %v", seen)
	}

	// A verified identity: one visitor on every device, a token per device,
	// whichever node each device reaches.
	hash := identity.Sign(crossIDSecret, "u42")
	claim := map[string]any{"id": "u42", "name": "Uma", "hash": hash}
	var devices [2]struct{ ID, Token string }
	for i, nd := range []*node{n1, n2} {
		ws := dialOn(t, nd, "/ws/client")
		ws.Send("client:add", map[string]any{"name": "Uma", "token": "", "after": 0, "identity": claim})
		f := await(t, ws, "client:id of an identified device", func(f chatdtest.Frame) bool { return f.Type == "client:id" || f.Type == "error" })
		if f.Type == "error" {
			t.Fatalf("identity refused on %s: %s", nd.name, f.Data)
		}
		json.Unmarshal(f.Data, &devices[i])
		ws.Close()
	}
	if devices[0].ID != devices[1].ID || devices[0].Token == devices[1].Token {
		t.Fatalf("devices %+v", devices)
	}
	third := dialOn(t, n3, "/ws/client")
	third.Send("client:add", map[string]any{"name": "Uma", "token": devices[1].Token, "after": 0})
	f := await(t, third, "client:id of a device token on a third node", ofType("client:id"))
	var back struct{ ID string }
	json.Unmarshal(f.Data, &back)
	if back.ID != devices[0].ID {
		t.Fatalf("device token of node 2 on node 3: visitor %s, want %s", back.ID, devices[0].ID)
	}

	// Deleting the visitor through node 1 closes its tabs on nodes 2 and 3.
	del, _ := http.NewRequest("DELETE", n1.URL()+"/api/visitors/"+vid.ID, nil)
	del.Header.Set("Authorization", "Bearer "+tok)
	dres, err := http.DefaultClient.Do(del)
	if err != nil {
		t.Fatal(err)
	}
	dres.Body.Close()
	if dres.StatusCode/100 != 2 {
		t.Fatalf("delete visitor: %d", dres.StatusCode)
	}
	for name, ws := range map[string]*chatdtest.WS{"tab on node 2": visitor, "tab on node 3": tab2} {
		closedWith(t, name, ws, 1008, "visitor_deleted")
	}

	// Logout on node 2 ends the agent's sockets on nodes 1 and 3 at once.
	req, _ := http.NewRequest("POST", n2.URL()+"/api/logout", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	for name, ws := range map[string]*chatdtest.WS{"node 1": agent, "node 3": watcher} {
		closedWith(t, name, ws, 1008, "unauthorized")
	}
	eventually(t, "no agent online after the logout", func() bool { return widget(t, n2).AgentsOnline == 0 })
}

// closedWith reads ws until it is closed with code, failing on an error
// frame without want in it or on no close within step.
func closedWith(t *testing.T, name string, ws *chatdtest.WS, code int, want string) {
	t.Helper()
	deadline := time.Now().Add(step)
	for {
		f, err := ws.Read(time.Until(deadline))
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != code {
				t.Fatalf("%s: closed with %d, want %d", name, ce.Code, code)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: socket not closed: %v", name, err)
		}
		if f.Type == "error" && !strings.Contains(string(f.Data), want) {
			t.Fatalf("%s: %s", name, f.Data)
		}
	}
}
