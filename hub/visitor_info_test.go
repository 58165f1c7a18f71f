package hub

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	siteid "github.com/chatd/chatd/identity"
	"github.com/chatd/chatd/notify/mail"
	"github.com/chatd/chatd/store"
)

// identitySecret keys the test server's identity hashes.
const identitySecret = "0123456789abcdef0123456789abcdef-test-secret"

// sign is what a site's server computes: hex HMAC-SHA256(secret, user id).
func sign(uid string) string { return siteid.Sign(identitySecret, uid) }

// verifier is the identity package's Verifier with the test secret.
func verifier() IdentityVerifier {
	v, err := siteid.New(identitySecret)
	if err != nil {
		panic(err)
	}
	return v
}

// recMailer records what the hub hands to the mail layer.
type recMailer struct {
	mu     sync.Mutex
	trans  []Transcript
	seen   map[string]uint64
	refuse error
}

func (m *recMailer) Transcript(t Transcript) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refuse != nil {
		return m.refuse
	}
	m.trans = append(m.trans, t)
	return nil
}

func (m *recMailer) Seen(visitor string, off uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]uint64{}
	}
	m.seen[visitor] = off
}

func (m *recMailer) transcripts() []Transcript {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Transcript(nil), m.trans...)
}

func (m *recMailer) seenOf(v string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[v]
}

// switchHours is business hours a test opens and closes.
type switchHours struct {
	mu   sync.Mutex
	open bool
	next time.Time
}

func (h *switchHours) At(time.Time) (bool, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.next.IsZero() && !timeNow().Before(h.next) {
		return !h.open, time.Time{}
	}
	return h.open, h.next
}

// infoConfig is a hub configured for issue 12's events.
func infoConfig(m Mailer) Config {
	return Config{Identity: verifier(), CheckEmail: mail.ValidAddress, Mailer: m, AvailabilityEvery: 20 * time.Millisecond}
}

func seedAdmins(s *tstate) {
	if err := s.ts.st.ReseedAdmins([]store.Admin{{Name: "alice"}, {Name: "bob"}, {Name: "carol"}}); err != nil {
		s.t.Fatal(err)
	}
}

