package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// isoDoc looks at a tab's page from an isolated world: the same DOM, other
// JavaScript built-ins, so a page that broke its own prototypes cannot change
// what the test sees or does (clicks, typing, reading the widget).
type isoDoc struct {
	t   *testing.T
	tab context.Context
	id  runtime.ExecutionContextID
}

// isolate makes an isolated world in the tab's current page (again after each navigation).
func isolate(t *testing.T, tab context.Context) isoDoc {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatalf("frame tree: %v", err)
	}
	w, err := chromedp.Call(ctx, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: tree.FrameTree.Frame.ID, WorldName: "chatd-e2e"})
	if err != nil {
		t.Fatalf("isolated world: %v", err)
	}
	return isoDoc{t: t, tab: tab, id: w.ExecutionContextID}
}

func isoEval[T any](d isoDoc, expr string) T {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.tab, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, func(p *runtime.EvaluateParams) { p.ContextID = d.id }))
	if err != nil {
		d.t.Fatalf("evaluate (isolated) %s: %v", expr, err)
	}
	return v
}

// wait polls cond in the isolated world until it is true, for at most stepTimeout.
func (d isoDoc) wait(what, cond string) {
	d.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for !isoEval[bool](d, "!!("+cond+")") {
		if time.Now().After(deadline) {
			d.t.Fatalf("waiting for %s", what)
		}
		time.Sleep(pollInterval) // polling with a deadline
	}
}

// widget runs body with r bound to the widget's shadow root (false while there is none).
func (d isoDoc) widget(body string) string {
	return `(() => { const h = document.querySelector('[data-chatd]'), r = h && h.shadowRoot; if (!r || !r.querySelector('.r')) return false; ` + body + ` })()`
}

// chat opens the widget by a click, sends text once online and waits until
// it is confirmed, then has agent reply and waits for the reply.
func (d isoDoc) chat(agent *agentConn, text string) {
	d.t.Helper()
	d.wait("the launcher", d.widget(`const b = r.querySelector('.b'); if (!b.getBoundingClientRect().width) return false; if (!r.querySelector('.r').classList.contains('o')) b.click(); return true`))
	d.wait("the widget online", d.widget(`return r.querySelector('.r').classList.contains('on')`))
	isoEval[bool](d, d.widget(fmt.Sprintf(`r.querySelector('textarea').value = %s; r.querySelector('.sd').click(); return true`, js(text))))
	d.wait(fmt.Sprintf("%q confirmed", text), d.shownOnce(text))
	m := agent.waitMessage(text)
	agent.reply(m.Client, "reply to "+text)
	d.wait(fmt.Sprintf("the reply to %q", text), d.shownOnce("reply to "+text))
}

// shownOnce is true when text shows exactly once as a confirmed message.
func (d isoDoc) shownOnce(text string) string {
	return d.widget(fmt.Sprintf(`return [...r.querySelectorAll('.m[data-offset] .mt')].filter(e => e.textContent === %s).length === 1`, js(text)))
}

// poison is a script that makes each of names on the object at path throw
// when called (a value) or read and written (an accessor: get/set).
func poison(path, kind string, names ...string) string {
	var b strings.Builder
	for _, n := range names {
		desc := `{value: function () { throw new Error('the page broke ` + n + `'); }, writable: true, configurable: true}`
		if kind == "accessor" {
			desc = `{get: function () { throw new Error('the page broke ` + n + `'); }, set: function () { throw new Error('the page broke ` + n + `'); }, configurable: true}`
		}
		fmt.Fprintf(&b, "Object.defineProperty(%s, %s, %s);\n", path, js(n), desc)
	}
	return "<script>" + b.String() + "</script>"
}

