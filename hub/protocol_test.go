package hub

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/store"
)

// step is one move of a protocol scenario, on the socket named on.
type step struct {
	on     string        // socket name
	dial   string        // open socket on at this path first
	watch  []string      // with dial: quiet events this socket returns ("*": all of them)
	send   string        // frame to send ($vars expanded)
	want   []string      // next frames on on, each a JSON subset ($vars expanded)
	close  bool          // close on with a close frame
	drop   bool          // cut on's TCP connection, no close frame
	closed int           // on must now be closed with this code
	vsocks int           // wait until the hub counts this many visitor sockets (-1: skip)
	do     func(*tstate) // arbitrary check or action
	note   string        // for failure messages
}

// tstate is a running scenario: sockets by name and captured variables:
// NAME.id / NAME.token from client:id, off.CID from stored messages.
type tstate struct {
	t     *testing.T
	ts    *testServer
	socks map[string]*ws
	vars  map[string]string
}

type scenario struct {
	name     string
	cfg      Config
	limits   *store.Limits // store limits; nil: the defaults
	steps    []step
	presence bool // sockets see admin:agents and client:availability
	setup    func(*tstate)
}

func big(n int) string { return strings.Repeat("x", n) }

func TestProtocolScenarios(t *testing.T) {
	add := func(name string) string {
		return `{"type":"client:add","data":{"name":"` + name + `","token":"","after":0}}`
	}
	restore := func(sock string, after string) string {
		return `{"type":"client:add","data":{"name":"x","token":"$` + sock + `.token","after":` + after + `}}`
	}
	cmsg := func(cid, text string) string {
		return `{"type":"client:message","data":{"cid":"` + cid + `","text":"` + text + `"}}`
	}
	amsg := func(to, cid, text string) string {
		return `{"type":"admin:message","data":{"client":"` + to + `","cid":"` + cid + `","text":"` + text + `"}}`
	}
	adminAdd := `{"type":"admin:add","data":{"token":"` + adminToken + `","after":0}}`
	errf := func(code string) string { return `{"type":"error","data":{"code":"` + code + `"}}` }
	errCID := func(code, cid string) string {
		return `{"type":"error","data":{"code":"` + code + `","cid":"` + cid + `"}}`
	}
	ack := func(typ, cid, from string) string {
		return `{"type":"` + typ + `","data":{"cid":"` + cid + `","from":"` + from + `"}}`
	}
	waitV := func(n int) step { return step{vsocks: n} }
	admin := []step{
		{on: "adm", dial: "/ws/admin", send: adminAdd, want: []string{`{"type":"admin:list","data":[]}`, `{"type":"admin:messages","data":[]}`, `{"type":"admin:replayed"}`}},
	}
	visitor := func(sock, name string) []step {
		return []step{
			{on: sock, dial: "/ws/client", send: add(name), want: []string{
				`{"type":"client:id","data":{"name":"` + name + `"}}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$` + sock + `.id","name":"` + name + `","status":true,"new":true}}`}},
		}
	}
	seq := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}

	scenarios := []scenario{
		{name: "core steps: identify, message, reply", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v", send: cmsg("a1", "hello"), want: []string{`{"type":"client:message","data":{"cid":"a1","text":"hello","from":"client","client":"$v.id","admin":""}}`}},
			{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"a1","text":"hello","client":"$v.id","offset":$off.a1}}`}},
			{on: "adm", send: amsg("$v.id", "r1", "hi Ann"), want: []string{`{"type":"admin:message","data":{"cid":"r1","from":"admin","admin":"alice","client":"$v.id"}}`}},
			{on: "v", want: []string{`{"type":"client:message","data":{"cid":"r1","from":"admin","admin":"Support","text":"hi Ann"}}`}},
			{on: "adm2", dial: "/ws/admin", send: adminAdd, want: []string{
				`{"type":"admin:list","data":[{"id":"$v.id","name":"Ann","connected":true,"last":$off.r1}]}`,
				`{"type":"admin:messages","data":[{"cid":"a1"},{"cid":"r1"}]}`, `{"type":"admin:replayed"}`}},
		})},
		{name: "reconnect replays after offset", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v", send: cmsg("m1", "one"), want: []string{ack("client:message", "m1", "client")}},
			{on: "v", send: cmsg("m2", "two"), want: []string{ack("client:message", "m2", "client")}},
			{on: "adm", send: amsg("$v.id", "r1", "three"), want: []string{`{"type":"admin:message","data":{"cid":"m1"}}`, `{"type":"admin:message","data":{"cid":"m2"}}`, ack("admin:message", "r1", "admin")}},
			{on: "v", close: true},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id","status":false}}`}},
			{on: "v2", dial: "/ws/client", send: restore("v", "$off.m1"), want: []string{
				`{"type":"client:id","data":{"id":"$v.id","token":"$v.token","name":"Ann"}}`,
				`{"type":"client:messages","data":[{"cid":"m2"},{"cid":"r1","from":"admin"}]}`, `{"type":"client:replayed"}`}},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id","status":true}}`}},
			{on: "adm2", dial: "/ws/admin", send: `{"type":"admin:add","data":{"token":"` + adminToken + `","after":$off.m1}}`, want: []string{
				`{"type":"admin:list","data":[{"id":"$v.id","connected":true}]}`,
				`{"type":"admin:messages","data":[{"cid":"m2"},{"cid":"r1"}]}`, `{"type":"admin:replayed"}`}},
		})},
		{name: "duplicate cid stored once, acked twice, not re-broadcast", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v", send: cmsg("d1", "first"), want: []string{ack("client:message", "d1", "client")}},
			{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"d1"}}`}},
			{on: "v", send: cmsg("d1", "retry"), want: []string{`{"type":"client:message","data":{"cid":"d1","text":"first","offset":$off.d1}}`}},
			{on: "v", send: cmsg("d2", "next"), want: []string{ack("client:message", "d2", "client")}},
			{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"d2"}}`}, note: "admin gets d2 next, not d1 again"},
			{on: "adm", send: amsg("$v.id", "r1", "reply"), want: []string{ack("admin:message", "r1", "admin")}},
			{on: "adm", send: amsg("$v.id", "r1", "reply again"), want: []string{`{"type":"admin:message","data":{"cid":"r1","text":"reply","offset":$off.r1}}`}},
			{on: "v", want: []string{ack("client:message", "r1", "admin")}},
			{on: "adm", send: amsg("$v.id", "d2", "same cid as the visitor's"), want: []string{errCID("bad_request", "d2")}},
			{on: "adm", send: amsg("$v.id", "r2", "later"), want: []string{ack("admin:message", "r2", "admin")}},
			{on: "v", want: []string{ack("client:message", "r2", "admin")}, note: "visitor gets r2 next, not r1 again"},
			{on: "adm2", dial: "/ws/admin", send: adminAdd, want: []string{`{"type":"admin:list"}`,
				`{"type":"admin:messages","data":[{"cid":"d1"},{"cid":"d2"},{"cid":"r1"},{"cid":"r2"}]}`, `{"type":"admin:replayed"}`}},
		})},
		{name: "another visitor's id as token opens a new visitor", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v", send: cmsg("secret", "my history"), want: []string{ack("client:message", "secret", "client")}},
			{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"secret"}}`}},
			{on: "eve", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"Eve","token":"$v.id","after":0}}`, want: []string{
				`{"type":"client:id","data":{"name":"Eve"}}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$eve.id","name":"Eve","status":true,"new":true}}`}},
			{do: func(s *tstate) {
				if s.vars["eve.id"] == s.vars["v.id"] || s.vars["eve.token"] == s.vars["v.token"] {
					s.t.Fatalf("a visitor's id opened that visitor")
				}
			}},
		})},
		{name: "bad admin token is refused and closed", steps: []step{
			{on: "adm", dial: "/ws/admin", send: `{"type":"admin:add","data":{"token":"forged","after":0}}`, want: []string{errf("unauthorized")}},
			{on: "adm", closed: 1008},
			{on: "adm2", dial: "/ws/admin", send: `{"type":"admin:add","data":{"token":"$v.id","after":0}}`, want: []string{errf("unauthorized")}},
			{on: "adm2", closed: 1008},
		}},
		{name: "revoked admin token ends the socket at its next event", steps: seq(admin, visitor("v", "Ann"), []step{
			{do: func(s *tstate) { s.ts.auth.revoke(adminToken) }},
			{on: "adm", send: amsg("$v.id", "r1", "too late"), want: []string{errf("unauthorized")}},
			{on: "adm", closed: 1008},
		})},
		{name: "two tabs: offline only after the last closes", steps: seq(admin, visitor("t1", "Ann"), []step{
			{on: "t2", dial: "/ws/client", send: restore("t1", "0"), want: []string{`{"type":"client:id","data":{"id":"$t1.id"}}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
			{on: "t1", send: cmsg("m1", "from tab 1"), want: []string{ack("client:message", "m1", "client")}},
			{on: "t2", want: []string{ack("client:message", "m1", "client")}, note: "every tab gets the ack"},
			{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"m1"}}`}, note: "no status for the second tab"},
			{on: "t1", close: true},
			waitV(1),
			{on: "t2", send: cmsg("m2", "still here"), want: []string{ack("client:message", "m2", "client")}},
			{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"m2"}}`}, note: "no offline status while a tab is open"},
			{on: "t2", close: true},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$t1.id","status":false}}`}},
		})},
		{name: "abrupt drop of the last tab is offline", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v2", dial: "/ws/client", send: restore("v", "0"), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "v", drop: true},
			waitV(1),
			{on: "v2", drop: true},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id","status":false}}`}},
			waitV(0),
		})},
		{name: "each bad frame is answered and the socket stays usable", steps: seq(admin, visitor("v", "Ann"), visitor("w", "Bob"), []step{
			{on: "v", send: `not json`, want: []string{errf("bad_json")}},
			{on: "v", send: `[1,2,3]`, want: []string{errf("bad_json")}},
			{on: "v", send: `{"type":"client:message","data":{"cid":"t","text":"x"}`, want: []string{errf("bad_json")}},
			{on: "v", send: `{"type":"chat:dance","data":{}}`, want: []string{errf("unknown_type")}},
			{on: "v", send: `{"type":"admin:add","data":{"token":"x"}}`, want: []string{errf("unknown_type")}},
			{on: "v", send: `{"type":5,"data":{}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"data":{}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:message","data":"hi"}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:message","data":{"cid":7,"text":"x"}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:message","data":{"cid":"c1","text":["x"]}}`, want: []string{errCID("bad_request", "c1")}},
			{on: "v", send: `{"type":"client:message","data":{"cid":"c2","text":"   "}}`, want: []string{errCID("bad_request", "c2")}},
			{on: "v", send: `{"type":"client:message","data":{"text":"no cid"}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:message","data":{"cid":"` + big(65) + `","text":"x"}}`, want: []string{errf("bad_request")}},
			{on: "v", send: cmsg("c3", big(4097)), want: []string{errCID("too_large", "c3")}},
			{on: "v", send: `{"type":"client:message","data":{"cid":"c4","text":"x","pad":"` + big(17000) + `"}}`, want: []string{errCID("too_large", "c4")}},
			{on: "v", send: add("Again"), want: []string{errf("bad_request")}},
			{on: "v", send: cmsg("ok", "after all that"), want: []string{ack("client:message", "ok", "client")}},
			{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"ok"}}`}},
			{on: "w", send: cmsg("w1", "other visitor fine"), want: []string{ack("client:message", "w1", "client")}},
			{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"w1"}}`}},
			{on: "adm", send: `{"type":"admin:message","data":{"client":5,"cid":"x","text":"y"}}`, want: []string{errf("bad_request")}},
			{on: "adm", send: `{"type":"admin:message","data":{"cid":"x","text":"y"}}`, want: []string{errCID("bad_request", "x")}},
			{on: "adm", send: `{"type":"client:message","data":{"cid":"x","text":"y"}}`, want: []string{errf("unknown_type")}},
			{on: "adm", send: `{"type":"admin:history","data":{"client":"$v.id","limit":-1}}`, want: []string{errf("bad_request")}},
			{on: "adm", send: amsg("$v.id", "a1", "admin fine"), want: []string{ack("admin:message", "a1", "admin")}},
			{on: "v", want: []string{ack("client:message", "a1", "admin")}},
			{do: func(s *tstate) {
				r := s.ts.hub.Stats().Rejected
				if r["bad_json"] != 3 || r["too_large"] != 2 || r["unknown_type"] != 3 {
					s.t.Fatalf("rejected counters %v", r)
				}
			}},
		})},
		{name: "events before identifying", steps: []step{
			{on: "v", dial: "/ws/client", send: cmsg("early", "hi"), want: []string{errCID("not_identified", "early")}},
			{on: "v", send: `{"type":"client:message","data":{"cid":5}}`, want: []string{errf("not_identified")}},
			{on: "v", send: `{"x":1}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:add","data":{"name":"Ann","token":"","after":-1}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:add","data":{"name":"","token":"","after":0}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:add","data":{"name":"` + big(65) + `","token":"","after":0}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:add","data":{"name":"Ann","meta":{"page":7}}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:add","data":{"name":"Ann","meta":{"page":"https://example.com/pricing"}}}`, want: []string{`{"type":"client:id","data":{"name":"Ann"}}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
			{on: "adm", dial: "/ws/admin", send: amsg("$v.id", "a1", "x"), want: []string{errCID("not_identified", "a1")}},
			{on: "adm", send: `{"type":"admin:history","data":{"client":"$v.id"}}`, want: []string{errf("not_identified")}},
			{on: "adm", send: adminAdd, want: []string{`{"type":"admin:list","data":[{"id":"$v.id","connected":true}]}`, `{"type":"admin:messages","data":[]}`, `{"type":"admin:replayed"}`}},
		}},
		{name: "frame above the hard limit closes with 1009", steps: seq(visitor("v", "Ann")[:1], []step{
			{on: "v", send: cmsg("huge", big(int(DefaultMaxFrame)*HardFrameFactor+1)), closed: 1009},
			{on: "v2", dial: "/ws/client", send: restore("v", "0"), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
		})},
		{name: "admin history pages backwards", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v", send: cmsg("m1", "1"), want: []string{ack("client:message", "m1", "client")}},
			{on: "v", send: cmsg("m2", "2"), want: []string{ack("client:message", "m2", "client")}},
			{on: "v", send: cmsg("m3", "3"), want: []string{ack("client:message", "m3", "client")}},
			{on: "v", send: cmsg("m4", "4"), want: []string{ack("client:message", "m4", "client")}},
			{on: "adm", want: []string{`{"type":"admin:message"}`, `{"type":"admin:message"}`, `{"type":"admin:message"}`, `{"type":"admin:message","data":{"cid":"m4"}}`}},
			{on: "adm", send: `{"type":"admin:history","data":{"client":"$v.id","before":$off.m4,"limit":2}}`,
				want: []string{`{"type":"admin:history","data":{"client":"$v.id","messages":[{"cid":"m2"},{"cid":"m3"}],"more":true}}`}},
			{on: "adm", send: `{"type":"admin:history","data":{"client":"$v.id","before":$off.m2,"limit":2}}`,
				want: []string{`{"type":"admin:history","data":{"messages":[{"cid":"m1"}],"more":false}}`}},
			{on: "adm", send: `{"type":"admin:history","data":{"client":"$v.id"}}`,
				want: []string{`{"type":"admin:history","data":{"messages":[{"cid":"m1"},{"cid":"m2"},{"cid":"m3"},{"cid":"m4"}],"more":false}}`}},
			{on: "adm", send: `{"type":"admin:history","data":{"client":"nobody"}}`, want: []string{errf("not_found")}},
			{on: "adm", send: amsg("nobody", "n1", "hello?"), want: []string{errCID("not_found", "n1")}},
			{on: "adm2", dial: "/ws/admin", send: `{"type":"admin:add","data":{"token":"bob-token","after":0,"limit":2}}`, want: []string{
				`{"type":"admin:list","data":[{"id":"$v.id","last":$off.m4}]}`,
				`{"type":"admin:messages","data":[{"cid":"m3"},{"cid":"m4"}]}`, `{"type":"admin:replayed"}`}},
		})},
	}

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			runScenario(t, sc)
		})
	}
}

func runScenario(t *testing.T, sc scenario) {
	s := &tstate{t: t, ts: startServerWith(t, sc.cfg, sc.limits), socks: map[string]*ws{}, vars: map[string]string{}}
	if sc.setup != nil {
		sc.setup(s)
	}
	for i, st := range sc.steps {
		where := fmt.Sprintf("step %d (%s %s)", i, st.on, st.note)
		if st.dial != "" {
			s.socks[st.on] = s.ts.dial(st.on, st.dial, nil)
			if len(st.watch) == 1 && st.watch[0] == "*" {
				s.socks[st.on].watch()
			} else if len(st.watch) > 0 {
				s.socks[st.on].watch(st.watch...)
			}
			if sc.presence {
				s.socks[st.on].seeing()
			}
		}
		w := s.socks[st.on]
		if st.on != "" && w == nil {
			t.Fatalf("%s: no socket %q", where, st.on)
		}
		if st.send != "" {
			w.sendRaw(expand(st.send, s.vars))
		}
		for _, want := range st.want {
			f := w.next()
			s.capture(st.on, f)
			wantExp := expand(want, s.vars)
			var wv, gv any
			if err := json.Unmarshal([]byte(wantExp), &wv); err != nil {
				t.Fatalf("%s: bad expectation %s: %v", where, wantExp, err)
			}
			if err := json.Unmarshal(f.raw, &gv); err != nil {
				t.Fatalf("%s: frame %s: %v", where, f.raw, err)
			}
			if !subset(wv, gv) {
				t.Fatalf("%s:\n got  %s\n want %s", where, f.raw, wantExp)
			}
		}
		if st.closed != 0 {
			w.expectClose(st.closed)
		}
		if st.close {
			w.close()
		}
		if st.drop {
			w.drop()
		}
		if st.vsocks != 0 || (st.on == "" && st.do == nil) {
			s.waitVisitorSockets(st.vsocks)
		}
		if st.do != nil {
			st.do(s)
		}
	}
}

// capture records client:id credentials and stored messages' offsets.
func (s *tstate) capture(sock string, f inFrame) {
	switch f.Type {
	case evClientID:
		var id visitorID
		if json.Unmarshal(f.Data, &id) == nil {
			s.vars[sock+".id"], s.vars[sock+".token"], s.vars[sock+".epoch"] = id.ID, id.Token, id.Epoch
		}
	case evAdminReplayed:
		var end replayEnd
		if json.Unmarshal(f.Data, &end) == nil {
			s.vars[sock+".list_next"] = end.ListNext
		}
	case evClientMessage, evAdminMessage:
		var m store.Message
		if json.Unmarshal(f.Data, &m) == nil && m.CID != "" {
			s.vars["off."+m.CID] = strconv.FormatUint(m.Offset, 10)
		}
	}
}

// waitVisitorSockets waits until the hub counts n visitor sockets.
func (s *tstate) waitVisitorSockets(n int) {
	s.t.Helper()
	waitFor(s.t, fmt.Sprintf("%d visitor sockets", n), func() bool { return s.ts.hub.Stats().VisitorSockets == n })
}

// waitFor polls cond until it holds, failing the test after wait.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, wait, what, cond)
}

// waitWithin polls cond until it holds, failing the test after d.
func waitWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
