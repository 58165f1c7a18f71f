package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// attrsPage is a host page that sets hostile attributes through the
// JavaScript API and opens the chat.
const attrsPage = `<script>
window.chatd = window.chatd || function () { (chatd.q = chatd.q || []).push(arguments); };
var a = { plan: 'pro', order: 'A-1009' };
a['<img src=x onerror="window.__pwned=1">'] = '<b>bold</b><script>window.__pwned=2<\/script>';
a['k' + 'x'.repeat(63)] = 'long key';
a.note = 'v'.repeat(1000) + 'END';
a.rtl = '\u202Eevil\u202C';
chatd('setAttributes', a);
chatd('open');
</script>`

// The attributes a site sets (chatd('setAttributes', ...)) show in the
// conversation's header as text, each clipped to a bounded length with the
// whole value in its tooltip; they follow admin:client live and come back
// from admin:list after a reload.
func TestPortalShowsVisitorAttributes(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{"/attrs": {html: hostHTML(attrsPage, "", "")}})
	browser := newBrowser(t)
	watcher := newAgent(t, s)
	agent := newBrowser(t)
	portalLogin(t, agent, s, true)

	tab, _ := newIncognito(t, browser)
	run(t, tab, chromedp.Navigate(site.URL+"/attrs"))
	d := hostDoc{t: t, tab: tab}
	d.wait("the widget online", onlineJS)
	var got struct {
		ID         string            `json:"id"`
		Attributes map[string]string `json:"attributes"`
	}
	json.Unmarshal(watcher.waitFrame("admin:client", func(d json.RawMessage) bool { return strings.Contains(string(d), `"attributes"`) }), &got)
	if got.Attributes["order"] != "A-1009" {
		t.Fatalf("attributes the server sent: %v", got.Attributes)
	}

	portalSelect(t, agent, got.ID)
	shown := func(what string) {
		t.Helper()
		waitFor(t, agent, what, `!document.getElementById('conv-attrs').hidden && document.querySelectorAll('#conv-attrs .attr').length === 6`)
		pairs := evalJS[[]string](t, agent, `Array.from(document.querySelectorAll('#conv-attrs .attr')).map(e => e.textContent)`)
		titles := evalJS[[]string](t, agent, `Array.from(document.querySelectorAll('#conv-attrs .attr')).map(e => e.title)`)
		text := strings.Join(pairs, "\n")
		for _, want := range []string{"order: A-1009", `<img src=x onerror="window.__pwned=1">: <b>bold</b><script>window.__pwned=2</script>`} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the line lacks %q:\n%s", what, want, text)
			}
		}
		for i, p := range pairs {
			if n := len([]rune(p)); n > 40+2+80 {
				t.Errorf("%s: pair %d is %d characters long", what, i, n)
			}
			if strings.HasPrefix(p, "note: ") && (!strings.HasSuffix(p, "…") || !strings.HasSuffix(titles[i], "END")) {
				t.Errorf("%s: the long value is not clipped with its whole text in the tooltip: %q", what, p)
			}
			if strings.HasPrefix(p, "kxxx") && !strings.Contains(p, "…: long key") {
				t.Errorf("%s: the long key is not clipped: %q", what, p)
			}
		}
		if evalJS[bool](t, agent, `!!document.querySelector('#conv-attrs img, #conv-attrs b, #conv-attrs script') || window.__pwned !== undefined`) {
			t.Fatalf("%s: attribute text became markup", what)
		}
		// Bounded: the header keeps its width and a few lines at most.
		if evalJS[bool](t, agent, `(() => { const h = document.querySelector('.conv-head'), a = document.getElementById('conv-attrs');
			return h.scrollWidth > h.clientWidth + 1 || a.getBoundingClientRect().height > 60 || document.documentElement.scrollWidth > innerWidth; })()`) {
			t.Errorf("%s: the attributes line overflows the header", what)
		}
	}
	shown("the attributes")
	if !strings.Contains(evalJS[string](t, agent, `document.getElementById('conv-attrs').textContent`), "plan: pro") {
		t.Fatal("plan: pro not shown")
	}

	// Live: the site changes one and removes one.
	d.run(`chatd('setAttributes', { plan: 'team', order: null })`)
	waitFor(t, agent, "the change, live", `document.getElementById('conv-attrs').textContent.includes('plan: team') && !document.getElementById('conv-attrs').textContent.includes('A-1009')`)

	// After a reload, from admin:list.
	run(t, agent, chromedp.Reload())
	waitPortalConnected(t, agent)
	portalSelect(t, agent, got.ID)
	waitFor(t, agent, "the attributes after a reload", `document.getElementById('conv-attrs').textContent.includes('plan: team') && document.querySelectorAll('#conv-attrs .attr').length === 5`)

	// A visitor without attributes: no line.
	v := dialVisitor(t, s, "Bob", "", nil)
	v.send("hello")
	portalSelect(t, agent, v.ID)
	waitFor(t, agent, "no line without attributes", fmt.Sprintf(`document.getElementById('conv-attrs').hidden && document.getElementById('conv-name').textContent.includes(%s)`, js("Bob")))
}