func TestAvailabilityScenarios(t *testing.T) {
	adminAdd := `{"type":"admin:add","data":{"token":"` + adminToken + `","after":0}}`
	add := func(name string) string {
		return `{"type":"client:add","data":{"name":"` + name + `","token":"","after":0}}`
	}
	avail := func(available bool, n int) string {
		return fmt.Sprintf(`{"type":"client:availability","data":{"available":%v,"agents_online":%d,"open":true,"email":"optional"}}`, available, n)
	}
	agents := func(rows ...string) string { return `{"type":"admin:agents","data":[` + strings.Join(rows, ",") + `]}` }
	row := func(name, status string, connected bool) string {
		return fmt.Sprintf(`{"name":%q,"display":%q,"status":%q,"connected":%v}`, name, name, status, connected)
	}
	errf := func(code string) string { return `{"type":"error","data":{"code":"` + code + `"}}` }
	scenarios := []scenario{
		{name: "nobody, then an agent comes, goes away, comes back, leaves", presence: true, cfg: infoConfig(nil), setup: seedAdmins, steps: []step{
			{on: "v", dial: "/ws/client", send: add("Ann"), want: []string{
				`{"type":"client:id","data":{"name":"Ann","agents_online":0,"availability":{"available":false,"agents_online":0,"open":true,"next_change":null,"reply_minutes":null,"email":"optional","transcript":false}}}`,
				`{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
			{on: "adm", dial: "/ws/admin", send: adminAdd, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`,
				agents(row("alice", "online", true), row("bob", "online", false), row("carol", "online", false))}},
			{on: "v", want: []string{avail(true, 1)}},
			{on: "adm", send: `{"type":"admin:status","data":{"status":"away"}}`, want: []string{
				agents(row("alice", "away", true), row("bob", "online", false), row("carol", "online", false))}},
			{on: "v", want: []string{avail(false, 0)}},
			{on: "bob", dial: "/ws/admin", send: `{"type":"admin:add","data":{"token":"bob-token","after":0}}`, want: []string{
				`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`,
				agents(row("alice", "away", true), row("bob", "online", true), row("carol", "online", false))}},
			{on: "adm", want: []string{agents(row("alice", "away", true), row("bob", "online", true), row("carol", "online", false))}},
			{on: "v", want: []string{avail(true, 1)}},
			{on: "adm", send: `{"type":"admin:status","data":{"status":"online"}}`, want: []string{
				agents(row("alice", "online", true), row("bob", "online", true), row("carol", "online", false))}},
			{on: "v", want: []string{avail(true, 2)}},
			{on: "adm", send: `{"type":"admin:status","data":{"status":"online"}}`, want: []string{`{"type":"admin:agents"}`}, note: "no change: the sender alone is answered"},
			{on: "adm", send: `{"type":"admin:status","data":{"status":"busy"}}`, want: []string{errf("bad_request")}},
			{on: "adm", send: `{"type":"admin:status","data":{}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"admin:status","data":{"status":"away"}}`, want: []string{errf("unknown_type")}},
			{on: "bob", close: true},
			{on: "adm", want: []string{agents(row("alice", "online", true), row("bob", "online", false), row("carol", "online", false))}},
			{on: "v", want: []string{avail(true, 1)}},
			{on: "adm", close: true},
			{on: "v", want: []string{avail(false, 0)}, note: "an agent without an open socket is away"},
		}},
		{name: "second socket of an agent changes nothing for the others", presence: true, cfg: infoConfig(nil), steps: []step{
			{on: "adm", dial: "/ws/admin", send: adminAdd, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`, agents(row("alice", "online", true))}},
			{on: "adm2", dial: "/ws/admin", send: adminAdd, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`, agents(row("alice", "online", true))}},
			{on: "adm2", close: true},
			{on: "adm", send: `{"type":"admin:status","data":{"status":"away"}}`, want: []string{agents(row("alice", "away", true))},
				note: "the next frame is the status change: closing the second socket told nothing"},
			{on: "v", dial: "/ws/client", send: add("Ann"), want: []string{`{"type":"client:id","data":{"agents_online":0,"availability":{"available":false,"agents_online":0}}}`}},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}

// Changes in a burst make few broadcasts, and the last one tells the truth.
func TestAvailabilityBroadcastsAreCoalesced(t *testing.T) {
	cfg := infoConfig(nil)
	cfg.AvailabilityEvery = DefaultAvailabilityEvery
	ts := startServer(t, cfg)
	v, _, _ := ts.visitor("v", "Ann", "", 0)
	v.seeing()
	for i := 0; i < 10; i++ {
		a, _, _ := ts.admin(fmt.Sprintf("adm%d", i), 0)
		a.close()
		waitFor(t, "admin gone", func() bool { return ts.hub.Stats().Admins == 0 })
	}
	alice, _, _ := ts.admin("alice", 0)
	defer alice.close()
	bob := ts.dial("bob", "/ws/admin", nil)
	bob.send(evAdminAdd, map[string]any{"token": "bob-token", "after": 0})
	bob.expect(evAdminList, nil)
	defer bob.close()
	// The end state (two agents) was never the state during the burst: the
	// visitor must be told it, in few frames.
	frames := 0
	for {
		var a Availability
		v.expect(evClientAvailability, &a)
		frames++
		if a.Available && a.AgentsOnline == 2 {
			break
		}
	}
	// 22 changes within moments: the first goes out at once, the rest at
	// the end of each 2 s window. Not one frame per change.
	if frames > 6 {
		t.Errorf("%d client:availability frames for a burst of 22 changes", frames)
	}
	t.Logf("%d frames for 22 changes", frames)
}

// A visitor that identified while the others were told something else is
// corrected at the next broadcast, even when the state went back to what the
// others were told.
func TestAvailabilityToldDifferentlyIsCorrected(t *testing.T) {
	cfg := infoConfig(nil)
	cfg.AvailabilityEvery = DefaultAvailabilityEvery
	ts := startServer(t, cfg)
	adm, _, _ := ts.admin("adm", 0) // told at once: alice is online
	adm.close()
	waitFor(t, "admin gone", func() bool { return ts.hub.Stats().Admins == 0 })
	// Within the window: this visitor is told nobody is there...
	w := ts.dial("v", "/ws/client", nil).seeing()
	w.send(evClientAdd, map[string]any{"name": "Ann", "token": "", "after": 0})
	var id struct {
		Availability Availability `json:"availability"`
	}
	w.expect(evClientID, &id)
	w.replayAll(evClientMessages, evClientReplayed)
	// ...and alice is back before the window ends: the others need no news,
	// this visitor does.
	adm2, _, _ := ts.admin("adm2", 0)
	defer adm2.close()
	var a Availability
	w.expect(evClientAvailability, &a)
	if !a.Available {
		t.Fatalf("visitor told %+v, want available", a)
	}
	if id.Availability.Available {
		t.Logf("note: the admin's close was broadcast before the visitor came (slow machine); the correction was not exercised")
	}
}

// Business hours: closed means unavailable whoever is online, with the next
// change; the change itself is broadcast without any agent moving.
func TestAvailabilityBusinessHours(t *testing.T) {
	hours := &switchHours{open: false}
	cfg := infoConfig(nil)
	cfg.Hours = hours
	cfg.ReplyMinutes = 7
	opens := timeNow().Add(1500 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	hours.next = opens
	ts := startServer(t, cfg)
	adm, _, _ := ts.admin("adm", 0)
	defer adm.close()
	w := ts.dial("v", "/ws/client", nil).seeing()
	w.send(evClientAdd, map[string]any{"name": "Ann", "token": "", "after": 0})
	var id struct {
		Availability Availability `json:"availability"`
	}
	w.expect(evClientID, &id)
	a := id.Availability
	if a.Available || a.Open || a.AgentsOnline != 1 || a.NextChange == nil || *a.NextChange != opens.UTC().Format(time.RFC3339) ||
		a.ReplyMinutes == nil || *a.ReplyMinutes != 7 {
		t.Fatalf("closed hours, one agent: %+v", a)
	}
	w.replayAll(evClientMessages, evClientReplayed)
	var now Availability
	w.expect(evClientAvailability, &now)
	if !now.Available || !now.Open || now.NextChange != nil {
		t.Fatalf("after opening time: %+v", now)
	}
}

func TestVisitorInfoScenarios(t *testing.T) {
	mailer := &recMailer{}
	adminAdd := `{"type":"admin:add","data":{"token":"` + adminToken + `","after":0}}`
	add := func(name string) string {
		return `{"type":"client:add","data":{"name":"` + name + `","token":"","after":0}}`
	}
	restore := func(sock string) string {
		return `{"type":"client:add","data":{"name":"x","token":"$` + sock + `.token","after":0}}`
	}
	errMsg := func(code, msg string) string {
		return `{"type":"error","data":{"code":"` + code + `","message":"` + msg + `"}}`
	}
	errf := func(code string) string { return `{"type":"error","data":{"code":"` + code + `"}}` }
	cmsg := func(cid, text string) string {
		return `{"type":"client:message","data":{"cid":"` + cid + `","text":"` + text + `"}}`
	}
	ack := func(cid string) string { return `{"type":"client:message","data":{"cid":"` + cid + `"}}` }
	attrs := func(js string) string { return `{"type":"client:attributes","data":{"attributes":` + js + `}}` }
	many := map[string]string{}
	for i := 0; i < 33; i++ {
		many[fmt.Sprint("k", i)] = "v"
	}
	manyJS, _ := json.Marshal(many)
	scenarios := []scenario{
		{name: "e-mail: refused, stored, every tab and the admins told, nobody else", cfg: infoConfig(mailer), steps: []step{
			{on: "adm", dial: "/ws/admin", send: adminAdd, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
			{on: "v", dial: "/ws/client", send: add("Ann"), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id","new":true}}`}},
			{on: "v2", dial: "/ws/client", send: restore("v"), want: []string{`{"type":"client:id","data":{"id":"$v.id"}}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "w", dial: "/ws/client", send: add("Bob"), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$w.id","new":true}}`}},
			{on: "v", send: `{"type":"client:email","data":{"email":"not an address"}}`, want: []string{
				errMsg("bad_request", "invalid e-mail address: want a plain address like ann@example.com")}},
			{on: "v", send: `{"type":"client:email","data":{}}`, want: []string{errMsg("bad_request", "email is required")}},
			{on: "v", send: `{"type":"client:email","data":{"email":5}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:email","data":"ann@example.com"}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:email","data":{"email":"  Ann@Example.COM "}}`, want: []string{
				errMsg("bad_request", "invalid e-mail address: white space around the address")}, note: "refused, never trimmed"},
			{on: "v", send: `{"type":"client:email","data":{"email":"Ann@Example.COM"}}`, want: []string{`{"type":"client:email","data":{"email":"Ann@Example.COM"}}`}, note: "kept as given"},
			{on: "v2", want: []string{`{"type":"client:email","data":{"email":"Ann@Example.COM"}}`}, note: "the other tab learns it"},
			{on: "adm", want: []string{`{"type":"admin:client","data":{"id":"$v.id","email":"Ann@Example.COM"}}`}},
			{on: "v", send: `{"type":"client:email","data":{"email":"Ann@Example.COM"}}`, want: []string{`{"type":"client:email","data":{"email":"Ann@Example.COM"}}`}},
			{on: "v", send: attrs(`{"plan":"pro","order":"A-1009"}`), want: []string{`{"type":"client:attributes","data":{"attributes":{"plan":"pro","order":"A-1009"}}}`}},
			{on: "adm", want: []string{`{"type":"admin:client","data":{"id":"$v.id","attributes":{"plan":"pro","order":"A-1009"}}}`},
				note: "same address again told the admins nothing"},
			{on: "v", send: attrs(`{"order":"","seats":"3"}`), want: []string{`{"type":"client:attributes","data":{"attributes":{"plan":"pro","seats":"3"}}}`}},
			{on: "adm", want: []string{`{"type":"admin:client","data":{"id":"$v.id","attributes":{"plan":"pro","seats":"3"}}}`}},
			{on: "v", send: attrs(`{"plan":5}`), want: []string{errf("bad_request")}},
			{on: "v", send: attrs(`["plan"]`), want: []string{errf("bad_request")}},
			{on: "v", send: attrs(`null`), want: []string{errMsg("bad_request", "attributes must be an object of strings")}},
			{on: "v", send: attrs(string(manyJS)), want: []string{errMsg("bad_request", "at most 32 attributes")}},
			{on: "v", send: attrs(`{"x":"` + big(1025) + `"}`), want: []string{errf("bad_request")}},
			{on: "v", send: attrs(`{"":"x"}`), want: []string{errf("bad_request")}},
			{on: "adm2", dial: "/ws/admin", send: adminAdd, want: []string{
				`{"type":"admin:list","data":[{"id":"$w.id"},{"id":"$v.id","email":"Ann@Example.COM","attributes":{"plan":"pro","seats":"3"}}]}`}},
			{on: "w", send: cmsg("b1", "Bob here"), want: []string{ack("b1")}, note: "nothing of Ann's reached Bob"},
			{on: "w", send: `{"type":"client:email","data":{"email":"bob@example.org"}}`, want: []string{`{"type":"client:email","data":{"email":"bob@example.org"}}`}},
			{on: "v2", want: []string{`{"type":"client:email","data":{"email":"Ann@Example.COM"}}`}},
			{on: "v", send: cmsg("a1", "Ann here"), want: []string{ack("a1")}, note: "nothing of Bob's reached Ann's tabs"},
			{on: "v2", want: []string{ack("a1")}},
		}},
		{name: "seen: monotonic, clamped, told to admins and the mailer", cfg: infoConfig(mailer), steps: []step{
			{on: "adm", dial: "/ws/admin", watch: []string{evAdminSeen}, send: adminAdd, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
			{on: "v", dial: "/ws/client", send: add("Ann"), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "adm", want: []string{`{"type":"admin:client_status"}`}},
			{on: "adm", send: `{"type":"admin:message","data":{"client":"$v.id","cid":"r1","text":"hello"}}`, want: []string{`{"type":"admin:message","data":{"cid":"r1"}}`}},
			{on: "v", want: []string{`{"type":"client:message","data":{"cid":"r1"}}`}},
			{on: "v", send: `{"type":"client:seen","data":{"offset":$off.r1}}`},
			{on: "adm", want: []string{`{"type":"admin:seen","data":{"client":"$v.id","visitor_seen":$off.r1}}`}},
			{do: func(s *tstate) {
				if got := mailer.seenOf(s.vars["v.id"]); fmt.Sprint(got) != s.vars["off.r1"] {
					s.t.Fatalf("mailer told seen %d, want %s", got, s.vars["off.r1"])
				}
			}},
			{on: "v", send: `{"type":"client:seen","data":{"offset":1}}`},
			{on: "adm", send: `{"type":"admin:message","data":{"client":"$v.id","cid":"r2","text":"again"}}`, want: []string{`{"type":"admin:message","data":{"cid":"r2"}}`},
				note: "a lower offset told nothing"},
			{on: "v", want: []string{`{"type":"client:message","data":{"cid":"r2"}}`}},
			{on: "v", send: `{"type":"client:seen","data":{"offset":99999999}}`},
			{on: "adm", want: []string{`{"type":"admin:seen","data":{"client":"$v.id","visitor_seen":$off.r2}}`},
				note: "one past the store's last offset is the last"},
			{on: "v", send: `{"type":"client:seen","data":{}}`, want: []string{errMsg("bad_request", "offset is required")}},
			{on: "v", send: `{"type":"client:seen","data":{"offset":-1}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:seen","data":{"offset":"5"}}`, want: []string{errf("bad_request")}},
		}},
		{name: "transcript: needs an address, handed over, rate-limited", cfg: infoConfig(mailer), steps: []step{
			{on: "adm", dial: "/ws/admin", send: adminAdd, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
			{on: "v", dial: "/ws/client", send: add("Ann"), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "v", send: `{"type":"client:transcript","data":{}}`, want: []string{errMsg("bad_request", "leave an e-mail address first (client:email)")}},
			{on: "v", send: cmsg("q1", "Do you ship to Norway?"), want: []string{ack("q1")}},
			{on: "adm", want: []string{`{"type":"admin:client_status"}`, `{"type":"admin:message","data":{"cid":"q1"}}`}},
			{on: "adm", send: `{"type":"admin:message","data":{"client":"$v.id","cid":"r1","text":"We do!"}}`, want: []string{`{"type":"admin:message","data":{"cid":"r1"}}`}},
			{on: "v", want: []string{ack("r1")}},
			{on: "v", send: `{"type":"client:email","data":{"email":"ann@example.com"}}`, want: []string{`{"type":"client:email"}`}},
			{on: "v", send: `{"type":"client:transcript","data":{}}`, want: []string{`{"type":"client:transcript","data":{"email":"ann@example.com"}}`}},
			{do: func(s *tstate) {
				tr := mailer.transcripts()
				if len(tr) != 1 {
					s.t.Fatalf("%d transcripts handed over", len(tr))
				}
				got := tr[0]
				if got.Visitor != s.vars["v.id"] || got.Email != "ann@example.com" || got.Name != "Ann" || len(got.Lines) != 2 ||
					got.Lines[0].Text != "Do you ship to Norway?" || got.Lines[0].Name != "Ann" ||
					got.Lines[1].From != store.FromAdmin || got.Lines[1].Name == "alice" {
					s.t.Fatalf("transcript %+v", got)
				}
			}},
			{on: "v", send: `{"type":"client:transcript","data":{}}`, want: []string{`{"type":"client:transcript"}`}},
			{on: "v", send: `{"type":"client:transcript","data":{}}`, want: []string{errf("rate_limited")}},
			{on: "v", send: `{"type":"client:transcript","data":[]}`, want: []string{errf("bad_request")}},
		}},
		{name: "mail layer refusals", cfg: infoConfig(&recMailer{refuse: fmt.Errorf("wrapped: %w", ErrMailTooSoon)}), steps: []step{
			{on: "v", dial: "/ws/client", send: add("Ann"), want: []string{`{"type":"client:id","data":{"availability":{"transcript":true}}}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "v", send: `{"type":"client:email","data":{"email":"ann@example.com"}}`, want: []string{`{"type":"client:email"}`}},
			{on: "v", send: `{"type":"client:transcript","data":{}}`, want: []string{errf("rate_limited")}},
		}},
		{name: "e-mail capture off", cfg: Config{EmailCapture: EmailOff, CheckEmail: mail.ValidAddress, Mailer: mailer}, steps: []step{
			{on: "v", dial: "/ws/client", send: add("Ann"), want: []string{`{"type":"client:id","data":{"availability":{"email":"off","transcript":false}}}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "v", send: `{"type":"client:email","data":{"email":"ann@example.com"}}`, want: []string{errMsg("bad_request", "this server does not take e-mail addresses")}},
			{on: "v", send: `{"type":"client:transcript","data":{}}`, want: []string{errMsg("bad_request", "this server does not send transcripts")}},
		}},
		{name: "profile writes are charged to the storage budget", cfg: func() Config {
			c := infoConfig(mailer)
			c.QuotaVisitor = 250
			return c
		}(), steps: []step{
			{on: "v", dial: "/ws/client", send: add("Ann"), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "v", send: `{"type":"client:email","data":{"email":"ann@example.com"}}`, want: []string{`{"type":"client:email"}`}},
			{on: "v", send: attrs(`{"note":"` + big(200) + `"}`), want: []string{errf("quota_exceeded")}},
			{on: "v", send: `{"type":"client:email","data":{"email":"ann@example.com"}}`, want: []string{`{"type":"client:email"}`},
				note: "the same address again stores nothing and costs nothing"},
			{on: "v", send: `{"type":"client:email","data":{"email":"ann@example.org"}}`, want: []string{`{"type":"client:email","data":{"email":"ann@example.org"}}`},
				note: "the refused attributes and the unchanged address were given back"},
			{on: "v", send: `{"type":"client:email","data":{"email":"ann@example.net"}}`, want: []string{errf("quota_exceeded")}},
			{do: func(s *tstate) {
				p, err := s.ts.st.Profile(s.vars["v.id"])
				if err != nil || p.Email != "ann@example.org" || p.Attributes != nil {
					s.t.Fatalf("profile %+v, %v: a refused write was stored", p, err)
				}
			}},
		}},
		{name: "visitor events before identifying", cfg: infoConfig(mailer), steps: []step{
			{on: "v", dial: "/ws/client", send: `{"type":"client:email","data":{"email":"ann@example.com"}}`, want: []string{errf("not_identified")}},
			{on: "v", send: `{"type":"client:seen","data":{"offset":1}}`, want: []string{errf("not_identified")}},
			{on: "v", send: `{"type":"client:attributes","data":{"attributes":{}}}`, want: []string{errf("not_identified")}},
			{on: "v", send: `{"type":"client:transcript","data":{}}`, want: []string{errf("not_identified")}},
			{on: "adm", dial: "/ws/admin", send: `{"type":"client:email","data":{"email":"a@b.co"}}`, want: []string{errf("unknown_type")}},
			{on: "adm", send: `{"type":"admin:status","data":{"status":"away"}}`, want: []string{errf("not_identified")}},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}

// visitors counts the store's visitors.
func visitors(t *testing.T, st *store.Store) int {
	t.Helper()
	vs, err := st.Visitors()
	if err != nil {
		t.Fatal(err)
	}
	return len(vs)
}

func TestIdentityScenarios(t *testing.T) {
	ident := func(uid, hash, extra string) string {
		return `"identity":{"id":"` + uid + `","hash":"` + hash + `"` + extra + `}`
	}
	addID := func(token, identity string) string {
		return `{"type":"client:add","data":{"name":"Guest","token":"` + token + `","after":0,` + identity + `}}`
	}
	errMsg := func(code, msg string) string {
		return `{"type":"error","data":{"code":"` + code + `","message":"` + msg + `"}}`
	}
	cmsg := func(cid, text string) string {
		return `{"type":"client:message","data":{"cid":"` + cid + `","text":"` + text + `"}}`
	}
	adminAdd := `{"type":"admin:add","data":{"token":"` + adminToken + `","after":0}}`
	var before int
	count := func(s *tstate) { before = visitors(s.t, s.ts.st) }
	same := func(s *tstate) {
		if n := visitors(s.t, s.ts.st); n != before {
			s.t.Fatalf("visitors %d -> %d: a refused identity created one", before, n)
		}
	}
	forged := strings.Repeat("ab", 32)
	scenarios := []scenario{
		{name: "the same visitor on every device; forged hashes create nothing", cfg: infoConfig(nil), steps: []step{
			{on: "adm", dial: "/ws/admin", send: adminAdd, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
			{do: count},
			{on: "x", dial: "/ws/client", send: addID("", ident("u-42", forged, "")), want: []string{
				errMsg("bad_identity", "identity_hash does not match the user id")}},
			{on: "x", send: addID("", ident("u-42", "zz", "")), want: []string{`{"type":"error","data":{"code":"bad_identity"}}`}},
			{on: "x", send: addID("", ident("u-43", sign("u-42"), "")), want: []string{`{"type":"error","data":{"code":"bad_identity"}}`}, note: "another user's hash"},
			{on: "x", send: addID("", ident("", sign(""), "")), want: []string{`{"type":"error","data":{"code":"bad_identity"}}`}},
			{on: "x", send: addID("", `"identity":"u-42"`), want: []string{`{"type":"error","data":{"code":"bad_request"}}`}},
			{on: "x", send: addID("", `"identity":{"id":42,"hash":"x"}`), want: []string{`{"type":"error","data":{"code":"bad_request"}}`}},
			{do: same},
			{on: "x", send: `{"type":"client:add","data":{"name":"Anon","token":"","after":0}}`, want: []string{`{"type":"client:id","data":{"name":"Anon"}}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`},
				note: "the socket stayed open: anonymous works"},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$x.id","new":true}}`}},
			{on: "d1", dial: "/ws/client", send: addID("", ident("u-42", sign("u-42"), `,"name":"Ann Lee","email":"ann@example.com"`)), want: []string{
				`{"type":"client:id","data":{"name":"Ann Lee","email":"ann@example.com"}}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$d1.id","name":"Ann Lee","new":true}}`,
				`{"type":"admin:client","data":{"id":"$d1.id","identity":"u-42","email":"ann@example.com"}}`}},
			{on: "d1", send: cmsg("m1", "from my laptop"), want: []string{`{"type":"client:message","data":{"cid":"m1"}}`}},
			{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"m1","client":"$d1.id"}}`}},
			{on: "d2", dial: "/ws/client", send: addID("", ident("u-42", strings.ToUpper(sign("u-42")), `,"name":"Ann Lee"`)), want: []string{
				`{"type":"client:id","data":{"id":"$d1.id","name":"Ann Lee"}}`, `{"type":"client:messages","data":[{"cid":"m1","text":"from my laptop"}]}`, `{"type":"client:replayed"}`},
				note: "the phone opens the same conversation"},
			{do: func(s *tstate) {
				if s.vars["d2.token"] == "" || s.vars["d2.token"] == s.vars["d1.token"] {
					s.t.Fatal("the second device did not get a token of its own")
				}
			}},
			{on: "d2", send: cmsg("m2", "from my phone"), want: []string{`{"type":"client:message","data":{"cid":"m2"}}`}},
			{on: "d1", want: []string{`{"type":"client:message","data":{"cid":"m2"}}`}, note: "both devices see both"},
			{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"m2","client":"$d1.id"}}`}},
			{on: "d3", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"x","token":"$d2.token","after":0}}`, want: []string{
				`{"type":"client:id","data":{"id":"$d1.id"}}`, `{"type":"client:messages","data":[{"cid":"m1"},{"cid":"m2"}]}`, `{"type":"client:replayed"}`},
				note: "the phone's token restores without the identity"},
			{on: "eve", dial: "/ws/client", send: addID("$d2.token", ident("u-666", sign("u-666"), `,"name":"Eve"`)), want: []string{
				`{"type":"client:id","data":{"name":"Eve"}}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`},
				note: "u-42's token with another user's identity: never u-42's conversation"},
			{do: func(s *tstate) {
				if s.vars["eve.id"] == s.vars["d1.id"] {
					s.t.Fatal("another identity opened u-42's visitor")
				}
			}},
		}},
		{name: "an anonymous visitor who signs in keeps its conversation", cfg: infoConfig(nil), steps: []step{
			{on: "v", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"Blue Otter","token":"","after":0}}`, want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "v", send: cmsg("a1", "before signing in"), want: []string{`{"type":"client:message","data":{"cid":"a1"}}`}},
			{on: "adm", dial: "/ws/admin", send: adminAdd, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
			{on: "v2", dial: "/ws/client", send: addID("$v.token", ident("u-7", sign("u-7"), `,"name":"Bo"`)), want: []string{
				`{"type":"client:id","data":{"id":"$v.id","token":"$v.token","name":"Bo"}}`, `{"type":"client:messages","data":[{"cid":"a1"}]}`, `{"type":"client:replayed"}`}},
			{on: "adm", want: []string{`{"type":"admin:client","data":{"id":"$v.id","identity":"u-7","name":"Bo"}}`}},
		}},
		{name: "a cursor of another conversation is not applied to the identified one", cfg: infoConfig(nil), steps: []step{
			{on: "d1", dial: "/ws/client", send: addID("", ident("u-9", sign("u-9"), `,"name":"Nia"`)), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "d1", send: cmsg("m1", "one"), want: []string{`{"type":"client:message","data":{"cid":"m1"}}`}},
			{on: "d1", send: cmsg("m2", "two"), want: []string{`{"type":"client:message","data":{"cid":"m2"}}`}},
			{on: "x", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"Anon","token":"","after":0}}`, want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "x", send: cmsg("a1", "anonymous"), want: []string{`{"type":"client:message","data":{"cid":"a1"}}`}},
			{on: "x2", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"x","token":"$x.token","after":$off.a1,` + ident("u-9", sign("u-9"), "") + `}}`, want: []string{
				`{"type":"client:id","data":{"id":"$d1.id","resync":true}}`, `{"type":"client:messages","data":[{"cid":"m1"},{"cid":"m2"}]}`, `{"type":"client:replayed","data":{"resync":true}}`},
				note: "the device's cursor (after a1) was the anonymous conversation's"},
			{on: "d1b", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"x","token":"$d1.token","after":$off.m1,` + ident("u-9", sign("u-9"), "") + `}}`, want: []string{
				`{"type":"client:id","data":{"id":"$d1.id","resync":false}}`, `{"type":"client:messages","data":[{"cid":"m2"}]}`, `{"type":"client:replayed","data":{"resync":false}}`},
				note: "the visitor's own device keeps its cursor"},
		}},
		{name: "new device tokens count as new visitors of the address", cfg: func() Config {
			c := infoConfig(nil)
			c.NewVisitorsPerIP = 2
			return c
		}(), steps: []step{
			{on: "d1", dial: "/ws/client", send: addID("", ident("u-5", sign("u-5"), "")), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "d2", dial: "/ws/client", send: addID("", ident("u-5", sign("u-5"), "")), want: []string{`{"type":"client:id","data":{"id":"$d1.id"}}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "d3", dial: "/ws/client", send: addID("", ident("u-5", sign("u-5"), "")), want: []string{`{"type":"error","data":{"code":"rate_limited"}}`}},
			{on: "d4", dial: "/ws/client", send: addID("$d1.token", ident("u-5", sign("u-5"), "")), want: []string{`{"type":"client:id","data":{"id":"$d1.id","token":"$d1.token"}}`},
				note: "a device that holds the visitor's token is not limited"},
		}},
		{name: "identity without a configured secret", cfg: Config{}, steps: []step{
			{do: count},
			{on: "v", dial: "/ws/client", send: addID("", ident("u-1", sign("u-1"), "")), want: []string{
				errMsg("bad_identity", "identity verification is not configured on this server")}},
			{do: same},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}
