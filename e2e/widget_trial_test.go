package e2e

// What a newcomer met trying the widget on a shop of their own (a second
// origin): a page's hotkeys eating what the visitor types, a reset that stayed
// in one tab, trimmed text, a lost draft, a length warning that named a
// character limit, slow reconnects after an outage, a doubled availability
// event, and no word that agents see the text being typed.

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/chatd/chatd/static"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// press types keys into the focused element the way a keyboard does: per key
// one keyDown carrying its text (the default action a handler may cancel) and
// a keyUp. "\r" is Enter, "\n" Shift+Enter, "\x1b" Escape.
func press(t *testing.T, tab context.Context, keys string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	for _, ch := range keys {
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: string(ch), Text: string(ch), UnmodifiedText: string(ch)}
		switch {
		case ch == '\r' || ch == '\n':
			down.Key, down.Code, down.Text, down.UnmodifiedText, down.WindowsVirtualKeyCode = "Enter", "Enter", "\r", "\r", 13
			if ch == '\n' {
				down.Modifiers = 8 // Shift
			}
		case ch == '\x1b':
			down.Key, down.Code, down.Text, down.UnmodifiedText, down.WindowsVirtualKeyCode = "Escape", "Escape", "", "", 27
		case ch == '/':
			down.Code, down.WindowsVirtualKeyCode = "Slash", 191
		case ch == ' ':
			down.Code, down.WindowsVirtualKeyCode = "Space", 32
		case ch < 128 && (unicode.IsLetter(ch) || unicode.IsDigit(ch)):
			down.WindowsVirtualKeyCode = int64(unicode.ToUpper(ch))
		}
		down.NativeVirtualKeyCode = down.WindowsVirtualKeyCode
		up := down
		up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		for _, ev := range []input.DispatchKeyEventParams{down, up} {
			if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, ev); err != nil {
				t.Fatalf("press %q: %v", ch, err)
			}
		}
	}
}

// hotkeyPage has the shortcuts a shop adds, each with the usual guard "not
// while the visitor types in a field": "/" focuses the search (keydown on
// document, as the trial's shop2.html), "a" adds to the cart (keypress on
// window, as Mousetrap binds), "?" opens help (keyup on the body). It also
// notes every key or input event that reaches the page's bubbling listeners
// from the widget (__leaked).
const hotkeyPage = `<script>
window.__hot = []; window.__leaked = [];
function typing(e) { var t = e.target; return t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName); }
document.addEventListener('keydown', function (e) { if (typing(e)) return; if (e.key === '/') { e.preventDefault(); __hot.push('/'); document.getElementById('q').focus(); } });
window.addEventListener('keypress', function (e) { if (typing(e)) return; if (e.key === 'a') { e.preventDefault(); __hot.push('a'); } });
addEventListener('DOMContentLoaded', function () { document.body.addEventListener('keyup', function (e) { if (!typing(e) && e.key === '?') __hot.push('?'); }); });
'keydown keypress keyup beforeinput input textInput compositionend paste'.split(' ').forEach(function (k) {
  window.addEventListener(k, function (e) { if (e.target !== document.body && e.target.id !== 'q') __leaked.push(k + ':' + (e.key || e.data || '')); });
});
</script>`

// The page's hotkeys never take what the visitor types in the chat: every
// character lands in the textarea, Shift+Enter makes a new line, Enter sends,
// Escape closes; the page sees none of these events bubble out of the widget,
// and its hotkeys still work outside it.
func TestWidgetTrialHostHotkeysKeepOut(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{"/shop": {html: hostHTML(hotkeyPage, `<input id="q" placeholder="Search the shop">`, "")}})
	agent := newAgent(t, s)
	tab, _ := newIncognito(t, newBrowser(t))
	openHost(t, tab, site, "/shop")
	d := hostDoc{t: t, tab: tab}
	d.open()
	d.run(inWidget(`r.querySelector('textarea').focus(); return true`))
	typed := "see 1/2 and/or a?"
	press(t, tab, typed+"\n"+"/a")
	if got := evalJS[string](t, tab, inWidget(`return r.querySelector('textarea').value`)); got != typed+"\n/a" {
		t.Errorf("the textarea holds %q after typing %q, Shift+Enter, %q", got, typed, "/a")
	}
	press(t, tab, "\r")
	if m := agent.waitMessage(typed + "\n/a"); m.Text != typed+"\n/a" {
		t.Errorf("sent %q", m.Text)
	}
	d.wait("the textarea emptied by Enter", inWidget(`return r.querySelector('textarea').value === ''`))
	press(t, tab, "\x1b")
	d.wait("closed by Escape", inWidget(`return !r.querySelector('.r').classList.contains('o')`))
	if hot := evalJS[[]string](t, tab, `__hot`); len(hot) != 0 {
		t.Errorf("the page's hotkeys fired while the visitor typed in the chat: %q", hot)
	}
	if leaked := evalJS[[]string](t, tab, `__leaked`); len(leaked) != 0 {
		t.Errorf("key and input events reached the page from the widget: %q", leaked)
	}
	// Outside the widget the page's own shortcuts still work.
	evalJS[bool](t, tab, `document.activeElement && document.activeElement.blur(), document.body.focus(), true`)
	press(t, tab, "/")
	d.wait("the page's search focused by its hotkey", `document.activeElement && document.activeElement.id === 'q'`)
	press(t, tab, "shoes")
	if got := evalJS[string](t, tab, `document.getElementById('q').value + ' ' + __hot.join(',')`); got != "shoes /" {
		t.Errorf("page after its own hotkey: %q", got)
	}
}

