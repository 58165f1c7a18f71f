package hub

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chatd/chatd/store"
)

// Notes, typing, seen and viewers on the wire. Every visitor socket here
// returns every quiet event (watch "*") and is checked with a sentinel: the
// next frame it gets after the others acted must be the sentinel reply, so
// a note, a typing preview or another visitor's state reaching it fails.
func TestInboxLiveScenarios(t *testing.T) {
	add := func(name string) string {
		return `{"type":"client:add","data":{"name":"` + name + `","token":"","after":0}}`
	}
	restore := func(sock, after string) string {
		return `{"type":"client:add","data":{"name":"x","token":"$` + sock + `.token","after":` + after + `}}`
	}
	cmsg := func(cid, text string) string {
		return `{"type":"client:message","data":{"cid":"` + cid + `","text":"` + text + `"}}`
	}
	amsg := func(to, cid, text string) string {
		return `{"type":"admin:message","data":{"client":"` + to + `","cid":"` + cid + `","text":"` + text + `"}}`
	}
	note := func(to, cid, text string) string {
		return `{"type":"admin:note","data":{"client":"` + to + `","cid":"` + cid + `","text":"` + text + `"}}`
	}
	ack := func(typ, cid string) string { return `{"type":"` + typ + `","data":{"cid":"` + cid + `"}}` }
	adminAdd := func(tok string) string {
		return `{"type":"admin:add","data":{"token":"` + tok + `","after":0}}`
	}
	errCID := func(code, cid string) string {
		return `{"type":"error","data":{"code":"` + code + `","cid":"` + cid + `"}}`
	}
	replay := func(msgs string) []string {
		return []string{`{"type":"client:id"}`, `{"type":"client:messages","data":` + msgs + `}`, `{"type":"client:replayed"}`, `{"type":"client:seen"}`}
	}
	// noSecret fails if any frame a visitor socket got held the note's text.
	noSecret := func(socks ...string) step {
		return step{do: func(s *tstate) {
			for _, name := range socks {
				if w := s.socks[name]; w != nil && strings.Contains(w.seen.String(), "secret") {
					s.t.Fatalf("visitor socket %s received a note: %s", name, w.seen.String())
				}
			}
		}}
	}
	watchAdmin := []string{evAdminTyping, evAdminSeen, evAdminViewers}
	base := []step{
		{on: "alice", dial: "/ws/admin", watch: watchAdmin, send: adminAdd(adminToken), want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
		{on: "bob", dial: "/ws/admin", watch: watchAdmin, send: adminAdd("bob-token"), want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
		{on: "v", dial: "/ws/client", watch: []string{"*"}, send: add("Ann"), want: replay(`[]`)},
		{on: "w", dial: "/ws/client", watch: []string{"*"}, send: add("Wes"), want: replay(`[]`)},
		{on: "v2", dial: "/ws/client", watch: []string{"*"}, send: restore("v", "0"), want: replay(`[]`)},
		{on: "alice", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id"}}`, `{"type":"admin:client_status","data":{"id":"$w.id"}}`}},
		{on: "bob", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id"}}`, `{"type":"admin:client_status","data":{"id":"$w.id"}}`}},
		{on: "v", send: cmsg("a1", "hello"), want: []string{ack("client:message", "a1")}},
		{on: "v2", want: []string{ack("client:message", "a1")}},
		{on: "alice", want: []string{ack("admin:message", "a1")}},
		{on: "bob", want: []string{ack("admin:message", "a1")}},
	}
	sentinel := func(cid string, socks ...string) []step {
		out := []step{{on: "alice", send: amsg("$v.id", cid, "sentinel"), want: []string{ack("admin:message", cid)}}}
		for _, s := range socks {
			out = append(out, step{on: s, want: []string{ack("client:message", cid)}})
		}
		return out
	}
	scenarios := []scenario{
		{name: "a note reaches the agents only: live, replay, history, duplicate cids", setup: seedAgents, steps: seq(base, []step{
			{on: "alice", send: note("$v.id", "n1", "secret note"), want: []string{`{"type":"admin:message","data":{"cid":"n1","note":true,"from":"admin","admin":"alice","text":"secret note"}}`}},
			{on: "bob", want: []string{`{"type":"admin:message","data":{"cid":"n1","note":true}}`}},
			{on: "alice", send: note("$v.id", "n1", "secret again"), want: []string{`{"type":"admin:message","data":{"cid":"n1","note":true,"text":"secret note","offset":$off.n1}}`}, note: "a re-sent note answers its sender"},
			{on: "alice", send: amsg("$v.id", "n1", "a reply with the note's cid"), want: []string{errCID("bad_request", "n1")}},
			{on: "v", send: cmsg("n1", "my cid"), want: []string{errCID("bad_request", "n1")}, note: "the note's cid is taken, nothing of it is told"},
			{on: "alice", send: note("$v.id", "", "no cid"), want: []string{`{"type":"error","data":{"code":"bad_request"}}`}},
			{on: "alice", send: note("$v.id", "n2", "   "), want: []string{errCID("bad_request", "n2")}},
			{on: "alice", send: note("nobody", "n3", "secret"), want: []string{errCID("not_found", "n3")}},
			{on: "v", send: note("$v.id", "n4", "secret"), want: []string{`{"type":"error","data":{"code":"unknown_type"}}`}},
			{on: "alice", send: note("$v.id", "n5", "secret two"), want: []string{ack("admin:message", "n5")}},
		}, sentinel("r1", "v", "v2"), []step{
			{on: "w", send: cmsg("w1", "other visitor"), want: []string{ack("client:message", "w1")}, note: "w got nothing before its own ack"},
			{on: "v3", dial: "/ws/client", watch: []string{"*"}, send: restore("v", "0"), want: replay(`[{"cid":"a1"},{"cid":"r1"}]`)},
			{on: "v4", dial: "/ws/client", watch: []string{"*"}, send: restore("v", "$off.a1"), want: replay(`[{"cid":"r1"}]`)},
			{on: "v5", dial: "/ws/client", watch: []string{"*"}, send: restore("v", "$off.n1"), want: replay(`[{"cid":"r1"}]`), note: "a cursor on a note's offset"},
			{on: "v6", dial: "/ws/client", watch: []string{"*"}, send: `{"type":"client:add","data":{"name":"x","token":"$v.token","after":0,"epoch":"other"}}`, want: replay(`[{"cid":"a1"},{"cid":"r1"}]`), note: "a resync replays no note either"},
			{on: "v3", send: `{"type":"client:history","data":{"before":0,"limit":1}}`, want: []string{`{"type":"client:history","data":{"messages":[{"cid":"r1"}],"more":true}}`}},
			{on: "v3", send: `{"type":"client:history","data":{"before":$off.r1,"limit":1}}`, want: []string{`{"type":"client:history","data":{"messages":[{"cid":"a1"}],"more":false}}`}, note: "the notes between are skipped, not counted"},
			{on: "v3", send: `{"type":"client:history","data":{"client":"$v.id","before":0}}`, want: []string{`{"type":"client:history","data":{"messages":[{"cid":"a1"},{"cid":"r1"}],"more":false}}`}},
			{on: "carol", dial: "/ws/admin", send: adminAdd(adminToken), want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages","data":[{"cid":"a1"},{"cid":"n1","note":true},{"cid":"n5","note":true},{"cid":"r1"},{"cid":"w1"}]}`, `{"type":"admin:replayed"}`}},
			{on: "carol", send: `{"type":"admin:history","data":{"client":"$v.id"}}`, want: []string{`{"type":"admin:history","data":{"messages":[{"cid":"a1"},{"cid":"n1"},{"cid":"n5"},{"cid":"r1"}]}}`}},
			noSecret("v", "v2", "v3", "v4", "v5", "v6", "w"),
		})},
		{name: "typing both ways, without a preview when it is off", setup: seedAgents, steps: seq(base, []step{
			{on: "v", send: `{"type":"client:typing","data":{"typing":true,"text":"secret draft"}}`},
			{on: "alice", want: []string{`{"type":"admin:typing","data":{"client":"$v.id","from":"client","typing":true}}`}},
			{on: "bob", want: []string{`{"type":"admin:typing","data":{"client":"$v.id","from":"client","typing":true}}`}},
			{on: "alice", send: `{"type":"admin:typing","data":{"client":"$v.id","typing":true}}`},
			{on: "bob", want: []string{`{"type":"admin:typing","data":{"client":"$v.id","from":"admin","admin":"alice","display":"alice","typing":true}}`}, note: "agents see the login of an agent without a display name, as in admin:agents; visitors see Support"},
			{on: "v", want: []string{`{"type":"client:typing","data":{"typing":true,"admin":"Support"}}`}},
			{on: "v2", want: []string{`{"type":"client:typing","data":{"typing":true,"admin":"Support"}}`}},
			{on: "alice", send: `{"type":"admin:typing","data":{"client":"nobody","typing":true}}`, want: []string{`{"type":"error","data":{"code":"not_found"}}`}},
			{on: "alice", send: `{"type":"admin:typing","data":{"client":"$v.id"}}`, want: []string{`{"type":"error","data":{"code":"bad_request"}}`}},
			{on: "v", send: `{"type":"client:typing","data":{"typing":"yes"}}`, want: []string{`{"type":"error","data":{"code":"bad_request"}}`}},
			{on: "v", send: `{"type":"client:typing","data":{"typing":true,"text":"` + big(4097) + `"}}`, want: []string{`{"type":"error","data":{"code":"too_large"}}`}},
			{on: "v", send: cmsg("a2", "sent"), want: []string{ack("client:message", "a2")}, note: "a message ends the visitor's typing"},
			{on: "v2", want: []string{ack("client:message", "a2")}},
			{on: "alice", want: []string{ack("admin:message", "a2")}, note: "alice got no typing of her own"},
			{on: "bob", want: []string{ack("admin:message", "a2")}},
			{on: "w", send: cmsg("w1", "x"), want: []string{ack("client:message", "w1")}, note: "another visitor got nothing"},
			{do: func(s *tstate) {
				for _, name := range []string{"alice", "bob"} {
					if got := s.socks[name].seen.String(); strings.Contains(got, "secret") || strings.Contains(got, "preview") {
						s.t.Fatalf("%s got a preview while previews are off: %s", name, got)
					}
				}
				for _, name := range []string{"v", "v2", "w"} {
					if got := s.socks[name].seen.String(); strings.Contains(got, "alice") {
						s.t.Fatalf("visitor socket %s saw the agent's login: %s", name, got)
					}
				}
			}},
		})},
		{name: "typing previews when the operator turned them on", cfg: Config{TypingPreview: true}, setup: seedAgents, steps: seq(base, []step{
			{on: "v", send: `{"type":"client:typing","data":{"typing":true,"text":"<b>draft</b>"}}`},
			{on: "alice", want: []string{`{"type":"admin:typing","data":{"client":"$v.id","from":"client","typing":true,"preview":"<b>draft</b>"}}`}},
			{on: "alice", send: `{"type":"admin:typing","data":{"client":"$v.id","typing":true,"text":"agent draft"}}`},
			{on: "v", want: []string{`{"type":"client:typing","data":{"typing":true,"admin":"Support"}}`}},
			{do: func(s *tstate) {
				if got := s.socks["v"].seen.String(); strings.Contains(got, "agent draft") {
					s.t.Fatalf("an agent's draft reached the visitor: %s", got)
				}
			}},
		})},
		{name: "seen offsets both ways", setup: seedAgents, steps: seq(base, []step{
			{on: "alice", send: note("$v.id", "n1", "secret note"), want: []string{ack("admin:message", "n1")}},
			{on: "alice", send: `{"type":"admin:seen","data":{"client":"$v.id","offset":$off.a1}}`, want: []string{`{"type":"admin:seen","data":{"client":"$v.id","agent_seen":$off.a1,"visitor_seen":0}}`}},
			{on: "bob", want: []string{ack("admin:message", "n1"), `{"type":"admin:seen","data":{"client":"$v.id","agent_seen":$off.a1}}`}},
			{on: "v", want: []string{`{"type":"client:seen","data":{"offset":$off.a1}}`}},
			{on: "v2", want: []string{`{"type":"client:seen","data":{"offset":$off.a1}}`}},
			{on: "alice", send: `{"type":"admin:seen","data":{"client":"$v.id","offset":1}}`, note: "going back changes nothing"},
			{on: "alice", send: `{"type":"admin:seen","data":{"client":"$v.id","offset":999999}}`, want: []string{`{"type":"admin:seen","data":{"client":"$v.id","agent_seen":$off.n1}}`}, note: "capped at the conversation's last message"},
			// The agents' seen moved onto the note: nothing the visitor may see moved, so
			// it gets no client:seen (neither the note's offset nor a repeat of a1): the
			// sentinel below must be the next frame of v and v2.
			{on: "alice", send: `{"type":"admin:seen","data":{"client":"$v.id"}}`, want: []string{`{"type":"error","data":{"code":"bad_request"}}`}},
			{on: "alice", send: `{"type":"admin:seen","data":{"client":"nobody","offset":1}}`, want: []string{`{"type":"error","data":{"code":"not_found"}}`}},
		}, sentinel("r1", "v", "v2"), []step{
			{on: "v3", dial: "/ws/client", watch: []string{"*"}, send: restore("v", "0"), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`, `{"type":"client:seen","data":{"offset":$off.a1}}`}},
			{on: "w", send: cmsg("w1", "x"), want: []string{ack("client:message", "w1")}, note: "another visitor got nothing"},
			noSecret("v", "v2", "v3", "w"),
		})},
		{name: "who is viewing", setup: seedAgents, steps: seq(base, []step{
			{on: "alice", send: `{"type":"admin:view","data":{"client":"$v.id"}}`, want: []string{`{"type":"admin:viewers","data":{"client":"$v.id","admins":["alice"]}}`}},
			{on: "bob", want: []string{`{"type":"admin:viewers","data":{"client":"$v.id","admins":["alice"]}}`}},
			{on: "bob", send: `{"type":"admin:view","data":{"client":"$v.id"}}`, want: []string{`{"type":"admin:viewers","data":{"client":"$v.id","admins":["alice","bob"]}}`}},
			{on: "alice", want: []string{`{"type":"admin:viewers","data":{"client":"$v.id","admins":["alice","bob"]}}`}},
			{on: "late", dial: "/ws/admin", watch: []string{evAdminViewers}, send: adminAdd(adminToken), want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`,
				`{"type":"admin:viewers","data":{"client":"$v.id","admins":["alice","bob"]}}`}},
			{on: "late", send: `{"type":"admin:view","data":{"client":"$v.id"}}`, note: "a second alice socket: the set is unchanged, nothing is sent"},
			{on: "late", send: `{"type":"admin:view","data":{}}`, want: []string{`{"type":"error","data":{"code":"bad_request"}}`}, note: "a round trip: the view above is done"},
			{on: "alice", send: `{"type":"admin:view","data":{"client":"$w.id"}}`, want: []string{`{"type":"admin:viewers","data":{"client":"$w.id","admins":["alice"]}}`}},
			{on: "bob", want: []string{`{"type":"admin:viewers","data":{"client":"$w.id","admins":["alice"]}}`}, note: "alice still views v on her other socket"},
			{on: "bob", close: true},
			{on: "alice", want: []string{`{"type":"admin:viewers","data":{"client":"$v.id","admins":["alice"]}}`}},
			{on: "alice", send: `{"type":"admin:view","data":{"client":""}}`, want: []string{`{"type":"admin:viewers","data":{"client":"$w.id","admins":[]}}`}},
			{on: "late", close: true},
			{on: "alice", want: []string{`{"type":"admin:viewers","data":{"client":"$v.id","admins":[]}}`}},
			{on: "alice", send: `{"type":"admin:view","data":{"client":"nobody"}}`, want: []string{`{"type":"error","data":{"code":"not_found"}}`}},
			{on: "alice", send: `{"type":"admin:view","data":{}}`, want: []string{`{"type":"error","data":{"code":"bad_request"}}`}},
		}, sentinel("r1", "v", "v2"), []step{
			{on: "w", send: cmsg("w1", "x"), want: []string{ack("client:message", "w1")}},
		})},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}

// A burst of typing changes is thinned out, and the last state always arrives.
func TestTypingThrottledLastStateArrives(t *testing.T) {
	ts := startServer(t, Config{TypingPreview: true})
	ts.seedAgents()
	alice, _ := ts.adminAs("alice", adminToken, "", evAdminTyping)
	v, id, _ := ts.visitor("v", "Ann", "", 0)
	const sent = 60
	for i := 0; i < sent; i++ {
		v.send(evClientTyping, map[string]any{"typing": true, "text": strings.Repeat("x", i+1)})
	}
	v.send(evClientTyping, map[string]any{"typing": false})
	got := 0
	type typing struct {
		Client string `json:"client"`
		Typing bool   `json:"typing"`
	}
	anyTyping := func(typing) bool { return true }
	for {
		e := nextOf(alice, evAdminTyping, anyTyping)
		got++
		if e.Client != id.ID {
			t.Fatalf("typing of %s", e.Client)
		}
		if !e.Typing {
			break
		}
	}
	if got >= sent/2 {
		t.Fatalf("%d of %d typing events forwarded: not throttled", got, sent+1)
	}
	// A visitor whose last socket closes while typing is told as stopped.
	v.send(evClientTyping, map[string]any{"typing": true})
	nextOf(alice, evAdminTyping, func(e typing) bool { return e.Typing })
	v.close()
	if e := nextOf(alice, evAdminTyping, anyTyping); e.Typing {
		t.Fatal("no stop after the visitor left")
	}
}

// An agent whose last socket closes while typing is told as stopped.
func TestAgentTypingEndsWhenAgentLeaves(t *testing.T) {
	ts := startServer(t, Config{})
	ts.seedAgents()
	v, id, _ := ts.visitor("v", "Ann", "", 0)
	v.watch(evClientTyping)
	alice, _ := ts.adminAs("alice", adminToken, "")
	alice.send(evAdminTyping, map[string]any{"client": id.ID, "typing": true})
	var e clientTypingEvent
	v.expect(evClientTyping, &e)
	if !e.Typing {
		t.Fatal(e)
	}
	alice.drop()
	v.expect(evClientTyping, &e)
	if e.Typing || e.Admin != store.DefaultDisplay {
		t.Fatalf("after the agent left: %+v", e)
	}
}

// Notes are skipped before the replay's cap and the history's limit count.
func TestNotesDoNotShortenVisitorPages(t *testing.T) {
	ts := startServer(t, Config{})
	ts.seedAgents()
	v, id, _ := ts.visitor("v", "Ann", "", 0)
	v.send(evClientMessage, msg("first", "first"))
	v.expectMessage(evClientMessage, "first")
	ctx := t.Context()
	for i := 0; i < replayCap+5; i++ {
		if _, _, err := ts.st.AddMessage(ctx, store.NewMessage{Client: id.ID, From: store.FromAdmin, Admin: "alice", CID: fmt.Sprintf("n%d", i), Text: "secret", Note: true}); err != nil {
			t.Fatal(err)
		}
	}
	w, _, msgs := ts.visitor("v2", "x", id.Token, 0)
	if len(msgs) != 1 || msgs[0].CID != "first" {
		t.Fatalf("replay %+v", msgs)
	}
	w.send(evClientHistory, map[string]any{"before": 0, "limit": 1})
	var h historyReply
	w.expect(evClientHistory, &h)
	if len(h.Messages) != 1 || h.Messages[0].CID != "first" || h.More {
		t.Fatalf("history %+v", h)
	}
	b, _ := json.Marshal(h)
	if strings.Contains(string(b), "secret") {
		t.Fatal(string(b))
	}
}
