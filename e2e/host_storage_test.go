package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pollJS polls cond in tab from Go (no page timers or promises: some host
// pages replace them) until it is true, for at most stepTimeout.
func pollJS(t *testing.T, tab context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for !evalJS[bool](t, tab, "!!("+cond+")") {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s", what)
		}
		time.Sleep(pollInterval) // polling with a deadline
	}
}

// countJS counts widget elements matching sel whose text is text, without the
// page's Array methods (some host pages break them).
func countJS(sel, text string) string {
	return inWidget(fmt.Sprintf(`var l = r.querySelectorAll(%s), n = 0; for (var i = 0; i < l.length; i++) if (l[i].textContent === %s) n++; return n`, js(sel), js(text)))
}

// confirmedJS is true when text shows once, acknowledged, and not as pending.
func confirmedJS(text string) string {
	return countJS(".m[data-offset] .mt", text) + " === 1 && " + countJS(".m.pe .mt", text) + " === 0"
}

const openJS = `(() => { const h = document.querySelector('chatd-widget'), r = h && h.shadowRoot; if (!r || !r.querySelector('.b')) return false;
  if (!r.querySelector('.r').classList.contains('o')) r.querySelector('.b').click(); return true; })()`

const onlineJS = `(() => { const h = document.querySelector('chatd-widget'), r = h && h.shadowRoot, e = r && r.querySelector('.r'); return !!e && e.classList.contains('on'); })()`

// hostDoc is the document holding the widget: the tab's page, or a page it frames.
type hostDoc struct {
	t      *testing.T
	tab    context.Context
	framed bool
}

func (d hostDoc) wait(what, cond string) {
	d.t.Helper()
	if d.framed {
		waitFrame(d.t, d.tab, what, cond)
	} else {
		pollJS(d.t, d.tab, what, cond)
	}
}

func (d hostDoc) run(expr string) {
	d.t.Helper()
	if d.framed {
		frameEval[bool](d.t, d.tab, "("+expr+") || true")
	} else {
		evalJS[bool](d.t, d.tab, "("+expr+") || true")
	}
}

func (d hostDoc) open() {
	d.t.Helper()
	d.wait("the launcher", openJS)
	d.wait("the widget online", onlineJS)
}

func (d hostDoc) send(text string) { d.t.Helper(); d.run(submitJS(text)) }

func (d hostDoc) confirmed(text string) {
	d.t.Helper()
	d.wait(fmt.Sprintf("%q confirmed once", text), confirmedJS(text))
}

