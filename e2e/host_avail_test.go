package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// waitFrame returns the data of the next frame of type typ that match accepts
// (nil: any), passing over other frames.
func (a *agentConn) waitFrame(typ string, match func(json.RawMessage) bool) json.RawMessage {
	a.t.Helper()
	timeout := time.After(stepTimeout)
	for {
		select {
		case f, ok := <-a.frames:
			if !ok {
				a.t.Fatalf("agent: socket closed waiting for %s", typ)
			}
			if f.Type == typ && (match == nil || match(f.Data)) {
				return f.Data
			}
		case <-timeout:
			a.t.Fatalf("agent: no %s within %v", typ, stepTimeout)
		}
	}
}

// status sets the agent's status and waits until the admins are told.
func (a *agentConn) status(s string) {
	a.t.Helper()
	a.send("admin:status", map[string]any{"status": s})
	a.waitFrame("admin:agents", func(d json.RawMessage) bool {
		return strings.Contains(string(d), `"status":"`+s+`"`)
	})
}

// leave closes the agent's socket.
func (a *agentConn) leave() { a.conn.Close() }

// widgetStatus is the status line of the widget's panel header.
func widgetStatus(t *testing.T, d hostDoc) string {
	t.Helper()
	if d.framed {
		return frameEval[string](t, d.tab, statusJS)
	}
	return evalJS[string](t, d.tab, statusJS)
}

// agentShownJS is true when the widget shows an agent as there (the green dot).
var agentShownJS = rootJS(`return r.querySelector('.r').classList.contains('ag')`)

// statusIsJS is true when the widget's status line reads s.
func statusIsJS(s string) string { return statusJS + " === " + js(s) }

// lastOffsetJS is the highest offset the widget shows.
var lastOffsetJS = rootJS(`let n = 0; r.querySelectorAll('.m[data-offset]').forEach(e => { n = Math.max(n, +e.getAttribute('data-offset')); }); return n`)

// The widget tells the truth about availability, before the visitor types or
// even opens it (GET /api/widget: no visitor created), and live once it is
// connected: no agent; an agent online on a real admin socket; that agent
// away; back; gone.
func TestHostAvailability(t *testing.T) {
	s := startServer(t, "--reply-minutes", "5")
	site := newHostSite(t, s, map[string]hostPage{"/": {html: hostHTML("", "", "")}})
	browser := newBrowser(t)

	const online5 = "We are online, we usually reply within 5 min"
	// Nobody: told at once, without a socket.
	tab, _ := newIncognito(t, browser)
	openHost(t, tab, site, "/")
	d := hostDoc{t: t, tab: tab}
	d.wait("away told before any socket", statusIsJS(awayText(t, s)))
	if evalJS[bool](t, tab, agentShownJS) || widgetState(t, tab) != "idle" {
		t.Errorf("nobody online: the widget shows an agent (state %q)", widgetState(t, tab))
	}
	if n := visitorSockets(t, s); n != 0 {
		t.Errorf("learning the availability opened %d visitor sockets", n)
	}

	// An agent signs in on a real admin socket: a new page view is told so,
	// still without a socket of its own.
	agent := newAgent(t, s)
	agent.waitFrame("admin:agents", nil)
	tab2, _ := newIncognito(t, browser)
	openHost(t, tab2, site, "/")
	d2 := hostDoc{t: t, tab: tab2}
	d2.wait("online told before any socket", statusIsJS(online5))
	d2.wait("the green dot", agentShownJS)
	if n := visitorSockets(t, s); n != 0 {
		t.Errorf("learning the availability opened %d visitor sockets", n)
	}

	// Connected widgets follow the agent live.
	d2.open()
	d2.wait("online once connected", statusIsJS(online5))
	d.open()
	d.wait("the first page learns the agent came", statusIsJS(online5))
	agent.status("away")
	for _, x := range []hostDoc{d, d2} {
		x.wait("away after admin:status away", statusIsJS(awayText(t, s)))
		if evalJS[bool](t, x.tab, agentShownJS) {
			t.Error("an agent who is away still shows the green dot")
		}
	}
	agent.status("online")
	d.wait("online again", statusIsJS(online5))
	agent.leave()
	d.wait("away once the agent's last socket closed", statusIsJS(awayText(t, s)))
	d2.wait("away once the agent's last socket closed", statusIsJS(awayText(t, s)))
	d.send("anyone there?")
	d.confirmed("anyone there?")
}

// awayText is the status the widget shows when nobody is available: it asks
// for an e-mail address when the server takes them.
func awayText(t *testing.T, s *server) string {
	t.Helper()
	res, err := http.Get(s.url() + "/api/widget")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a struct{ Email string }
	json.NewDecoder(res.Body).Decode(&a)
	if a.Email == "off" {
		return "We are away. Leave a message, we reply here"
	}
	return "We are away. Leave your email and we will answer by email"
}