// silence keeps fmt and strings used while tests below are added.
var _ = fmt.Sprint
var _ = strings.Contains

// textsUntil returns the texts of the stored messages the agent gets, in
// order, up to and without last.
func (a *agentConn) textsUntil(last string) []string {
	a.t.Helper()
	var got []string
	for {
		f := a.waitFrame("admin:message", nil)
		var m wireMessage
		if err := json.Unmarshal(f, &m); err != nil {
			a.t.Fatalf("admin:message %s: %v", f, err)
		}
		if m.Text == last {
			return got
		}
		got = append(got, m.Text)
	}
}

// What the visitor typed is sent as typed, white space at either end
// included; only a box of nothing but white space is not sent.
func TestWidgetTrialTextSentAsTyped(t *testing.T) {
	s := startServer(t)
	d, agent, errs, _ := chattingOn(t, s, `<script>`+stubJS+`chatd('open');</script>`)
	texts := []string{
		"    indented line\n  second line  \n\n",
		"\tcode:\n\t\tif x {\n\t\t}\n",
		" a space either side ",
		"\n\nnew lines first",
		"\u00a0no-break spaces\u00a0",
		"\u3000ideographic space\u3000",
	}
	d.confirmed("hello")
	for _, blank := range []string{"", " ", "   \n\t ", "\n\n", "\u00a0\u2003"} {
		d.send(blank)
		if n := evalJS[int](t, d.tab, inWidget(`return r.querySelectorAll('.m.pe, .m[data-cid]').length`)); n != 0 {
			t.Errorf("blank %q shows %d pending messages", blank, n)
		}
	}
	for _, text := range texts {
		d.send(text)
	}
	d.send("end")
	if got := agent.textsUntil("end"); !slices.Equal(got, texts) {
		t.Errorf("stored texts:\n%q\nwant as typed:\n%q", got, texts)
	}
	for _, text := range texts {
		d.confirmed(text)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("widget errors: %q", e)
	}
}

