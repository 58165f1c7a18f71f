package hub

import (
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/chatd/chatd/store"
)

// convData is admin:conversation as a test reads it.
type convData struct {
	Client      string  `json:"client"`
	Status      string  `json:"status"`
	SnoozeUntil *string `json:"snooze_until"`
	Assignee    string  `json:"assignee"`
	VisitorSeen uint64  `json:"visitor_seen"`
	AgentSeen   uint64  `json:"agent_seen"`
	Updated     string  `json:"updated"`
	By          *string `json:"by"`
}

func TestInboxScenarios(t *testing.T) {
	add := func(name string) string {
		return `{"type":"client:add","data":{"name":"` + name + `","token":"","after":0}}`
	}
	cmsg := func(cid string) string {
		return `{"type":"client:message","data":{"cid":"` + cid + `","text":"hello ` + cid + `"}}`
	}
	adminAdd := func(tok, filter string) string {
		return `{"type":"admin:add","data":{"token":"` + tok + `","after":0,"filter":"` + filter + `"}}`
	}
	req := func(typ, extra string) string {
		return `{"type":"admin:` + typ + `","data":{"client":"$v.id"` + extra + `}}`
	}
	conv := func(fields string) string {
		return `{"type":"admin:conversation","data":{"client":"$v.id",` + fields + `}}`
	}
	errCID := func(code, cid string) string {
		return `{"type":"error","data":{"code":"` + code + `","cid":"` + cid + `"}}`
	}
	ack := func(typ, cid string) string { return `{"type":"` + typ + `","data":{"cid":"` + cid + `"}}` }
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	watchConv := []string{evAdminConversation}
	agents := []step{
		{on: "alice", dial: "/ws/admin", watch: watchConv, send: adminAdd(adminToken, ""), want: []string{`{"type":"admin:list","data":[]}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
		{on: "bob", dial: "/ws/admin", watch: watchConv, send: adminAdd("bob-token", ""), want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
		// The visitor's socket returns every quiet event: it must never get one.
		{on: "v", dial: "/ws/client", watch: []string{"*"}, send: add("Ann"), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`, `{"type":"client:seen","data":{"offset":0}}`}},
		{on: "alice", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id"}}`}},
		{on: "bob", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id"}}`}},
		{on: "v", send: cmsg("a1"), want: []string{ack("client:message", "a1")}},
		{on: "alice", want: []string{ack("admin:message", "a1"), conv(`"status":"open","assignee":"","by":""`)}, note: "the first message starts the conversation"},
		{on: "bob", want: []string{ack("admin:message", "a1"), conv(`"status":"open","by":""`)}},
	}
	scenarios := []scenario{
		{name: "resolve, reopen by the visitor, assign, snooze: every agent sees each change", setup: seedAgents, steps: seq(agents, []step{
			{on: "alice", send: req("resolve", `,"cid":"x1"`), want: []string{conv(`"status":"resolved","by":"alice"`)}},
			{on: "bob", want: []string{conv(`"status":"resolved","by":"alice"`)}},
			{on: "alice", send: req("resolve", ``), want: []string{conv(`"status":"resolved","by":"alice"`)}, note: "no change: the sender alone is answered"},
			{on: "v", send: cmsg("a2"), want: []string{ack("client:message", "a2")}},
			{on: "alice", want: []string{ack("admin:message", "a2"), conv(`"status":"open","by":""`)}, note: "a visitor message reopens"},
			{on: "bob", want: []string{ack("admin:message", "a2"), conv(`"status":"open","by":""`)}, note: "bob never got the unchanged resolve"},
			{on: "bob", send: req("assign", `,"to":"bob"`), want: []string{conv(`"assignee":"bob","by":"bob"`)}},
			{on: "alice", want: []string{conv(`"assignee":"bob","by":"bob"`)}},
			{on: "alice", send: req("assign", `,"to":"mallory","cid":"q1"`), want: []string{errCID("bad_request", "q1")}},
			{on: "alice", send: req("assign", `,"cid":"q2"`), want: []string{errCID("bad_request", "q2")}},
			{on: "alice", send: req("assign", `,"to":5,"cid":"q3"`), want: []string{errCID("bad_request", "q3")}},
			{on: "alice", send: req("snooze", `,"until":"tomorrow","cid":"q4"`), want: []string{errCID("bad_request", "q4")}},
			{on: "alice", send: req("snooze", `,"until":"2001-01-01T00:00:00Z","cid":"q5"`), want: []string{errCID("bad_request", "q5")}},
			{on: "alice", send: req("snooze", `,"cid":"q6"`), want: []string{errCID("bad_request", "q6")}},
			{on: "alice", send: `{"type":"admin:resolve","data":{"client":"nobody","cid":"q7"}}`, want: []string{errCID("not_found", "q7")}},
			{on: "alice", send: `{"type":"admin:resolve","data":{"cid":"q8"}}`, want: []string{errCID("bad_request", "q8")}},
			{on: "alice", send: `{"type":"admin:reopen","data":"$v.id"}`, want: []string{`{"type":"error","data":{"code":"bad_request"}}`}},
			{on: "v", send: `{"type":"admin:resolve","data":{"client":"$v.id"}}`, want: []string{`{"type":"error","data":{"code":"unknown_type"}}`}, note: "a visitor cannot change its state"},
			{on: "alice", send: req("snooze", `,"until":"`+until+`"`), want: []string{conv(`"status":"snoozed","snooze_until":"` + until[:19] + `.000Z","assignee":"bob","by":"alice"`)}},
			{on: "bob", want: []string{conv(`"status":"snoozed","by":"alice"`)}},
			{on: "v", send: cmsg("a3"), want: []string{ack("client:message", "a3")}},
			{on: "alice", want: []string{ack("admin:message", "a3"), conv(`"status":"open","snooze_until":null,"assignee":"bob","by":""`)}, note: "a visitor message ends a snooze, the assignee stays"},
			{on: "bob", want: []string{ack("admin:message", "a3"), conv(`"status":"open","by":""`)}},
			{on: "bob", send: req("reopen", ``), want: []string{conv(`"status":"open","by":"bob"`)}, note: "already open: bob alone"},
			{on: "bob", send: req("assign", `,"to":""`), want: []string{conv(`"assignee":"","by":"bob"`)}},
			{on: "alice", want: []string{conv(`"assignee":"","by":"bob"`)}},
			{on: "alice", send: `{"type":"admin:message","data":{"client":"$v.id","cid":"r1","text":"sentinel"}}`, want: []string{ack("admin:message", "r1")}},
			{on: "v", want: []string{ack("client:message", "r1")}, note: "the visitor got no inbox event before the reply"},
			{on: "late", dial: "/ws/admin", watch: []string{evAdminCounts}, send: adminAdd(adminToken, ""), want: []string{
				`{"type":"admin:list","data":[{"id":"$v.id","status":"open","assignee":"","snooze_until":null,"last":$off.r1}]}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`,
				`{"type":"admin:counts","data":{"all":1,"open":1,"resolved":0,"snoozed":0,"mine":0,"unassigned":1}}`}},
		})},
		{name: "filters on admin:add and admin:visitors", setup: seedAgents, steps: seq(agents, []step{
			{on: "alice", send: req("resolve", ``), want: []string{conv(`"status":"resolved"`)}},
			{on: "w", dial: "/ws/client", send: add("Bob"), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "f1", dial: "/ws/admin", send: adminAdd(adminToken, "resolved"), want: []string{`{"type":"admin:list","data":[{"id":"$v.id","status":"resolved"}]}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed","data":{"list_more":false}}`}},
			{on: "f2", dial: "/ws/admin", send: adminAdd(adminToken, "open"), want: []string{`{"type":"admin:list","data":[]}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
			{on: "f3", dial: "/ws/admin", send: adminAdd(adminToken, "all"), want: []string{`{"type":"admin:list","data":[{"id":"$v.id"},{"id":"$w.id","status":""}]}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}, note: "a visitor who never wrote has no conversation"},
			{on: "f3", send: `{"type":"admin:visitors","data":{"before":"","limit":1,"filter":"resolved"}}`, want: []string{`{"type":"admin:visitors","data":{"visitors":[{"id":"$v.id"}],"more":false}}`}},
			{on: "f3", send: `{"type":"admin:visitors","data":{"before":"","filter":"mine"}}`, want: []string{`{"type":"admin:visitors","data":{"visitors":[],"more":false}}`}},
			{on: "f3", send: `{"type":"admin:visitors","data":{"before":"","filter":"closed"}}`, want: []string{`{"type":"error","data":{"code":"bad_request"}}`}},
			{on: "f4", dial: "/ws/admin", send: adminAdd(adminToken, "spam"), want: []string{`{"type":"error","data":{"code":"bad_request"}}`}},
			{on: "f4", send: adminAdd(adminToken, "unassigned"), want: []string{`{"type":"admin:list","data":[]}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
		})},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}

// seedAgents puts the agents of the test tokens, alice and bob, in the
// store, as the seed file would (assignments name known agents).
func (ts *testServer) seedAgents() {
	ts.t.Helper()
	if err := ts.st.ReseedAdmins([]store.Admin{{Name: "alice", Hash: "-"}, {Name: "bob", Hash: "-"}}); err != nil {
		ts.t.Fatal(err)
	}
}

func seedAgents(s *tstate) { s.ts.seedAgents() }

func seq(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// nextOf reads frames of w until one of type typ whose data satisfies ok.
func nextOf[T any](w *ws, typ string, ok func(T) bool) T {
	w.t.Helper()
	for {
		f := w.next()
		if f.Type != typ {
			continue
		}
		var v T
		if err := json.Unmarshal(f.Data, &v); err != nil {
			w.t.Fatalf("%s: decode %s: %v", w.name, f.raw, err)
		}
		if ok(v) {
			return v
		}
		w.t.Logf("%s: passing over %s", w.name, f.raw)
	}
}

// adminAs opens an admin socket with token and filter, watching the quiet events watch.
func (ts *testServer) adminAs(name, token, filter string, watch ...string) (*ws, []listRow) {
	ts.t.Helper()
	w := ts.dial(name, "/ws/admin", nil)
	if len(watch) > 0 {
		w.watch(watch...)
	}
	w.send(evAdminAdd, map[string]any{"token": token, "after": 0, "filter": filter})
	var list []listRow
	w.expect(evAdminList, &list)
	w.replayAll(evAdminMessages, evAdminReplayed)
	return w, list
}

func TestCountsFollowChanges(t *testing.T) {
	ts := startServer(t, Config{})
	ts.seedAgents()
	alice, _ := ts.adminAs("alice", adminToken, "", evAdminCounts)
	want := func(c store.Counts) {
		t.Helper()
		nextOf(alice, evAdminCounts, func(got store.Counts) bool { return got == c })
	}
	want(store.Counts{})
	v, id, _ := ts.visitor("v", "Ann", "", 0)
	want(store.Counts{All: 1})
	v.send(evClientMessage, msg("a1", "hi"))
	want(store.Counts{All: 1, Open: 1, Unassigned: 1})
	alice.send("admin:assign", map[string]any{"client": id.ID, "to": "alice"})
	want(store.Counts{All: 1, Open: 1, Mine: 1})
	alice.send("admin:resolve", map[string]any{"client": id.ID})
	want(store.Counts{All: 1, Resolved: 1})
	alice.send("admin:snooze", map[string]any{"client": id.ID, "until": time.Now().Add(time.Hour).Format(time.RFC3339)})
	want(store.Counts{All: 1, Snoozed: 1})
	// Bob's counts differ in "mine" only.
	bob, _ := ts.adminAs("bob", "bob-token", "", evAdminCounts)
	nextOf(bob, evAdminCounts, func(got store.Counts) bool { return got == store.Counts{All: 1, Snoozed: 1} })
	v.send(evClientMessage, msg("a2", "back"))
	want(store.Counts{All: 1, Open: 1, Mine: 1})
	nextOf(bob, evAdminCounts, func(got store.Counts) bool { return got == store.Counts{All: 1, Open: 1} })
}

func TestSnoozeEndsByItself(t *testing.T) {
	ts := startServer(t, Config{})
	ts.seedAgents()
	alice, _ := ts.adminAs("alice", adminToken, "", evAdminConversation)
	v, id, _ := ts.visitor("v", "Ann", "", 0)
	v.send(evClientMessage, msg("a1", "hi"))
	nextOf(alice, evAdminConversation, func(c convData) bool { return c.Status == store.StatusOpen })
	// A snooze of one second: waited for as an event, with the test's deadline.
	alice.send("admin:snooze", map[string]any{"client": id.ID, "until": time.Now().Add(time.Second).Format(time.RFC3339Nano)})
	nextOf(alice, evAdminConversation, func(c convData) bool { return c.Status == store.StatusSnoozed })
	c := nextOf(alice, evAdminConversation, func(c convData) bool { return true })
	if c.Status != store.StatusOpen || c.By == nil || *c.By != "" || c.SnoozeUntil != nil {
		t.Fatalf("after the snooze: %+v", c)
	}
	if got, _ := ts.st.Conversation(id.ID); got.Status != store.StatusOpen {
		t.Fatalf("stored: %+v", got)
	}
}

func TestAutoAssignRoundRobinWithLimit(t *testing.T) {
	ts := startServer(t, Config{AutoAssign: true, AssignLimit: 1})
	ts.seedAgents()
	alice, _ := ts.adminAs("alice", adminToken, "", evAdminConversation)
	ts.adminAs("bob", "bob-token", "")
	assigned := func(id string) string {
		t.Helper()
		c := nextOf(alice, evAdminConversation, func(c convData) bool { return c.Client == id && c.Assignee != "" })
		return c.Assignee
	}
	var ids []string
	var socks []*ws
	for _, name := range []string{"v1", "v2", "v3"} {
		v, id, _ := ts.visitor(name, name, "", 0)
		ids, socks = append(ids, id.ID), append(socks, v)
	}
	socks[0].send(evClientMessage, msg("m", "one"))
	first := assigned(ids[0])
	socks[1].send(evClientMessage, msg("m", "two"))
	second := assigned(ids[1])
	got := []string{first, second}
	sort.Strings(got)
	if got[0] != "alice" || got[1] != "bob" {
		t.Fatalf("round robin gave %v", got)
	}
	// Both agents are at their limit: the third stays unassigned.
	socks[2].send(evClientMessage, msg("m", "three"))
	c := nextOf(alice, evAdminConversation, func(c convData) bool { return c.Client == ids[2] })
	if c.Assignee != "" || c.Status != store.StatusOpen {
		t.Fatalf("third: %+v", c)
	}
	// alice resolves hers: the third visitor's next message goes to her.
	mine := ids[0]
	if first != "alice" {
		mine = ids[1]
	}
	alice.send("admin:resolve", map[string]any{"client": mine})
	nextOf(alice, evAdminConversation, func(c convData) bool { return c.Client == mine && c.Status == store.StatusResolved })
	socks[2].send(evClientMessage, msg("m2", "still there?"))
	if a := assigned(ids[2]); a != "alice" {
		t.Fatalf("third went to %s", a)
	}
}