// apiPage is a host page that uses the JavaScript API through the queue
// stub, before widget.js has loaded; events are logged in window.__ev.
const apiPage = `<script>
window.chatd = window.chatd || function () { (chatd.q = chatd.q || []).push(arguments); };
window.__ev = [];
chatd('on', 'opened', function () { throw new Error('a broken handler of the site'); });
chatd('on', 'opened', function () { __ev.push('opened'); });
chatd('on', 'closed', function () { __ev.push('closed'); });
chatd('on', 'message', function (m) { __ev.push('message:' + m.text + ':' + m.name + ':' + (m.offset > 0)); });
chatd('on', 'unread', function (n) { __ev.push('unread:' + n); });
chatd('on', 'availability', function (a) { __ev.push('availability:' + a.available + ':' + a.agents_online); });
chatd('setAttributes', { plan: 'pro', seats: 3, trial: false });
chatd('no-such-call');
chatd('open');
</script>`

// evJS reads the page's event log.
const evJS = `window.__ev.join(',')`

// The JavaScript API: every call and event, calls queued before widget.js
// loaded, and the one-tag install unchanged (window.chatd exists without a stub).
func TestHostJavaScriptAPI(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{
		"/api":   {html: hostHTML(apiPage, "", "")},
		"/plain": {html: hostHTML("", "", "")},
	})
	browser := newBrowser(t)
	agent := newAgent(t, s)
	agent.waitFrame("admin:agents", nil)

	tab, _ := newIncognito(t, browser)
	run(t, tab, chromedp.Navigate(site.URL+"/api"))
	d := hostDoc{t: t, tab: tab}
	// The queued open ran: the panel is open and the visitor connected.
	d.wait("opened by the queued call", rootJS(`return r.querySelector('.r').classList.contains('o')`))
	d.wait("online", onlineJS)
	d.wait("opened and availability events", `window.__ev.indexOf('opened') >= 0 && window.__ev.indexOf('availability:true:1') >= 0`)
	// The queued attributes reached the agent, as strings.
	attrs := agent.waitFrame("admin:client", func(d json.RawMessage) bool { return strings.Contains(string(d), `"attributes"`) })
	var got struct {
		ID         string            `json:"id"`
		Attributes map[string]string `json:"attributes"`
	}
	json.Unmarshal(attrs, &got)
	if got.Attributes["plan"] != "pro" || got.Attributes["seats"] != "3" || got.Attributes["trial"] != "false" {
		t.Errorf("attributes the agent got: %s", attrs)
	}
	// Calls after loading, both forms.
	d.run(`chatd('close')`)
	d.wait("closed", rootJS(`return !r.querySelector('.r').classList.contains('o')`))
	d.wait("closed event", `window.__ev[window.__ev.length - 1] === 'closed'`)
	agent.reply(got.ID, "Hello from the agent")
	// The host page gets the agent's display name, never the login.
	d.wait("message and unread events", `window.__ev.indexOf('message:Hello from the agent:`+agentDisplay+`:true') >= 0 && window.__ev.indexOf('unread:1') >= 0`)
	d.run(`chatd.toggle()`)
	d.wait("toggled open, unread back to 0", `window.__ev.join(',').endsWith('unread:0,opened')`)
	d.run(`chatd.setAttributes({ plan: 'team', seats: null })`)
	attrs = agent.waitFrame("admin:client", func(d json.RawMessage) bool { return strings.Contains(string(d), `"team"`) })
	got.Attributes = nil
	json.Unmarshal(attrs, &got)
	if _, kept := got.Attributes["seats"]; kept || got.Attributes["trial"] != "false" {
		t.Errorf("attributes after a merge with a removal: %s", attrs)
	}
	d.run(`chatd('off', 'closed'), chatd.close(), chatd.open()`)
	if strings.Contains(evalJS[string](t, tab, evJS), "closed,opened") {
		t.Error("a handler removed with off still ran")
	}
	agent.status("away")
	d.wait("availability event when the agent leaves", `window.__ev[window.__ev.length - 1] === 'availability:false:0'`)
	t.Logf("events: %s", evalJS[string](t, tab, evJS))

	// The one-tag install: the API exists after loading, nothing queued.
	tab2, _ := newIncognito(t, browser)
	openHost(t, tab2, site, "/plain")
	pollJS(t, tab2, "window.chatd", `typeof window.chatd === 'function' && typeof window.chatd.open === 'function'`)
	evalJS[bool](t, tab2, `chatd.open(), true`)
	d2 := hostDoc{t: t, tab: tab2}
	d2.wait("opened by chatd.open()", onlineJS)
	d2.send("opened by the API")
	d2.confirmed("opened by the API")
}