// The limit is in UTF-8 bytes (--max-text), so the widget never names a
// character limit: in every shipped language, a message over it says how many
// characters to remove from its end, the number the counter shows too.
func TestWidgetTrialTooLongSaysWhatToRemove(t *testing.T) {
	s := startServer(t, "--max-text", "40")
	pages := map[string]hostPage{}
	langs := []string{"en", "de", "fr", "es", "pt", "ar"}
	for _, l := range langs {
		pages["/"+l] = hostPage{html: hostHTML("", "", `<script src="{{chatd}}/widget.js" async data-lang="`+l+`"></script>`)}
	}
	site := newHostSite(t, s, pages)
	tab, _ := newIncognito(t, newBrowser(t))
	d := hostDoc{t: t, tab: tab}
	cases := []struct {
		text           string
		over, fitChars int
	}{
		{strings.Repeat("👍", 25), 15, 10},       // 4 bytes each: 10 fit in 40
		{strings.Repeat("é", 30), 10, 20},       // 2 bytes each
		{strings.Repeat("x", 52), 12, 40},       // 1 byte each
		{"ok " + strings.Repeat("👍🏽", 6), 2, 7}, // "ok " and 4 thumbs of 8 bytes fit
	}
	for _, l := range langs {
		openHost(t, tab, site, "/"+l)
		d.open()
		for _, c := range cases {
			num := func(n int) string {
				return evalJS[string](t, tab, fmt.Sprintf(`new Intl.NumberFormat(%s).format(%d)`, js(l), n))
			}
			d.run(inWidget(fmt.Sprintf(`const a = r.querySelector('textarea'); a.value = %s; a.dispatchEvent(new Event('input')); r.querySelector('.sd').click(); return true`, js(c.text))))
			notice := evalJS[string](t, tab, inWidget(`const n = r.querySelector('.n'); return n.hidden ? '' : n.textContent`))
			counter := evalJS[string](t, tab, inWidget(`return r.querySelector('.ct').textContent`))
			if !strings.Contains(notice, num(c.over)) || strings.Contains(notice, num(c.fitChars)) || strings.Contains(notice, "40") {
				t.Errorf("%s: %d characters of which %d fit in 40 bytes: notice %q, want the %d to remove and no limit", l, len([]rune(c.text)), c.fitChars, notice, c.over)
			}
			if !strings.Contains(counter, num(c.over)) {
				t.Errorf("%s: counter %q, want %s too many", l, counter, num(c.over))
			}
			if n := evalJS[int](t, tab, inWidget(`return r.querySelectorAll('.m.pe').length`)); n != 0 {
				t.Errorf("%s: a message over the limit shows as sending", l)
			}
		}
		d.run(inWidget(`const a = r.querySelector('textarea'); a.value = ''; a.dispatchEvent(new Event('input')); return true`))
	}
}

// availPage records the availability events the site gets (subscribed
// through the stub's queue, before widget.js loads).
const availPage = `<script>
window.__avail = [];
window.chatd = window.chatd || function () { (chatd.q = chatd.q || []).push(arguments); };
chatd('on', 'availability', function (a) { __avail.push(JSON.stringify(a)); });
</script>`

// The site's availability event fires when availability changed, not once
// per source: GET /api/widget and the socket's client:id say the same thing.
func TestWidgetTrialAvailabilityOnChangeOnly(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{"/": {html: hostHTML(availPage, "", "")}})
	tab, _ := newIncognito(t, newBrowser(t))
	openHost(t, tab, site, "/")
	d := hostDoc{t: t, tab: tab}
	d.wait("availability from GET /api/widget", `__avail.length > 0`)
	d.open() // client:id brings the same availability
	d.send("hello")
	d.confirmed("hello")
	if got := evalJS[[]string](t, tab, `__avail`); len(got) != 1 {
		t.Errorf("availability events before any change: %q, want one", got)
	}
	agent := newAgent(t, s) // an agent comes: a change
	d.wait("the change told", `__avail.length > 1 && JSON.parse(__avail[__avail.length - 1]).available === true`)
	agent.status("away")
	d.wait("the next change told", `JSON.parse(__avail[__avail.length - 1]).available === false`)
	got := evalJS[[]string](t, tab, `__avail`)
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Errorf("availability event %d repeats the one before: %s", i, got[i])
		}
	}
}

// putSettings changes the inbox settings as the harness's agent (who needs
// the admin role: startInbox).
func putSettings(t *testing.T, s *server, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, s.url()+"/api/settings", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+agentToken(t, s))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PUT /api/settings %s: %v %v", body, res, err)
	}
	res.Body.Close()
}

// packString is the string key of a shipped language pack ("" for none).
func packString(t *testing.T, lang, key string) string {
	t.Helper()
	name := "widget-lang/" + lang + ".js"
	if lang == "en" {
		name = static.WidgetName
	}
	src, err := fs.ReadFile(static.Public(), name)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*` + key + `: '([^'\n]*)',?$`).FindSubmatch(src)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// With typing preview on, the visitor is told, in the composer area, that