// Storage that is missing, blocked or full never loses a message: the outbox
// works from memory, a message typed during an outage or held back by the rate
// limit is sent, and identity survives a page load wherever the browser keeps
// any storage at all; the site's own data is never touched.
func TestHostStorageUnavailableOrFull(t *testing.T) {
	s := startServer(t, "--msg-rate", "1", "--msg-burst", "2")
	blockBoth := `<script>['localStorage', 'sessionStorage'].forEach(function (n) {
	  Object.defineProperty(window, n, {get: function () { throw new DOMException('site data is blocked', 'SecurityError'); }}); });</script>`
	fill := `<script>if (!localStorage.getItem('site:0')) { var big = new Array(256 * 1024 + 1).join('x'), i = 0;
	  try { for (;; i++) localStorage.setItem('site:' + i, big); } catch (e) {}
	  try { for (var j = 0;; j++) localStorage.setItem('site:s' + j, 'x'); } catch (e) {} }
	  window.__siteKeys = localStorage.length;</script>`
	zeroQuota := `<script>var setItem = Storage.prototype.setItem; Storage.prototype.setItem = function (k, v) {
	  if (this === window.localStorage) throw new DOMException('quota is 0', 'QuotaExceededError'); return setItem.call(this, k, v); };</script>`
	nullStorage := `<script>Object.defineProperty(window, 'localStorage', {value: null});</script>`
	site := newHostSite(t, s, map[string]hostPage{
		"/sandbox-csp":    {html: hostHTML("", "", ""), csp: "sandbox allow-scripts"},
		"/sandbox-iframe": {html: hostHTML(frameRelay, `<iframe sandbox="allow-scripts" src="/inner" style="width:420px;height:700px"></iframe>`, " ")},
		"/inner":          {html: hostHTML(relayScript, "", "")},
		"/blocked":        {html: hostHTML(blockBoth, "", "")},
		"/null":           {html: hostHTML(nullStorage, "", "")},
		"/full":           {html: hostHTML(fill, "", "")},
		"/quota-zero":     {html: hostHTML(zeroQuota, "", "")},
	})
	browser := newBrowser(t)
	type hostCase struct {
		path     string
		doc      hostDoc
		identity bool // a later page of the site is the same visitor
	}
	var cases []*hostCase
	for _, c := range []struct {
		path     string
		framed   bool
		identity bool
	}{{"/sandbox-csp", false, false}, {"/sandbox-iframe", true, false}, {"/blocked", false, false},
		{"/null", false, true}, {"/full", false, true}, {"/quota-zero", false, true}} {
		tab, _ := newIncognito(t, browser)
		run(t, tab, chromedp.Navigate(site.URL+c.path))
		hc := &hostCase{path: c.path, doc: hostDoc{t: t, tab: tab, framed: c.framed}, identity: c.identity}
		hc.doc.open()
		// Three at once: the server's burst of 2 holds the third back; it is re-sent.
		for i := 1; i <= 3; i++ {
			hc.doc.send(fmt.Sprintf("%s message %d", c.path, i))
		}
		for i := 1; i <= 3; i++ {
			hc.doc.confirmed(fmt.Sprintf("%s message %d", c.path, i))
		}
		cases = append(cases, hc)
	}
	site0 := evalJS[int](t, cases[4].doc.tab, `window.__siteKeys`)

	s.stop()
	for _, c := range cases {
		c.doc.wait(c.path+": the outage noticed", "!"+onlineJS)
		c.doc.send(c.path + " typed during the outage")
		c.doc.wait(c.path+": pending", countJS(".m.pe .mt", c.path+" typed during the outage")+" === 1")
	}
	s.restart()
	for _, c := range cases {
		c.doc.confirmed(c.path + " typed during the outage")
	}
	if n := evalJS[int](t, cases[4].doc.tab, `localStorage.length`); n < site0 {
		t.Errorf("/full: the site had %d keys in localStorage, %d are left: the widget deleted the site's data", site0, n)
	}
	for _, c := range cases {
		if !c.identity {
			continue
		}
		// The next page of the site: the same visitor, with the whole conversation.
		run(t, c.doc.tab, chromedp.Navigate(site.URL+c.path+"?next"))
		c.doc.wait(c.path+": the next page online", onlineJS)
		for _, text := range []string{c.path + " message 1", c.path + " message 3", c.path + " typed during the outage"} {
			c.doc.confirmed(text)
		}
	}
}