// Pages that broke the DOM and browser APIs the widget could call: methods
// and accessors of Node, Element, HTMLElement, EventTarget, Document,
// DOMTokenList, CSSStyleDeclaration, ShadowRoot, Navigator, globals replaced
// by fakes, a page that refuses frames. The widget still shows, chats both
// ways, comes back when the page removes it, never throws into the page,
// and leaves the page's changes in place.
func TestHostile2BrokenDOM(t *testing.T) {
	s := startServer(t)
	throws := func(expr string) string {
		return `(() => { try { ` + expr + `; return false; } catch (e) { return true; } })()`
	}
	pages := map[string]checkedPage{
		"/node-tree": {html: hostHTML(poison("Node.prototype", "value", "appendChild", "insertBefore", "removeChild", "replaceChild")+
			poison("Element.prototype", "value", "remove"), "", ""),
			check: throws(`document.body.appendChild(document.createElement('p'))`)},
		"/insertion": {html: hostHTML(poison("Node.prototype", "value", "appendChild", "insertBefore")+poison("Element.prototype", "value", "append"), "", ""),
			check: throws(`document.body.append('x')`)},
		"/attributes": {html: hostHTML(poison("Element.prototype", "value", "setAttribute", "getAttribute", "removeAttribute", "hasAttribute", "matches", "querySelectorAll", "querySelector")+
			poison("Element.prototype", "accessor", "className", "id"), "", ""),
			check: throws(`document.body.setAttribute('a', 'b')`)},
		"/text": {html: hostHTML(poison("Node.prototype", "accessor", "textContent", "nodeValue")+
			poison("Document.prototype", "value", "createTextNode", "createElementNS"), "", ""),
			check: throws(`document.body.textContent`)},
		"/events": {html: hostHTML(poison("EventTarget.prototype", "value", "addEventListener", "removeEventListener")+
			`<script>window.addEventListener = document.addEventListener = function () { throw new Error('no listeners'); };</script>`, "", ""),
			check: throws(`document.body.addEventListener('click', function () {})`)},
		"/html-props": {html: hostHTML(poison("HTMLElement.prototype", "accessor", "hidden", "dir", "style", "title", "tabIndex", "lang")+
			poison("HTMLElement.prototype", "value", "focus", "blur", "showPopover")+
			poison("HTMLTextAreaElement.prototype", "accessor", "value", "placeholder", "rows")+poison("HTMLButtonElement.prototype", "accessor", "type")+
			poison("Element.prototype", "accessor", "scrollTop", "scrollHeight"), "", ""),
			check: throws(`document.body.hidden`)},
		"/tokens-styles": {html: hostHTML(poison("DOMTokenList.prototype", "value", "toggle", "add", "remove", "contains")+
			poison("CSSStyleDeclaration.prototype", "accessor", "cssText", "height")+poison("CSSStyleDeclaration.prototype", "value", "setProperty"), "", ""),
			check: throws(`document.body.classList.add('x')`)},
		"/document": {html: hostHTML(poison("Document.prototype", "accessor", "currentScript", "title", "referrer", "hidden", "visibilityState")+
			poison("Navigator.prototype", "accessor", "language", "languages", "userAgent")+
			poison("HTMLScriptElement.prototype", "accessor", "src"), "", ""),
			check: throws(`document.title`)},
		"/shadow": {html: hostHTML(poison("ShadowRoot.prototype", "accessor", "adoptedStyleSheets", "host")+
			poison("DocumentFragment.prototype", "value", "querySelectorAll", "querySelector", "append"), "", ""),
			check: throws(`document.createDocumentFragment().append('x')`)},
		// Fakes in the place of the browser's classes and functions.
		"/fakes": {html: hostHTML(`<script>window.MutationObserver = function () { return {observe: function () {}, disconnect: function () {}}; };
		  window.CSSStyleSheet = function () { throw new Error('no sheets'); }; CSS.supports = function () { throw new Error('no CSS'); };
		  window.String = function () { throw new Error('no String'); }; window.parseFloat = window.isNaN = function () { throw new Error('no numbers'); };
		  window.getComputedStyle = function () { throw new Error('no styles'); }; window.Symbol = undefined;</script>`, "", ""),
			check: throws(`new CSSStyleSheet()`)},
		// A page that refuses frames gets no realm: the widget works with the page's functions.
		"/no-frames": {html: hostHTML(`<script>var ce = Document.prototype.createElement; Document.prototype.createElement = function (n) {
		  if (('' + n).toLowerCase() == 'iframe') throw new Error('no frames here'); return ce.apply(this, arguments); };</script>`, "", ""),
			check: throws(`document.createElement('iframe')`)},
	}
	eachHostilePage(t, s, pages, func(t *testing.T, tab context.Context, agent *agentConn, path string) {
		d := isolate(t, tab)
		d.t = t
		d.chat(agent, "hello from "+path)
		// The page removes the widget (its realm goes with it): it comes back and still chats.
		isoEval[bool](d, `document.querySelector('[data-chatd]').remove() || true`)
		d.wait("the widget back", `document.querySelectorAll('[data-chatd]').length === 1`)
		d.chat(agent, "again from "+path)
	})
}

// A desktop notification shows at most 200 characters of a message: cut
// there, an emoji (a surrogate pair) is never split in half (a lone
// surrogate shows as U+FFFD), whatever its place around the cut.
func TestHostile2NotificationCut(t *testing.T) {
	s := startServer(t)
	agent := newBrowser(t)
	addScript(t, agent, notesTap)
	grantNotifications(t, agent, s.url())
	emulateFocus(t, agent, true)
	portalLogin(t, agent, s, true)
	openSettings(t, agent)
	run(t, agent, chromedp.Click(chromedp.ID("set-desktop")))
	waitFor(t, agent, "desktop notifications on", `document.getElementById('set-desktop-note').textContent.startsWith('On')`)
	closeSettings(t, agent)
	v := dialVisitor(t, s, "Ann", "", nil)
	texts := []string{
		strings.Repeat("x", 198) + "🚀 and more",       // the pair across the cut
		strings.Repeat("x", 197) + "🚀🚀 and more",      // a whole pair before it
		strings.Repeat("x", 198) + "👩‍👩‍👧‍👦 and more", // a joined sequence
		strings.Repeat("𝒳", 150),                      // pairs all along
	}
	for i, text := range texts {
		v.send(text)
		got := waitNotes(t, agent, i+1)[i]
		if !utf8.ValidString(got.Body) || strings.ContainsRune(got.Body, utf8.RuneError) {
			t.Errorf("message %d: the notification's body %q holds half a character", i, got.Body)
		}
		if trimmed := strings.TrimSuffix(got.Body, "…"); trimmed == got.Body || !strings.HasPrefix(text, trimmed) {
			t.Errorf("message %d: body %q is not a cut of the message", i, got.Body)
		}
	}
}
