package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/store"
	"github.com/chromedp/chromedp"
)

// Visitor-controlled keys and values in the agents' context panel: a long
// word as an attribute key (Latin, wide CJK, an emoji sequence, digits), keys
// that name Object.prototype members, RTL and zalgo values, a long referrer.
// Every key shows as text once, each value keeps a readable width (a long
// key never squeezes its value to a column of single letters), nothing runs
// out of the panel and the page throws nothing.
func TestHostile3ContextKeys(t *testing.T) {
	s := startServer(t)
	agent := newBrowser(t)
	errs := pageErrors(t, agent)
	portalLogin(t, agent, s, true)
	attrSets := []map[string]string{
		{strings.Repeat("W", 64): "latin key", "plan": "pro"},
		{strings.Repeat("鍵", 21): "wide key", "n": strings.Repeat("値", 300)},
		{strings.Repeat("🚀", 16): "emoji key", "0": "zero", "1": "one"},
		{strings.Repeat("9", 64): "digits key", "rtl": "שלום 123 abc"},
		{"__proto__": "p", "constructor": "c", "toString": "t", "hasOwnProperty": "h", "valueOf": "v", strings.Repeat("k", 64): strings.Repeat("z\u0338\u0336", 200)},
	}
	for i, attrs := range attrSets {
		v := dialVisitor(t, s, fmt.Sprintf("Keys %d", i), "", map[string]string{"page": "https://shop.example/", "referrer": "https://ref.example/" + strings.Repeat("R", 1000)})
		v.write("client:attributes", map[string]any{"attributes": attrs})
		v.readUntil("client:attributes")
		v.send("hello")
		portalSelect(t, agent, v.ID)
		if i == 0 {
			run(t, agent, chromedp.Click(chromedp.CSS("button.details")))
		}
		waitFor(t, agent, "the attributes in the panel", fmt.Sprintf(`(() => { const h = [...document.querySelectorAll('#context-body h3')].find(h => h.textContent === 'Attributes');
			return h && h.parentNode.querySelectorAll('dt').length === %d; })()`, len(attrs)))
		keys := evalJS[[]string](t, agent, `[...[...document.querySelectorAll('#context-body h3')].find(h => h.textContent === 'Attributes').parentNode.querySelectorAll('dt')].map(d => d.textContent)`)
		for k := range attrs {
			n := 0
			for _, got := range keys {
				if got == k {
					n++
				}
			}
			if n != 1 {
				t.Errorf("visitor %d: key %q shown %d times in %q", i, k, n, keys)
			}
		}
		bad := evalJS[[]string](t, agent, `(() => { const body = document.getElementById('context-body').getBoundingClientRect(), out = [];
			for (const l of document.querySelectorAll('#context-body .ctx-list')) {
				const w = l.getBoundingClientRect().width;
				for (const e of l.children) { const r = e.getBoundingClientRect();
					if (e.tagName === 'DD' && r.width < w * 0.5) out.push('value of ' + e.previousElementSibling.textContent.slice(0, 20) + ' is ' + Math.round(r.width) + 'px of ' + Math.round(w));
					if (r.right > body.right + 1 || r.left < body.left - 1) out.push(e.textContent.slice(0, 20) + ' runs out of the panel'); } }
			return out; })()`)
		if len(bad) > 0 {
			t.Errorf("visitor %d: %q", i, bad)
		}
		if evalJS[bool](t, agent, `document.documentElement.scrollWidth > innerWidth || !!document.querySelector('#context-body img, #context-body script')`) {
			t.Errorf("visitor %d: the page overflows or text became markup", i)
		}
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("the portal threw: %q", e)
	}
}

// putCanned stores a canned reply over the API with the token of the agent signed in in tab.
func putCanned(t *testing.T, s *server, tab context.Context, shortcut, text string) {
	t.Helper()
	token := evalJS[string](t, tab, `sessionStorage.getItem('chatd.portal.token') || ''`)
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequest("PUT", s.url()+"/api/canned/"+url.PathEscape(shortcut), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT canned %q: %v", shortcut, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PUT canned %q: %s", shortcut, res.Status)
	}
}