// Pages that changed the built-ins the widget could rely on, or left bad values
// in its storage: the widget still sends and receives, byte for byte, and
// leaves the page's changes as they were.
func TestHostRedefinedBuiltins(t *testing.T) {
	s := startServer(t)
	key := `'chatd:' + ` + js(s.url()) + ` + ':'`
	corrupt := func(values string) string {
		return `<script>if (!sessionStorage.getItem('corrupted')) { sessionStorage.setItem('corrupted', 1); var v = ` + values + `;
		  for (var k in v) localStorage.setItem(` + key + ` + k, v[k]); }</script>`
	}
	pages := map[string]checkedPage{
		// Prototype.js and friends: arrays, strings, dates serialise themselves.
		"/tojson": {html: hostHTML(`<script>Array.prototype.toJSON = function () { return 'an array of ' + this.length; };
		  String.prototype.toJSON = function () { return 'a string'; }; Object.prototype.toJSON = function () { return 'an object'; };
		  Date.prototype.toJSON = function () { return 'a date'; };</script>`, "", ""),
			check: `JSON.stringify({a: [1]}) === '"an object"'`},
		"/json": {html: hostHTML(`<script>JSON.stringify = function () { return '{}'; }; JSON.parse = function () { return {type: 'error', data: {code: 'origin_not_allowed'}}; };</script>`, "", ""),
			check: `JSON.stringify([1]) === '{}'`},
		"/pollution": {html: hostHTML(`<script>Object.prototype.polluted = 'yes'; Object.prototype.type = 'error'; Object.prototype.code = 'origin_not_allowed';
		  Object.prototype.token = 'stolen'; Object.prototype.epoch = 'x'; Object.prototype.offset = 1; Object.prototype.resync = true; Object.prototype.length = 3;</script>`, "", ""),
			check: `({}).polluted === 'yes'`},
		"/arrays": {html: hostHTML(`<script>['map', 'forEach', 'filter', 'push', 'indexOf', 'concat', 'join', 'slice', 'sort', 'splice', 'some', 'every', 'reduce', 'pop', 'shift', 'unshift']
		  .forEach(function (n) { var f = function () { throw new Error('Array.prototype.' + n + ' is broken by this page'); }; Object.defineProperty(Array.prototype, n, {value: f, writable: true}); });</script>`, "", ""),
			check: `(() => { try { [].push(1); return false; } catch (e) { return true; } })()`},
		"/timers": {html: hostHTML(`<script>window.Promise = function () { throw new Error('no promises here'); }; window.setTimeout = function () { return 0; };
		  window.clearTimeout = function () {}; window.setInterval = function () { return 0; }; Math.random = function () { return 0.5; };
		  var RealDate = Date; window.Date = function () { return new RealDate(0); }; Date.now = function () { return 0; };</script>`, "", ""),
			check: `setTimeout(function () {}, 1) === 0`},
		"/websocket": {html: hostHTML(`<script>var WS = WebSocket, send = WS.prototype.send; WS.prototype.send = function () { return send.call(this, 'garbage'); };
		  window.WebSocket = function (u, p) { var s = new WS(u, p); s.send = function () {}; return s; }; window.WebSocket.prototype = WS.prototype;</script>`, "", ""),
			check: `WebSocket !== WebSocket.prototype.constructor`},
		"/corrupt-json":   {html: hostHTML(corrupt(`{me: '{"id":', conv: '[1,2', outbox: 'not json', read: '{'}`), "", ""), check: `true`},
		"/corrupt-types":  {html: hostHTML(corrupt(`{me: '5', conv: '{"after":"x","msgs":{"0":1},"epoch":7}', outbox: '[{"cid":5},null,"x",{"cid":"ok"}]', read: '"NaN"'}`), "", ""), check: `true`},
		"/corrupt-values": {html: hostHTML(corrupt(`{me: '{"id":"","token":{"a":1},"name":""}', conv: '{"after":-5,"msgs":[{"offset":"1","text":5},{"offset":1e400}]}', outbox: '{"__proto__":{"length":2}}', read: '1e999'}`), "", ""), check: `true`},
	}
	site := newHostSite(t, s, toHostPages(pages))
	browser := newBrowser(t)
	agent := newAgent(t, s)
	for _, path := range sortedKeys(pages) {
		tab, _ := newIncognito(t, browser)
		run(t, tab, chromedp.Navigate(site.URL+path))
		d := hostDoc{t: t, tab: tab}
		d.open()
		text := "hello from " + path + ` with "quotes", <b>markup</b>, \ and 🚀`
		d.send(text)
		d.confirmed(text)
		m := agent.waitMessage(text) // the server got it byte for byte
		reply := "reply to " + path + " [1,2] {\"x\": 1}"
		agent.reply(m.Client, reply)
		d.wait(path+": the reply", confirmedJS(reply))
		if !evalJS[bool](t, tab, pages[path].check) {
			t.Errorf("%s: the widget undid the page's own change", path)
		}
		// The next page of the site works too and is the same visitor.
		run(t, tab, chromedp.Navigate(site.URL+path+"?next"))
		d.wait(path+": the next page online", onlineJS)
		d.confirmed(text)
		d.confirmed(reply)
	}
}

type checkedPage struct {
	html  string
	check string // a JavaScript expression, true while the page's own change is in place
}

func toHostPages(in map[string]checkedPage) map[string]hostPage {
	out := make(map[string]hostPage, len(in))
	for k, v := range in {
		out[k] = hostPage{html: v.html}
	}
	return out
}
