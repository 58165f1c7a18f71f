package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// hostileRoot finds the widget's shadow root wherever its host is (a <div>
// when the page took the tag name), without the page's Array methods.
const hostileRoot = `(document.querySelector('[data-chatd]') || document.querySelector('chatd-widget') || {}).shadowRoot`

// inHost runs body with r bound to the widget's shadow root (null if none yet).
func inHost(body string) string {
	return `(() => { const r = ` + hostileRoot + `; if (!r) return false; ` + body + ` })()`
}

// chattingOn opens a page of a second origin with head in a fresh incognito
// tab and sends "hello" from its widget once online: the page, an agent, the
// widget's errors so far and the visitor's id.
func chattingOn(t *testing.T, s *server, head string) (hostDoc, *agentConn, func() []string, string) {
	t.Helper()
	site := newHostSite(t, s, map[string]hostPage{"/page": {html: hostHTML(head, "", "")}})
	agent := newAgent(t, s)
	tab, _ := newIncognito(t, newBrowser(t))
	errs := widgetErrors(t, tab)
	run(t, tab, chromedp.Navigate(site.URL+"/page"))
	d := hostDoc{t: t, tab: tab}
	d.wait("online", onlineJS)
	d.send("hello")
	return d, agent, errs, agent.waitMessage("hello").Client
}

// widgetErrors collects the uncaught exceptions thrown from widget.js in tab.
func widgetErrors(t *testing.T, tab context.Context) func() []string {
	t.Helper()
	return tabErrors(t, tab, false)
}

// pageErrors collects every uncaught exception in tab, and console.error lines.
func pageErrors(t *testing.T, tab context.Context) func() []string {
	t.Helper()
	return tabErrors(t, tab, true)
}

// eachHostilePage serves pages on a second origin and runs fn on each, in
// path order, as a subtest: a fresh incognito tab already at the page, one
// agent socket shared by all. After fn, the page's own change (its check)
// must still be in place and widget.js must have thrown nothing into it.
func eachHostilePage(t *testing.T, s *server, pages map[string]checkedPage, fn func(t *testing.T, tab context.Context, agent *agentConn, path string)) {
	t.Helper()
	site := newHostSite(t, s, toHostPages(pages))
	browser := newBrowser(t)
	agent := newAgent(t, s)
	for _, path := range sortedKeys(pages) {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			tab, _ := newIncognito(t, browser)
			errs := widgetErrors(t, tab)
			run(t, tab, chromedp.Navigate(site.URL+path))
			fn(t, tab, agent, path)
			pageUnharmed(t, tab, pages[path].check, errs)
		})
	}
}

// pageUnharmed checks that the page's own state (check, a JS expression) is
// as the page made it and that errs holds nothing widget.js threw.
func pageUnharmed(t *testing.T, tab context.Context, check string, errs func() []string) {
	t.Helper()
	if !evalJS[bool](t, tab, "!!("+check+")") {
		t.Errorf("the page's own state changed (%s)", check)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("widget.js threw into the page: %q", e)
	}
}