// agents see the text before it is sent: in every shipped language, at once
// when an admin turns it on or off.
func TestWidgetTrialPreviewNotice(t *testing.T) {
	s := startInbox(t)
	langs := []string{"en", "de", "fr", "es", "pt", "ar"}
	pages := map[string]hostPage{}
	for _, l := range langs {
		pages["/"+l] = hostPage{html: hostHTML("", "", `<script src="{{chatd}}/widget.js" async data-lang="`+l+`"></script>`)}
	}
	site := newHostSite(t, s, pages)
	tab, _ := newIncognito(t, newBrowser(t))
	d := hostDoc{t: t, tab: tab}
	const noteJS = `(() => { const h = document.querySelector('chatd-widget'), r = h && h.shadowRoot, e = r && r.querySelector('.pv');
	  return !e ? 'none' : e.hidden || !e.offsetHeight ? '' : e.textContent; })()`
	openHost(t, tab, site, "/en")
	d.open()
	if got := evalJS[string](t, tab, noteJS); got != "" {
		t.Errorf("preview off: the notice reads %q", got)
	}
	en := packString(t, "en", "preview")
	putSettings(t, s, `{"typing_preview": true}`)
	d.wait("the notice once preview is on", noteJS+" === "+js(en))
	for _, l := range langs {
		want := packString(t, l, "preview")
		if want == "" || (l != "en" && want == en) {
			t.Errorf("%s: no preview notice of its own (%q)", l, want)
			continue
		}
		openHost(t, tab, site, "/"+l)
		d.open()
		d.wait(l+": the notice", noteJS+" === "+js(want))
	}
	putSettings(t, s, `{"typing_preview": false}`)
	d.wait("no notice once preview is off", noteJS+" === ''")
}

// retriesJS records every wait the widget plans before its next connection
// attempt (data-retry on its root), in order, in window.__gaps.
var retriesJS = inWidget(`const e = r.querySelector('.r'); window.__gaps = [];
  new MutationObserver(function (l) {
    for (let i = 0; i < l.length; i++) { const v = i + 1 < l.length ? l[i + 1].oldValue : e.getAttribute('data-retry'); if (v !== null) __gaps.push(+v); }
  }).observe(e, {attributes: true, attributeFilter: ['data-retry'], attributeOldValue: true});
  return true`)

// During an outage the widget's waits between attempts stay under a 5 s cap,
// spread at random; sending, the page becoming visible and the network coming
// back each retry at once (the next planned wait starts over from the
// shortest); the message typed during the outage arrives once chatd is back.
func TestWidgetTrialReconnectCappedAndAtOnce(t *testing.T) {
	s := startServer(t)
	d, agent, errs, _ := chattingOn(t, s, `<script>`+stubJS+`chatd('open');</script>`)
	d.run(retriesJS)
	agent.leave()
	s.stop()
	d.wait("four planned waits", `__gaps.length >= 4`)
	gaps := evalJS[[]float64](t, d.tab, `__gaps`)
	distinct := map[float64]bool{}
	for _, g := range gaps {
		distinct[g] = true
		if g > 5000 || g <= 0 {
			t.Errorf("planned waits %v: %v is outside (0, 5000] ms", gaps, g)
		}
	}
	if len(distinct) < 3 {
		t.Errorf("planned waits %v are not spread at random", gaps)
	}
	// Each trigger comes while the planned waits are long (>= 2 s: they never
	// shrink by themselves while chatd is down); an attempt at once shows as a
	// new plan of at most 1 s.
	for _, trigger := range []struct{ name, js string }{
		{"online", `dispatchEvent(new Event('online'))`},
		{"visible", `document.dispatchEvent(new Event('visibilitychange'))`},
		{"send", submitJS("typed during the outage")},
	} {
		d.wait("a long wait before "+trigger.name, `__gaps[__gaps.length - 1] >= 2000`)
		n := evalJS[int](t, d.tab, `__gaps.length`)
		d.run(trigger.js)
		d.wait("an attempt at once on "+trigger.name, fmt.Sprintf(`__gaps.slice(%d).some(g => g <= 1000)`, n))
	}
	s.restart()
	d.confirmed("typed during the outage")
	if e := errs(); len(e) > 0 {
		t.Errorf("widget errors: %q", e)
	}
}

// typeDraft puts text in the widget's box as typing does (an input event).
func typeDraft(text string) string {
	return inWidget(fmt.Sprintf(`const a = r.querySelector('textarea'); a.value = %s; a.dispatchEvent(new Event('input', {bubbles: true})); return true`, js(text)))
}

var draftJS = inWidget(`return r.querySelector('textarea').value`)