// client:seen is sent when the visitor actually sees messages: the panel open
// in a visible tab. A hidden tab with the panel open does not count.
func TestHostSeen(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{"/": {html: hostHTML("", "", "")}})
	browser := newBrowser(t)
	agent := newAgent(t, s)
	front := newTabInWindow(t, browser)
	bringToFront(t, front)
	run(t, front, chromedp.Navigate(site.URL+"/"))
	d := hostDoc{t: t, tab: front}
	d.open()
	d.send("hello")
	id := agent.waitMessage("hello").Client
	agent.reply(id, "first reply")
	d.confirmed("first reply")
	var off1 int64
	seen := func(d json.RawMessage) bool {
		var s struct {
			Client      string `json:"client"`
			VisitorSeen int64  `json:"visitor_seen"`
		}
		json.Unmarshal(d, &s)
		return s.Client == id && s.VisitorSeen >= off1
	}
	off1 = int64(evalJS[float64](t, front, lastOffsetJS))
	agent.waitFrame("admin:seen", seen)

	// Another tab in front: the widget's tab is hidden, its panel still open.
	other := newTabInWindow(t, browser)
	run(t, other, chromedp.Navigate("about:blank"))
	bringToFront(t, other)
	pollJS(t, front, "the widget's tab hidden", `document.hidden`)
	agent.reply(id, "second reply")
	d.confirmed("second reply")
	off2 := evalJS[float64](t, front, lastOffsetJS)
	key := fmt.Sprintf("chatd:%s:read", s.url())
	if read := evalJS[float64](t, front, `+localStorage.getItem(`+js(key)+`)`); read >= off2 {
		t.Fatalf("a hidden tab marked the reply read (%v >= %v)", read, off2)
	}
	// Nothing can have told the server: the widget's read mark is below the reply.
	for len(agent.frames) > 0 {
		f := <-agent.frames
		if f.Type == "admin:seen" && strings.Contains(string(f.Data), fmt.Sprintf(`"visitor_seen":%d`, int64(off2))) {
			t.Fatal("the server was told a reply in a hidden tab was seen")
		}
	}
	bringToFront(t, front)
	off1 = int64(off2)
	agent.waitFrame("admin:seen", seen)
}

// Outside business hours the widget says nobody is there, even with an agent
// online, and the server says when it opens; inside them the agent shows.
func TestHostBusinessHours(t *testing.T) {
	day := strings.ToLower(time.Now().UTC().AddDate(0, 0, 3).Weekday().String()[:3])
	closed := startServer(t, "--hours", day+" 09:00-10:00", "--hours-tz", "UTC")
	open := startServer(t, "--hours", "daily 00:00-24:00", "--hours-tz", "Europe/Paris", "--reply-minutes", "3")
	browser := newBrowser(t)
	for _, c := range []struct {
		s      *server
		status string
		open   bool
	}{
		{closed, "We are away. Leave your email and we will answer by email. We are back on ", false}, // the day: TestHostBusinessHoursBackAt
		{open, "We are online, we usually reply within 3 min", true},
	} {
		agent := newAgent(t, c.s)
		agent.waitFrame("admin:agents", nil)
		res, err := http.Get(c.s.url() + "/api/widget")
		if err != nil {
			t.Fatal(err)
		}
		var a struct {
			Available    bool    `json:"available"`
			AgentsOnline int     `json:"agents_online"`
			Open         bool    `json:"open"`
			NextChange   *string `json:"next_change"`
		}
		json.NewDecoder(res.Body).Decode(&a)
		res.Body.Close()
		if a.Open != c.open || a.Available != c.open || a.AgentsOnline != 1 || (a.NextChange != nil) == c.open {
			t.Errorf("%s: /api/widget %+v", c.s.url(), a)
		}
		if !c.open {
			next, err := time.Parse(time.RFC3339, *a.NextChange)
			if err != nil || next.UTC().Hour() != 9 || strings.ToLower(next.UTC().Weekday().String()[:3]) != day {
				t.Errorf("next_change %s, want %s 09:00 UTC", *a.NextChange, day)
			}
		}
		site := newHostSite(t, c.s, map[string]hostPage{"/": {html: hostHTML("", "", "")}})
		tab, _ := newIncognito(t, browser)
		openHost(t, tab, site, "/")
		d := hostDoc{t: t, tab: tab}
		d.wait("told before any socket", statusJS+".startsWith("+js(c.status)+")")
		d.open()
		d.wait("told once connected", statusJS+".startsWith("+js(c.status)+")")
		if evalJS[bool](t, tab, agentShownJS) != c.open {
			t.Errorf("%s: green dot %v", c.s.url(), !c.open)
		}
		agent.leave()
	}
}