// rowsReachableJS lists, for the rows matched by sel, what a long first field
// hides: a button that is not where a click lands, a text squeezed to nothing.
func rowsReachableJS(sel string) string {
	return fmt.Sprintf(`(() => { const out = [];
	  for (const row of document.querySelectorAll(%s)) {
	    row.scrollIntoView({block: 'nearest'});
	    const sc = row.querySelector('.canned-sc').textContent.slice(0, 12), p = row.querySelector('.canned-preview');
	    if (p && p.getBoundingClientRect().width < 40) out.push(sc + ': text ' + Math.round(p.getBoundingClientRect().width) + 'px');
	    for (const b of row.querySelectorAll('button')) { const r = b.getBoundingClientRect(), e = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
	      if (!r.width || !(e === b || b.contains(e))) out.push(sc + ': ' + b.textContent + ' out of reach'); }
	    if (row.scrollWidth > row.clientWidth + 1) out.push(sc + ': the row overflows');
	  } return out; })()`, js(sel))
}

// Agent-controlled text laid out next to controls: 50 canned replies, with
// shortcuts of 32 letters (Latin, wide CJK, Hebrew, digits) and long texts,
// in the canned dialog and the reply box's offer; logins of 64 characters in
// the agents dialog. Every Edit/Delete stays where a click lands, every text
// keeps a visible width, nothing throws.
func TestHostile3LongShortcuts(t *testing.T) {
	s := startServer(t)
	makeAdmin(t, s)
	long := strings.Repeat("l", 64)
	chatdtest.AdminSet(t, chatdtest.Binary(t), s.dir, long, agentPassword)
	s.restart()
	agent := newBrowser(t)
	errs := pageErrors(t, agent)
	portalLogin(t, agent, s, true)
	shortcuts := []string{strings.Repeat("w", 32), strings.Repeat("鍵", 32), strings.Repeat("ק", 32), strings.Repeat("9", 32)}
	for i := len(shortcuts); i < 50; i++ {
		shortcuts = append(shortcuts, fmt.Sprintf("r%02d", i))
	}
	for i, sc := range shortcuts {
		putCanned(t, s, agent, sc, fmt.Sprintf("%d \u202Eevil %s", i, strings.Repeat("T", 2000)))
	}
	run(t, agent, chromedp.Click(chromedp.ID("canned-open")))
	waitFor(t, agent, "50 replies listed", `document.querySelectorAll('#canned-list .canned-row').length === 50`)
	if bad := evalJS[[]string](t, agent, rowsReachableJS("#canned-list .canned-row")); len(bad) > 0 {
		t.Errorf("the canned dialog: %q", bad)
	}
	run(t, agent, chromedp.Click(chromedp.ID("canned-close")))

	run(t, agent, chromedp.Click(chromedp.ID("agents-open")))
	waitFor(t, agent, "the agents listed", fmt.Sprintf(`!!document.querySelector('#agents-list .agent-row[data-agent=%s]')`, js(long)))
	if bad := evalJS[[]string](t, agent, rowsReachableJS("#agents-list .agent-row")); len(bad) > 0 {
		t.Errorf("the agents dialog: %q", bad)
	}
	run(t, agent, chromedp.Click(chromedp.ID("agents-close")))

	v := dialVisitor(t, s, "Ann", "", nil)
	v.send("hello")
	portalSelect(t, agent, v.ID)
	for _, sc := range shortcuts[:4] {
		evalJS[bool](t, agent, fmt.Sprintf(`(() => { const b = document.getElementById('reply-text'); b.focus(); b.value = ''; b.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`))
		run(t, agent, chromedp.SendKeys(chromedp.ID("reply-text"), "/"+string([]rune(sc)[:3])))
		waitFor(t, agent, "the offer", fmt.Sprintf(`!document.getElementById('canned-pop').hidden && document.querySelector('#canned-pop .canned-item').dataset.shortcut === %s`, js(sc)))
		if bad := evalJS[[]string](t, agent, rowsReachableJS("#canned-pop .canned-item")); len(bad) > 0 {
			t.Errorf("the offer for /%s: %q", sc, bad)
		}
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("the portal threw: %q", e)
	}
}