// tabErrors collects uncaught exceptions in tab: with all, every one and
// console.error lines too; else only those thrown from widget.js.
func tabErrors(t *testing.T, tab context.Context, all bool) func() []string {
	t.Helper()
	var mu sync.Mutex
	var errs []string
	if err := chromedp.Listen(tab, func(ev any) {
		var d string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d = e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				d += " " + e.ExceptionDetails.Exception.Description
			}
			if !all && !strings.Contains(d, "widget.js") && !strings.Contains(e.ExceptionDetails.URL, "widget.js") {
				return
			}
		case *runtime.EventConsoleAPICalled:
			if !all || e.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			d = "console.error"
			for _, a := range e.Args {
				d += " " + string(a.Value) + a.Description
			}
		default:
			return
		}
		mu.Lock()
		errs = append(errs, d)
		mu.Unlock()
	}); err != nil {
		t.Fatalf("listen: %v", err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// A stub that queues calls, as the README's one-liner does.
const stubJS = `window.chatd = window.chatd || function () { (chatd.q = chatd.q || []).push(arguments); };`

// Pages that break the DOM and host functions the widget calls, or take its
// names: the widget still chats, never throws into the page, and leaves the
// page's own changes in place.
func TestHostHostileDOM(t *testing.T) {
	s := startServer(t)
	loud := `['log', 'warn', 'error', 'info'].forEach(function (n) { console[n] = function () { window.__logged = (window.__logged || 0) + 1; throw new Error('console.' + n + ' is broken'); }; });`
	pages := map[string]checkedPage{
		"/attachshadow-throws": {html: hostHTML(`<script>Element.prototype.attachShadow = function () { throw new Error('no shadow roots here'); };</script>`, "", ""),
			check: `(() => { try { document.createElement('div').attachShadow({mode: 'open'}); return false; } catch (e) { return true; } })()`},
		// A polyfill-like attachShadow that hands back the element itself: styles would leak into the page.
		"/attachshadow-fake": {html: hostHTML(`<script>Element.prototype.attachShadow = function () { return this; };</script>`, "", ""),
			check: `getComputedStyle(document.querySelector('h1')).marginTop !== '0px' && document.querySelectorAll('style').length === 0`},
		"/custom-element": {html: hostHTML(`<script>customElements.define('chatd-widget', class extends HTMLElement {
		  constructor() { super(); this.attachShadow({mode: 'closed'}); } connectedCallback() { this.remove(); } });</script>`, "", ""),
			check: `typeof customElements.get('chatd-widget') === 'function'`},
		"/console-throws": {html: hostHTML(`<script>`+loud+stubJS+`window.__ev = {};
		  ['opened', 'closed', 'unread', 'availability', 'message'].forEach(function (n) { chatd('on', n, function () { window.__ev[n] = 1; throw new Error('the site\'s ' + n + ' handler'); }); });
		  chatd('no-such-call'); chatd('identify', 5);</script>`, "", ""),
			check: `window.__logged > 0 && window.__ev.opened && window.__ev.availability && window.__ev.message`},
		"/no-console": {html: hostHTML(`<script>window.console = undefined;`+stubJS+`chatd('no-such-call');</script>`, "", ""), check: `window.console === undefined`},
		"/defineproperty": {html: hostHTML(`<script>Object.defineProperty = function () { throw new Error('frozen API'); };</script>`, "", ""),
			check: `(() => { try { Object.defineProperty({}, 'a', {}); return false; } catch (e) { return true; } })()`},
		// Queues that are not the stub's array: the widget must not loop over them.
		"/queue-object": {html: hostHTML(`<script>window.chatd = {q: {length: 3e7}};</script>`, "", ""), check: `true`},
		"/queue-sparse": {html: hostHTML(`<script>`+stubJS+`chatd.q = []; chatd.q.length = 3e7;</script>`, "", ""), check: `true`},
		// Text the server cannot take (lone surrogates: bad_json): a title cut mid-emoji, a site's user name.
		"/title-broken":    {html: hostHTML(`<script>document.title = 'Shop \ud83d';</script>`, "", ""), check: `document.title === 'Shop \ud83d'`},
		"/identify-broken": {html: hostHTML(`<script>`+stubJS+`chatd('identify', {id: 'user-1', hash: 'ab', name: 'Ann \udc00', email: 'ann\ud800@example.com'});</script>`, "", ""), check: `true`},
	}
	eachHostilePage(t, s, pages, func(t *testing.T, tab context.Context, agent *agentConn, path string) {
		// Opened by a click on the launcher, as a visitor does.
		pollJS(t, tab, "the launcher", inHost(`const b = r.querySelector('.b'); if (!b || !b.getBoundingClientRect().width) return false; if (!r.querySelector('.r').classList.contains('o')) b.click(); return true`))
		pollJS(t, tab, "the widget online", inHost(`return r.querySelector('.r').classList.contains('on')`))
		text := "hello from " + path
		evalJS[bool](t, tab, inHost(fmt.Sprintf(`r.querySelector('textarea').value = %s; r.querySelector('.sd').click(); return true`, js(text))))
		m := agent.waitMessage(text)
		agent.reply(m.Client, "reply to "+path)
		shown := func(s string) string {
			return inHost(fmt.Sprintf(`const l = r.querySelectorAll('.m[data-offset] .mt'); let n = 0; for (let i = 0; i < l.length; i++) if (l[i].textContent === %s) n++; return n === 1`, js(s)))
		}
		pollJS(t, tab, "the message confirmed", shown(text))
		pollJS(t, tab, "the reply", shown("reply to "+path))
		if n := evalJS[int](t, tab, `document.querySelectorAll('[data-chatd]').length`); n != 1 {
			t.Errorf("%d widget hosts on the page", n)
		}
	})
}

// The JavaScript API with wrong types, values the server refuses and bursts:
// nothing throws into the page, good values are never lost for a bad one
// beside them, and a burst of calls reaches the agents whole.
func TestHostAPIHostileCalls(t *testing.T) {
	s := startServer(t)
	calls := `window.__thrown = []; function tryIt(name, f) { try { f(); } catch (e) { window.__thrown.push(name + ': ' + e); } }
	var cyclic = {}; cyclic.self = cyclic;
	window.__hostile = function () {
	  tryIt('symbol name', function () { chatd(Symbol('open')); });
	  tryIt('null name', function () { chatd(null); });
	  tryIt('object name', function () { chatd({toString: function () { throw new Error('no string'); }}); });
	  tryIt('throwing identify', function () { chatd('identify', {get id() { throw new Error('getter'); }}); });
	  tryIt('throwing attributes', function () { chatd.setAttributes(new Proxy({}, {ownKeys: function () { throw new Error('keys'); }})); });
	  tryIt('cyclic attribute', function () { chatd.setAttributes({cyclic: cyclic}); });
	  tryIt('undefined in an array', function () { chatd('setAttributes', {list: [undefined]}); });
	  tryIt('on with junk', function () { chatd.on(5, 5); chatd('off', {}, 'x'); });
	  tryIt('open with arguments', function () { chatd.open(1, 2, 3); });
	  // Bad values beside good ones: only the bad ones are left out.
	  var mixed = {good: 'yes', nested: {plan: ['pro', 2]}, big: new Array(1100).join('x'), lone: 'a\ud800b', '': 'empty key', 'ctl\u0001': 'x'};
	  mixed[new Array(66).join('k')] = 'long key';
	  mixed['k\udc00'] = 'lone key';
	  // Names the server refuses for a hidden character (bidi, zero-width, separator, C1, BOM, filler).
	  ['bidi\u202e', 'zw\u200b', 'sep\u2028', 'c1\u0085', 'bom\ufeff', 'fill\u3164', 'pua\ue000'].forEach(function (k) { mixed[k] = 'hidden key'; });
	  tryIt('mixed', function () { chatd.setAttributes(mixed); });
	  // A burst, one key per call (the server takes 10 changes, then one per 2 s).
	  for (var i = 0; i < 14; i++) { var o = {}; o['k' + i] = 'v' + i; tryIt('burst', function () { chatd.setAttributes(o); }); }
	  return true;
	};`
	d, agent, errs, id := chattingOn(t, s, `<script>`+stubJS+calls+`chatd('open');</script>`)
	d.run(`window.__hostile()`)
	if got := evalJS[[]string](t, d.tab, `window.__thrown`); len(got) > 0 {
		t.Errorf("calls threw into the page: %q", got)
	}
	want := map[string]string{"good": "yes"}
	for i := 0; i < 14; i++ {
		want[fmt.Sprintf("k%d", i)] = fmt.Sprintf("v%d", i)
	}
	var got map[string]string
	agent.waitFrame("admin:client", func(raw json.RawMessage) bool {
		var c struct {
			ID         string            `json:"id"`
			Attributes map[string]string `json:"attributes"`
		}
		if json.Unmarshal(raw, &c) != nil || c.ID != id || c.Attributes == nil {
			return false
		}
		got = c.Attributes
		return got["k13"] != ""
	})
	if len(got) != len(want) {
		t.Errorf("the agent got %d attributes, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("attribute %q = %q, want %q", k, got[k], v)
		}
	}
	// The widget still chats.
	d.send("still here")
	d.confirmed("still here")
	if e := errs(); len(e) > 0 {
		t.Errorf("widget.js threw into the page: %q", e)
	}
}