// An unsent draft stays in the box across pages of the site and reloads,
// exactly as typed, until it is sent or the visitor is reset; storage that
// throws on every call costs the draft its persistence, never the chat.
func TestWidgetTrialDraftKept(t *testing.T) {
	s := startServer(t)
	const broken = `<script>['getItem', 'setItem', 'removeItem', 'key', 'clear'].forEach(function (m) {
	  Storage.prototype[m] = function () { throw new DOMException('denied', 'SecurityError'); }; });</script>`
	site := newHostSite(t, s, map[string]hostPage{
		"/a": {html: hostHTML("", "", "")}, "/b": {html: hostHTML("", "", "")},
		"/broken": {html: hostHTML(broken, "", "")},
	})
	tab, _ := newIncognito(t, newBrowser(t))
	errs := widgetErrors(t, tab)
	d := hostDoc{t: t, tab: tab}
	openHost(t, tab, site, "/a")
	d.open()
	const draft = "  half a thought,\n  indented 👍🏽 "
	d.run(typeDraft(draft))
	for _, step := range []string{"/b", "/b", "/a"} { // another page, a reload, back
		openHost(t, tab, site, step)
		if got := evalJS[string](t, tab, draftJS); got != draft {
			t.Fatalf("on %s the box holds %q, want the draft %q", step, got, draft)
		}
	}
	d.open()
	d.run(inWidget(`r.querySelector('.sd').click(); return true`))
	d.confirmed(draft)
	openHost(t, tab, site, "/b")
	if got := evalJS[string](t, tab, draftJS); got != "" {
		t.Errorf("after sending, the box holds %q on the next page", got)
	}
	d.run(typeDraft("private note to self"))
	d.run(`chatd('reset')`)
	if got := evalJS[string](t, tab, draftJS); got != "" {
		t.Errorf("after a reset the box holds %q", got)
	}
	openHost(t, tab, site, "/a")
	if got := evalJS[string](t, tab, draftJS); got != "" {
		t.Errorf("after a reset the next page's box holds %q", got)
	}
	// Storage that throws: the chat works from memory.
	openHost(t, tab, site, "/broken")
	d.open()
	d.run(typeDraft("kept in memory only"))
	d.run(inWidget(`r.querySelector('.sd').click(); return true`))
	d.confirmed("kept in memory only")
	if e := errs(); len(e) > 0 {
		t.Errorf("widget errors: %q", e)
	}
}

// chatd('reset') in one tab reaches every open tab of the site, whichever way
// tabs can talk (BroadcastChannel, or only storage events when the page has
// none or a fake one): each closes its socket, shows nothing of the previous
// visitor, and writes as the new visitor, never into the old conversation.
func TestWidgetTrialResetReachesEveryTab(t *testing.T) {
	s := startServer(t)
	for _, c := range []struct{ name, head string }{
		{"BroadcastChannel", ""},
		{"no BroadcastChannel", `<script>window.BroadcastChannel = undefined;</script>`},
		{"fake BroadcastChannel", `<script>window.BroadcastChannel = function () { this.postMessage = function () {}; this.close = function () {}; };</script>`},
	} {
		t.Run(c.name, func(t *testing.T) {
			site := newHostSite(t, s, map[string]hostPage{"/shop": {html: hostHTML(c.head, "", "")}})
			agent := newAgent(t, s)
			browser := newBrowser(t)
			a, b := hostDoc{t: t}, hostDoc{t: t}
			a.tab, _ = newTab(t, browser)
			b.tab, _ = newTab(t, browser)
			openHost(t, a.tab, site, "/shop")
			a.open()
			a.send("previous visitor's secret")
			old := agent.waitMessage("previous visitor's secret").Client
			openHost(t, b.tab, site, "/shop")
			b.open()
			b.confirmed("previous visitor's secret")
			b.run(typeDraft("previous visitor's draft"))

			a.run(`chatd('reset')`)
			b.wait("the other tab forgot the conversation", inWidget(`return r.querySelectorAll('.m[data-offset], .m[data-cid]').length === 0 && r.querySelector('textarea').value === ''`))
			a.wait("the resetting tab online as a new visitor", onlineJS)
			a.send("new visitor from A")
			fresh := agent.waitMessage("new visitor from A").Client
			b.wait("the other tab online again", onlineJS)
			b.send("new visitor from B")
			if got := agent.waitMessage("new visitor from B").Client; got != fresh || got == old {
				t.Errorf("after a reset in tab A (old visitor %s, new %s) tab B wrote as %s", old, fresh, got)
			}
			for _, d := range []hostDoc{a, b} {
				if n := evalJS[int](t, d.tab, countJS(".m .mt", "previous visitor's secret")); n != 0 {
					t.Errorf("a tab still shows the previous visitor's message")
				}
			}
			waitVisitorSockets(t, s, 2) // the old sockets are closed, one per tab as the new visitor
		})
	}
}