// orderJS tells whether, in the element matched by sel, the text first is
// drawn to the left of the text then (both as they appear in its text).
func orderJS(sel, first, then string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false;
	  const at = s => { const w = document.createTreeWalker(e, NodeFilter.SHOW_TEXT); for (let n; (n = w.nextNode());) { const i = n.data.indexOf(s);
	    if (i >= 0) { const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + s.length); return r.getBoundingClientRect().left; } } return NaN; };
	  return at(%s) < at(%s); })()`, js(sel), js(first), js(then))
}

// Agents' display names in right-to-left scripts (with digits, Latin mixed
// in) next to the fields that follow them in the agents dialog, for the
// admin role (GET /api/agents) and an agent (admin:agents): the name stays
// whole before its role or status, never reordered past them.
func TestHostile3RTLDisplayNames(t *testing.T) {
	s := startServer(t)
	bin := chatdtest.Binary(t)
	chatdtest.AdminSet(t, bin, s.dir, bobName, bobPassword)
	displays := []string{"שלום עולם 2", "مرحبا 12 abc", "ש"}
	for i, d := range displays {
		name := fmt.Sprintf("rtl%d", i)
		chatdtest.AdminSet(t, bin, s.dir, name, agentPassword)
		if code, out, errOut := chatdtest.Run(t, bin, "", nil, "admin", "set", name, "--display", d, "--data", s.dir); code != 0 {
			t.Fatalf("chatd admin set --display: exit %d\n%s%s", code, out, errOut)
		}
	}
	if code, out, errOut := chatdtest.Run(t, bin, "", nil, "admin", "set", bobName, "--display", displays[0], "--data", s.dir); code != 0 {
		t.Fatalf("chatd admin set --display: exit %d\n%s%s", code, out, errOut)
	}
	makeAdmin(t, s)
	admin := newBrowser(t)
	portalLogin(t, admin, s, true)
	run(t, admin, chromedp.Click(chromedp.ID("agents-open")))
	for i, d := range displays {
		row := fmt.Sprintf(`#agents-list .agent-row[data-agent="rtl%d"] .canned-preview`, i)
		waitFor(t, admin, "the agent listed", fmt.Sprintf(`!!document.querySelector(%s)`, js(row)))
		if !evalJS[bool](t, admin, orderJS(row, d, "agent")) {
			t.Errorf("admin view: %q is drawn after its role: %q", d, evalJS[string](t, admin, fmt.Sprintf(`document.querySelector(%s).textContent`, js(row))))
		}
	}
	bob := newBrowser(t)
	run(t, bob, chromedp.Navigate(s.url()+"/portal/"))
	portalLoginAs(t, bob, bobName, bobPassword)
	run(t, bob, chromedp.Click(chromedp.ID("agents-open")))
	row := `#agents-list .agent-row[data-agent="bob"] .canned-preview`
	waitFor(t, bob, "bob listed", fmt.Sprintf(`!!document.querySelector(%s)`, js(row)))
	if !evalJS[bool](t, bob, orderJS(row, displays[0], "you")) {
		t.Errorf("agent view: %q is drawn after its status: %q", displays[0], evalJS[string](t, bob, fmt.Sprintf(`document.querySelector(%s).textContent`, js(row))))
	}
}

// Many items: 600 visitors (more than admin:list's 500) and one of them with
// 5000 messages, written to the store before chatd starts. The list pages
// to every visitor without a duplicate, the big conversation's unread count
// is bounded, and loading earlier messages reaches all 5000, in order, once
// each; the page throws nothing.
func TestHostile3ManyItems(t *testing.T) {
	bin, dir := chatdtest.Binary(t), t.TempDir()
	st, err := store.Open(dir, db.Options{Sync: db.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	big, _, err := st.CreateVisitor(ctx, "Big", nil)
	if err != nil {
		t.Fatal(err)
	}
	const visitors, messages = 600, 5000
	for i := 0; i < messages; i++ {
		if _, _, err := st.AddMessage(ctx, store.NewMessage{Client: big.ID, From: store.FromClient, CID: fmt.Sprintf("b%d", i), Text: fmt.Sprintf("m%04d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < visitors; i++ {
		v, _, err := st.CreateVisitor(ctx, fmt.Sprintf("V%03d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: "c", Text: fmt.Sprintf("hello %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Big speaks last: the top of the list.
	if _, _, err := st.AddMessage(ctx, store.NewMessage{Client: big.ID, From: store.FromClient, CID: "last", Text: "m5000"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	chatdtest.AdminSet(t, bin, dir, agentName, agentPassword)
	s := &server{t: t, dir: dir, Process: chatdtest.Start(t, bin, chatdtest.Options{Data: dir, Env: []string{"CHATD_BCRYPT_COST=4"}})}
	s.waitReady()
	agent := newBrowser(t)
	errs := pageErrors(t, agent)
	portalLogin(t, agent, s, true)
	waitFor(t, agent, "the first page of the list", `document.querySelectorAll('#visitors button.visitor').length >= 500 && !document.getElementById('more-visitors').hidden`)
	for i := 0; !evalJS[bool](t, agent, `document.getElementById('more-visitors').hidden`); i++ {
		if i > 5 {
			t.Fatal("still more visitors after 5 pages")
		}
		waitFor(t, agent, "Load more enabled", `!document.getElementById('more-visitors').disabled`)
		evalJS[bool](t, agent, `(() => { const b = document.getElementById('more-visitors'); b.scrollIntoView(); const r = b.getBoundingClientRect(), e = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
			if (e !== b) throw new Error('Load more visitors is covered by ' + (e && e.outerHTML.slice(0, 80))); b.click(); return true; })()`)
		waitFor(t, agent, "the page loaded", `!document.getElementById('more-visitors').disabled || document.getElementById('more-visitors').hidden`)
	}
	if n := evalJS[int](t, agent, `new Set([...document.querySelectorAll('#visitors button.visitor')].map(b => b.dataset.id)).size`); n != visitors {
		t.Errorf("%d distinct visitors listed, want %d", n, visitors)
	}
	if got := evalJS[string](t, agent, rowJS(big.ID)+`.querySelector('.unread').textContent`); got != "99+" {
		t.Errorf("the unread count of 5001 messages shows %q", got)
	}
	portalSelect(t, agent, big.ID)
	waitPortalCount(t, agent, "m5000", 1)
	for i := 0; ; i++ {
		if evalJS[bool](t, agent, `document.getElementById('older').hidden`) {
			break
		}
		if i > 100 {
			t.Fatal("still older messages to load after 100 pages")
		}
		before := evalJS[int](t, agent, `document.querySelectorAll('#message-list .msg .text').length`)
		run(t, agent, chromedp.Click(chromedp.ID("older")))
		waitFor(t, agent, "an earlier page", fmt.Sprintf(`document.querySelectorAll('#message-list .msg .text').length > %d || document.getElementById('older').hidden`, before))
	}
	texts := evalJS[[]string](t, agent, `[...document.querySelectorAll('#message-list .msg .text')].map(e => e.textContent)`)
	if len(texts) != messages+1 {
		t.Errorf("%d messages shown, want %d", len(texts), messages+1)
	}
	for i, tx := range texts {
		if want := fmt.Sprintf("m%04d", i); tx != want {
			t.Fatalf("message %d is %q, want %q", i, tx, want)
		}
	}
	waitFor(t, agent, "the unread count gone", `!`+rowJS(big.ID)+`.querySelector('.unread')`)
	if e := errs(); len(e) > 0 {
		t.Errorf("the portal threw: %q", e)
	}
}

// The widget in unusual embeddings, in German (a language pack to load)
// with nobody available (the e-mail form to load): a strict policy with
// Trusted Types (require-trusted-types-for 'script', with and without a
// trusted-types list naming chatd's policy as the README says, or not), a <base
// href> pointing at another site, a page that sets document.domain, the
// README's CSP exactly. Each page gets the pack, the e-mail form, and
// chats; nothing throws into the page.
func TestHostile3Embeddings(t *testing.T) {
	s := startServer(t)
	tag := `<script src="{{chatd}}/widget.js" data-lang="de" async></script>`
	csp := "default-src 'self'; script-src 'self' 'unsafe-inline' {{chatd}}; connect-src {{chatd}} {{ws}}"
	pages := map[string]hostPage{
		"/readme-csp":    {html: hostHTML("", "", tag), csp: csp},
		"/trusted-types": {html: hostHTML("", "", tag), csp: csp + "; require-trusted-types-for 'script'"},
		"/trusted-named": {html: hostHTML("", "", tag), csp: csp + "; require-trusted-types-for 'script'; trusted-types chatd"},
		"/trusted-page-policy": {html: hostHTML(`<script>trustedTypes.createPolicy('default', {createScriptURL: function (u) { throw new Error('the page refuses ' + u); }});</script>`, "", tag),
			csp: csp + "; require-trusted-types-for 'script'"},
		// A list without chatd: no pack, no form (as the README says), the chat still works.
		"/trusted-without-chatd": {html: hostHTML("", "", tag), csp: csp + "; require-trusted-types-for 'script'; trusted-types other"},
		"/base-href":             {html: hostHTML(`<base href="https://elsewhere.invalid/sub/">`, `<a href="x">a link</a>`, tag)},
		"/domain":                {html: hostHTML(`<script>try { document.domain = '127.0.0.1'; } catch (e) {}</script>`, "", tag)},
	}
	site := newHostSite(t, s, pages)
	browser := newBrowser(t)
	agent := newAgent(t, s)
	agent.waitFrame("admin:agents", nil)
	agent.status("away") // connected, not available: the widget offers the e-mail form
	for _, path := range sortedKeys(pages) {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			tab, _ := newIncognito(t, browser)
			errs := widgetErrors(t, tab)
			openHost(t, tab, site, path)
			d := hostDoc{t: t, tab: tab}
			d.open()
			if path == "/trusted-without-chatd" {
				d.wait("English", inWidget(`return r.querySelector('textarea').placeholder === 'Write a message…'`))
			} else {
				d.wait("the German pack", inWidget(`return r.querySelector('textarea').placeholder === 'Nachricht schreiben…'`))
				d.wait("the e-mail form", mailBoxJS(`return !e.hidden && !!e.querySelector('input')`))
			}
			d.send("hallo von " + path)
			d.confirmed("hallo von " + path)
			agent.waitMessage("hallo von " + path)
			if e := errs(); len(e) > 0 {
				t.Errorf("widget.js threw into the page: %q", e)
			}
		})
	}
}

// Agents whose logins name Object.prototype members (constructor: the one a
// login may spell; its lower-case neighbours and numbers as siblings): the
// portal keys its per-agent state by login, so each must be offered as an
// assignee and shown when typing, like any other login.
func TestHostile3ObjectKeyLogins(t *testing.T) {
	s := startServer(t)
	bin := chatdtest.Binary(t)
	logins := []string{"constructor", "tostring", "hasownproperty", "proto__", "0", "1e3"}
	for _, l := range logins {
		chatdtest.AdminSet(t, bin, s.dir, l, agentPassword)
	}
	s.restart()
	v := dialVisitor(t, s, "Ann", "", nil)
	v.send("hello")
	agent := newBrowser(t)
	errs := pageErrors(t, agent)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, v.ID)
	waitFor(t, agent, "the agents known", `!!document.querySelector('#conv-tools select.assign option[value="1e3"]')`)
	offered := evalJS[[]string](t, agent, `[...document.querySelectorAll('#conv-tools select.assign option')].map(o => o.value)`)
	for _, l := range logins {
		found := false
		for _, o := range offered {
			found = found || o == l
		}
		if !found {
			t.Errorf("%q is not offered as an assignee: %q", l, offered)
		}
	}
	for _, l := range logins {
		a := newAgentAs(t, s, l, agentPassword)
		a.waitFrame("admin:replayed", nil)
		a.send("admin:typing", map[string]any{"client": v.ID, "typing": true})
		waitFor(t, agent, l+" typing", fmt.Sprintf(`(() => { const e = document.querySelector('#conv-activity .agent-typing'); return !!e && e.textContent.includes(%s); })()`, js(l+" is typing")))
		a.send("admin:typing", map[string]any{"client": v.ID, "typing": false})
		waitFor(t, agent, l+" stopped typing", `!document.querySelector('#conv-activity .agent-typing')`)
		a.leave()
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("the portal threw: %q", e)
	}
}
