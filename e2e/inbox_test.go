package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/chatd/chatd/internal/chatdtest"
)

// The inbox in the portal, with two agents in two browsers: "agent" (the
// harness's) and bob.
const (
	bobName     = "bob"
	bobPassword = "bob's long password"
)

// startInbox starts chatd with the agents agent (admin role) and bob (agent role).
func startInbox(t *testing.T, extra ...string) *server {
	t.Helper()
	s := startServer(t, extra...)
	chatdtest.AdminSet(t, chatdtest.Binary(t), s.dir, bobName, bobPassword)
	makeAdmin(t, s)
	return s
}

// makeAdmin gives the harness's agent the admin role (`chatd admin set` makes
// agents) and restarts s so it takes the file.
func makeAdmin(t *testing.T, s *server) {
	t.Helper()
	if code, out, errOut := chatdtest.Run(t, chatdtest.Binary(t), "", nil, "admin", "set", agentName, "--role", "admin", "--data", s.dir); code != 0 {
		t.Fatalf("chatd admin set --role admin: exit %d\n%s%s", code, out, errOut)
	}
	s.restart()
}

// twoAgents signs agent and bob in, each in a browser of their own.
func twoAgents(t *testing.T, s *server) (alice, bob context.Context) {
	t.Helper()
	alice, _ = newTab(t, newBrowser(t))
	portalLogin(t, alice, s, true)
	bob, _ = newTab(t, newBrowser(t))
	run(t, bob, chromedp.Navigate(s.url()+"/portal/"))
	portalLoginAs(t, bob, bobName, bobPassword)
	return alice, bob
}

// shopVisitor opens the widget on a shop page of a second origin and sends
// first, confirmed: a visitor with a conversation. d.tab is the visitor's tab.
func shopVisitor(t *testing.T, s *server, first string) (*hostSite, hostDoc) {
	t.Helper()
	site := newHostSite(t, s, map[string]hostPage{"/shop": {html: hostHTML("", "", "")}})
	tab, _ := newTab(t, newBrowser(t))
	run(t, tab, chromedp.Navigate(site.URL+"/shop"))
	d := hostDoc{t: t, tab: tab}
	d.open()
	d.send(first)
	d.confirmed(first)
	return site, d
}

// rowHas is true when visitor id's row shows a tag with text.
func rowHas(id, text string) string {
	return fmt.Sprintf(`(() => { const b = %s; return !!b && [...b.querySelectorAll('.tag')].some(e => e.textContent === %s); })()`, rowJS(id), js(text))
}

// countIs is true when the filter tab f shows count n.
func countIs(f string, n int) string {
	return fmt.Sprintf(`(() => { const b = document.querySelector('.filter[data-filter=%s] .filter-count'); return !!b && b.textContent === %s; })()`, js(f), js(fmt.Sprint(n)))
}

// pillIs is true when the open conversation's state pill reads text.
func pillIs(text string) string {
	return fmt.Sprintf(`(() => { const p = document.querySelector('#conv-tools .state-pill'); return !!p && p.textContent === %s; })()`, js(text))
}

func click(t *testing.T, tab context.Context, css string) {
	t.Helper()
	run(t, tab, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.Click(chromedp.CSS(css)))
}

// choose selects value in the select css and fires its change event.
func choose(t *testing.T, tab context.Context, css, value string) {
	t.Helper()
	waitFor(t, tab, "the option "+value+" in "+css, fmt.Sprintf(`[...document.querySelector(%s).options].some(o => o.value === %s)`, js(css), js(value)))
	evalJS[bool](t, tab, fmt.Sprintf(`(() => { const s = document.querySelector(%s); s.value = %s; s.dispatchEvent(new Event('change')); return true; })()`, js(css), js(value)))
}

// pressEnter presses Enter in the focused element the way a keyboard does:
// one keydown whose default action (a new line) a handler may prevent.
// (SendKeys sends the character as a separate event that no handler can stop.)
func pressEnter(t *testing.T, tab context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	for _, ev := range []input.DispatchKeyEventParams{
		{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", Text: "\r", WindowsVirtualKeyCode: 13},
		{Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13},
	} {
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, ev); err != nil {
			t.Fatalf("press Enter: %v", err)
		}
	}
}

// framesUntil reads frames of v until stop returns true for one, and returns them all.
func (v *wsVisitor) framesUntil(stop func(wsFrame) bool) []wsFrame {
	v.t.Helper()
	var out []wsFrame
	for {
		f := v.read()
		out = append(out, f)
		if stop(f) {
			return out
		}
	}
}

// messageFrom is true for a client:message holding text.
func messageWith(text string) func(wsFrame) bool {
	return func(f wsFrame) bool {
		var m wsMessage
		return f.Type == "client:message" && json.Unmarshal(f.Data, &m) == nil && m.Text == text
	}
}

// States, filters, counts and assignment, as the other agent sees them.
func TestInboxStatesAndAssignment(t *testing.T) {
	s := startInbox(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("hello, anyone?")
	dialVisitor(t, s, "Quiet Quinn", "", nil) // never writes: in "All" only
	alice, bob := twoAgents(t, s)
	for _, tab := range []context.Context{alice, bob} {
		waitFor(t, tab, "the counts", countIs("open", 1)+" && "+countIs("unassigned", 1)+" && "+countIs("all", 2)+" && "+countIs("mine", 0))
		waitFor(t, tab, "Ann unassigned", rowHas(ann.ID, "Unassigned"))
	}

	// agent takes it: bob sees who has it, in the row and in the header.
	portalSelect(t, alice, ann.ID)
	click(t, alice, "#conv-tools .take")
	waitFor(t, alice, "mine", countIs("mine", 1)+" && "+countIs("unassigned", 0)+` && document.querySelector('#conv-tools select.assign').value === 'agent'`)
	waitFor(t, bob, "agent's", rowHas(ann.ID, agentName)+" && "+countIs("mine", 0)+" && "+countIs("unassigned", 0))
	portalSelect(t, bob, ann.ID)
	waitFor(t, bob, "the header names agent", `document.querySelector('#conv-tools select.assign').value === 'agent' && `+pillIs("Open"))

	// bob resolves it; the Open tab no longer lists Ann, Resolved does.
	click(t, bob, "#conv-tools .resolve")
	waitFor(t, alice, "resolved", pillIs("Resolved")+" && "+countIs("resolved", 1)+" && "+countIs("open", 0)+" && "+rowHas(ann.ID, "Resolved"))
	click(t, alice, ".filter[data-filter=open]")
	portalSelect(t, bob, ann.ID)
	evalJS[bool](t, alice, `(document.querySelector('#back').click(), true)`)
	waitFor(t, alice, "Ann listed under Open only while open", `document.querySelector('.filter[data-filter=open]').classList.contains('selected')`)
	evalJS[bool](t, alice, `(sessionStorage.setItem('chatd.portal.selected', ''), true)`)
	run(t, alice, chromedp.Reload())
	waitPortalConnected(t, alice)
	waitFor(t, alice, "Open filter kept, Ann not in it", `document.querySelector('.filter[data-filter=open]').classList.contains('selected') && !`+rowJS(ann.ID))
	click(t, alice, ".filter[data-filter=resolved]")
	waitFor(t, alice, "Ann under Resolved", rowJS(ann.ID)+" !== null")

	// Ann writes again: the conversation reopens for both, still agent's.
	ann.send("me again")
	waitFor(t, bob, "reopened", pillIs("Open")+" && "+countIs("open", 1)+" && "+countIs("resolved", 0))
	click(t, alice, ".filter[data-filter=open]")
	waitFor(t, alice, "Ann back under Open", rowJS(ann.ID)+" !== null && "+countIs("mine", 1))

	// agent gives it to bob; bob snoozes it.
	portalSelect(t, alice, ann.ID)
	choose(t, alice, "#conv-tools select.assign", bobName)
	waitFor(t, bob, "bob's now", countIs("mine", 1)+` && document.querySelector('#conv-tools select.assign').value === 'bob'`)
	waitFor(t, alice, "bob's for agent too", countIs("mine", 0)+" && "+rowHas(ann.ID, bobName))
	choose(t, bob, "#conv-tools select.snooze", "0")
	waitFor(t, alice, "snoozed", pillIs("Snoozed")+" && "+countIs("snoozed", 1)+" && "+rowHas(ann.ID, "Snoozed"))
	screenshot(t, alice, "inbox-list.png")
}

// Who views and who types, and notes that never reach the visitor.
func TestInboxCollisionTypingAndNotes(t *testing.T) {
	s := startInbox(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("is my order shipped?")
	alice, bob := twoAgents(t, s)
	portalSelect(t, alice, ann.ID)
	portalSelect(t, bob, ann.ID)
	waitFor(t, alice, "bob viewing", `document.getElementById('conv-activity').textContent.includes('Also viewing: bob')`)
	waitFor(t, bob, "agent viewing, by display name and login", fmt.Sprintf(`document.getElementById('conv-activity').textContent.includes(%s)`, js("Also viewing: "+agentDisplay+" ("+agentName+")")))
	waitFor(t, bob, "the eye in the row", fmt.Sprintf(`%s.querySelector('.tag.viewers') !== null`, rowJS(ann.ID)))

	// agent types a reply: bob sees it, the visitor sees the agent's display name typing (never the login).
	run(t, alice, chromedp.SendKeys(chromedp.ID("reply-text"), "Let me check"))
	waitFor(t, bob, "agent typing", fmt.Sprintf(`document.querySelector('#conv-activity .agent-typing') && document.querySelector('#conv-activity .agent-typing').textContent.startsWith(%s)`, js(agentDisplay+" ("+agentName+") is typing")))
	fs := ann.framesUntil(func(f wsFrame) bool { return f.Type == "client:typing" })
	var typing struct {
		Typing bool   `json:"typing"`
		Admin  string `json:"admin"`
	}
	json.Unmarshal(fs[len(fs)-1].Data, &typing)
	if !typing.Typing || typing.Admin != agentDisplay {
		t.Fatalf("the visitor got %s", fs[len(fs)-1].Data)
	}

	// The visitor types: both agents see it, without a preview (the flag is off).
	ann.write("client:typing", map[string]any{"typing": true, "text": "secret draft"})
	for _, tab := range []context.Context{alice, bob} {
		waitFor(t, tab, "Ann typing", `document.querySelector('#conv-activity .visitor-typing') && document.querySelector('#conv-activity .visitor-typing').textContent === 'Ann is typing…'`)
		if got := evalJS[string](t, tab, `document.body.innerText`); strings.Contains(got, "secret draft") {
			t.Fatal("a preview was shown while previews are off")
		}
	}

	// A note: switching to notes ends the typing the visitor saw; nothing of the note reaches it.
	evalJS[bool](t, alice, `(document.getElementById('reply-text').value = '', document.getElementById('reply-text').dispatchEvent(new Event('input')), true)`)
	click(t, alice, "#mode-note")
	ann.framesUntil(func(f wsFrame) bool {
		return f.Type == "client:typing" && strings.Contains(string(f.Data), `"typing":false`)
	})
	run(t, alice, chromedp.SendKeys(chromedp.ID("reply-text"), "internal: refund approved"), chromedp.Click(chromedp.ID("reply-send")))
	for _, tab := range []context.Context{alice, bob} {
		waitFor(t, tab, "the note shown as a note", `[...document.querySelectorAll('#message-list .msg.note .text')].some(e => e.textContent === 'internal: refund approved') && document.querySelector('#message-list .msg.note .note-label') !== null`)
	}
	// Everything the visitor got up to its own next message: no note, no typing.
	ann.write("client:message", map[string]any{"cid": "sentinel-1", "text": "sentinel"})
	fs = ann.framesUntil(messageWith("sentinel"))
	for _, f := range fs {
		if strings.Contains(string(f.Data), "refund approved") {
			t.Fatalf("the visitor received the note: %s", f.Data)
		}
		if f.Type == "client:typing" && strings.Contains(string(f.Data), `"typing":true`) {
			t.Fatalf("the visitor saw typing while the agent wrote a note: %s", f.Data)
		}
	}
	click(t, alice, "#mode-reply")
	portalReply(t, alice, "Your order left yesterday")
	ann.framesUntil(messageWith("Your order left yesterday"))
	// A fresh visitor socket replays no note either.
	again := dialVisitor(t, s, "Ann", ann.Token, nil)
	fs = again.framesUntil(func(f wsFrame) bool { return f.Type == "client:replayed" })
	for _, f := range fs {
		if strings.Contains(string(f.Data), "refund approved") {
			t.Fatalf("the replay holds the note: %s", f.Data)
		}
	}
	screenshot(t, bob, "inbox-conversation-note.png")
}

// Canned replies: agent adds one in the dialog, bob inserts it with /shortcut.
func TestInboxCannedReplies(t *testing.T) {
	s := startInbox(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("do you ship to Norway?")
	alice, bob := twoAgents(t, s)
	click(t, alice, "#canned-open")
	run(t, alice,
		chromedp.SetValue(chromedp.ID("canned-shortcut"), "ship"),
		chromedp.SetValue(chromedp.ID("canned-text"), "Hi {{name}}, yes: we ship to Norway. {{agent}}"),
		chromedp.Click(chromedp.ID("canned-save")))
	waitFor(t, alice, "listed in the dialog", `[...document.querySelectorAll('#canned-list .canned-sc')].some(e => e.textContent === '/ship')`)
	run(t, alice,
		chromedp.SetValue(chromedp.ID("canned-shortcut"), "Bad Shortcut"),
		chromedp.SetValue(chromedp.ID("canned-text"), "x"),
		chromedp.Click(chromedp.ID("canned-save")))
	waitFor(t, alice, "the refusal shown", `!document.getElementById('canned-error').hidden && document.getElementById('canned-error').textContent.includes('shortcut')`)
	click(t, alice, "#canned-close")

	portalSelect(t, bob, ann.ID)
	run(t, bob, chromedp.SendKeys(chromedp.ID("reply-text"), "/sh"))
	waitFor(t, bob, "the offer", `!document.getElementById('canned-pop').hidden && document.querySelector('#canned-pop .canned-item.selected').dataset.shortcut === 'ship'`)
	pressEnter(t, bob)
	want := "Hi Ann, yes: we ship to Norway. Support"
	waitFor(t, bob, "the reply inserted", fmt.Sprintf(`document.getElementById('reply-text').value === %s && document.getElementById('canned-pop').hidden`, js(want)))
	pressEnter(t, bob)
	waitPortalCount(t, bob, want, 1)
	ann.framesUntil(messageWith(want))
}

// The details panel: what the widget tells (page trail through pushState,
// language, time zone, referrer, browser) and previous conversations.
func TestInboxContextPanel(t *testing.T) {
	s := startInbox(t)
	site := newHostSite(t, s, map[string]hostPage{
		"/shop": {html: hostHTML("", `<script>window.__nav = function (p, title) { document.title = title; history.pushState({}, '', p); return true; };</script>`, "")},
	})
	visitorTab, _ := newTab(t, newBrowser(t))
	emulateZone(t, visitorTab, "Asia/Tokyo")
	run(t, visitorTab, chromedp.Navigate(site.URL+"/shop?from=ad"))
	d := hostDoc{t: t, tab: visitorTab}
	d.open()
	d.send("where is the cart?")
	d.confirmed("where is the cart?")
	alice, bob := twoAgents(t, s)
	id := evalJS[string](t, alice, `document.querySelector('#visitors button.visitor').dataset.id`)
	portalSelect(t, alice, id)
	click(t, alice, "#conv-tools .details")
	waitFor(t, alice, "the panel", `!document.getElementById('context').hidden && document.querySelector('#context .ctx-list')`)
	panel := `document.getElementById('context-body').innerText`
	waitFor(t, alice, "browser, zone, language", fmt.Sprintf(`%s.includes('Chrome') && %s.includes('Asia/Tokyo') && %s.includes('Language') && %s.includes('Visits')`, panel, panel, panel, panel))
	// The full load told the page's title (meta.title), not only its address.
	waitFor(t, alice, "the first page's title", `document.querySelector('#context .ctx-now') && document.querySelector('#context .ctx-now').textContent.includes('Customer site')`)
	// The visitor navigates without a load: the panel follows.
	evalJS[bool](t, visitorTab, `window.__nav('/shop/cart', 'Your cart')`)
	evalJS[bool](t, visitorTab, `(dispatchEvent(new PopStateEvent('popstate')), true)`)
	waitFor(t, alice, "the new page", fmt.Sprintf(`document.querySelector('#context .ctx-now') && document.querySelector('#context .ctx-now').textContent.includes('Your cart')`))
	// bob resolves; the visitor writes again: the panel lists the earlier part.
	portalSelect(t, bob, id)
	click(t, bob, "#conv-tools .resolve")
	waitFor(t, alice, "resolved", pillIs("Resolved"))
	d.send("one more question")
	d.confirmed("one more question")
	waitFor(t, alice, "two parts", `document.querySelectorAll('#context .ctx-conv').length === 2`)
	waitFor(t, alice, "counts and dates, not offsets", `[...document.querySelectorAll('#context .ctx-conv')].every(b => b.textContent.includes('1 message, from') && !b.textContent.includes('#'))`)
	click(t, alice, "#context .ctx-conv:last-child")
	screenshot(t, alice, "inbox-context.png")
	phone(t, alice)
	waitFor(t, alice, "the panel on a phone", `document.getElementById('context').getBoundingClientRect().width <= 375`)
	screenshot(t, alice, "inbox-phone.png")
}

// Search: a result opens the conversation at the message, also one older
// than the replay (the portal loads history until it is there); bob finds
// the note agent wrote.
func TestInboxSearch(t *testing.T) {
	s := startInbox(t, "--msg-rate", "100000", "--msg-burst", "100000")
	id := bulkVisitor(t, s, 1030)
	alice, bob := twoAgents(t, s)
	portalSelect(t, alice, id)
	click(t, alice, "#mode-note")
	run(t, alice, chromedp.SendKeys(chromedp.ID("reply-text"), "zebra crossing at the depot"), chromedp.Click(chromedp.ID("reply-send")))
	waitPortalCount(t, alice, "zebra crossing at the depot", 1)

	search := func(tab context.Context, q string) {
		t.Helper()
		evalJS[bool](t, tab, `(document.getElementById('search').value = '', true)`)
		run(t, tab, chromedp.SendKeys(chromedp.ID("search"), q))
	}
	search(bob, "Bulk 7")
	waitFor(t, bob, "one result", `document.querySelectorAll('#search-results .search-hit').length === 1 && document.querySelector('#search-results .search-snippet').textContent === 'bulk 7' && document.getElementById('visitors').hidden`)
	click(t, bob, "#search-results .search-hit")
	waitFor(t, bob, "the message found, loaded from the history", `(() => { const m = [...document.querySelectorAll('#message-list .msg .text')].find(e => e.textContent === 'bulk 7'); if (!m) return false; const r = m.getBoundingClientRect(), box = document.getElementById('messages').getBoundingClientRect(); return r.top >= box.top && r.bottom <= box.bottom; })()`)

	search(bob, "ZEBRA")
	waitFor(t, bob, "the note", `document.querySelectorAll('#search-results .search-hit').length === 1 && document.querySelector('#search-results .search-snippet').textContent === 'Note: zebra crossing at the depot' && document.querySelector('#search-results .search-hit').classList.contains('note-hit')`)
	search(bob, "bulk")
	waitFor(t, bob, "the visitor by name, then messages", `document.querySelector('#search-results .search-snippet').textContent === 'Name: Bulk Bear' && document.querySelectorAll('#search-results .search-hit').length === 50 && document.querySelector('#search-results .search-note').textContent.startsWith('More results')`)
	search(bob, "nothing matches this")
	waitFor(t, bob, "nothing found", `document.querySelector('#search-results .search-note').textContent === 'Nothing found.'`)
	search(bob, "x")
	waitFor(t, bob, "the list back", `!document.getElementById('visitors').hidden && document.getElementById('search-results').hidden`)
}

// Typing and seen as the visitor sees them in the real widget, and the
// visitor's seen as the agents see it.
func TestInboxTypingAndSeenInTheWidget(t *testing.T) {
	s := startInbox(t)
	_, d := shopVisitor(t, s, "anyone there?")
	visitorTab := d.tab
	alice, bob := twoAgents(t, s)
	id := evalJS[string](t, alice, `document.querySelector('#visitors button.visitor').dataset.id`)
	portalSelect(t, alice, id)
	d.wait("Seen under the visitor's message", inWidget(`const m = [...r.querySelectorAll('.m.me')].pop(); return !!m && m.querySelector('.sn') !== null && m.textContent.includes('Seen')`))
	run(t, alice, chromedp.SendKeys(chromedp.ID("reply-text"), "Yes, one moment"))
	d.wait("the agent's display name typing", inWidget(fmt.Sprintf(`const e = r.querySelector('.ty'); return !!e && e.textContent === %s`, js(agentDisplay+" is typing…"))))
	if got := evalJS[string](t, visitorTab, inWidget(`return r.textContent`)); strings.Contains(got, "agent") {
		t.Fatalf("the widget shows the agent's login: %q", got)
	}
	run(t, alice, chromedp.Click(chromedp.ID("reply-send")))
	waitPortalCount(t, alice, "Yes, one moment", 1)
	d.confirmed("Yes, one moment")
	d.wait("the typing line gone", inWidget(`return r.querySelector('.ty') === null`))
	// The widget is open and visible: it tells the server it saw the reply; both agents see "Seen".
	portalSelect(t, bob, id)
	for _, tab := range []context.Context{alice, bob} {
		waitFor(t, tab, "Seen under the reply", `(() => { const m = [...document.querySelectorAll('#message-list .msg.from-agent')].pop(); return !!m && m.querySelector('.seen-mark') !== null; })()`)
	}
}

// Privacy from the details panel: export, then delete; the visitor leaves
// both agents' portals and its socket is closed.
func TestInboxExportAndDelete(t *testing.T) {
	s := startInbox(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("my phone is 555-0100")
	alice, bob := twoAgents(t, s)
	portalSelect(t, alice, ann.ID)
	portalSelect(t, bob, ann.ID)
	click(t, alice, "#conv-tools .details")
	click(t, alice, "#context .ctx-export")
	// What the button downloads: the same request, made with the portal's token.
	got := evalJSAwait[string](t, alice, fmt.Sprintf(`fetch('/api/visitors/%s/export', {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('chatd.portal.token')}}).then(r => r.text())`, ann.ID))
	if !strings.Contains(got, "555-0100") || strings.Contains(got, "token_hash") {
		t.Fatalf("export: %s", got)
	}
	if evalJS[bool](t, alice, `!document.querySelector('#context .ctx-privacy-note').hidden`) {
		t.Fatal("the export button reported an error")
	}
	evalJS[bool](t, alice, `(window.confirm = () => true, true)`)
	click(t, alice, "#context .ctx-delete")
	for _, tab := range []context.Context{alice, bob} {
		waitFor(t, tab, "the visitor gone", fmt.Sprintf(`%s === null && document.getElementById('conversation').hidden`, rowJS(ann.ID)))
	}
	fs := ann.framesUntil(func(f wsFrame) bool { return f.Type == "error" })
	if f := fs[len(fs)-1]; !strings.Contains(string(f.Data), `"code":"visitor_deleted"`) {
		t.Fatalf("the visitor got %s %s", f.Type, f.Data)
	}
}

// evalJSAwait evaluates a promise-valued expression in tab and decodes its value.
func evalJSAwait[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Agents from the portal: the admin adds an agent, who signs in in another
// browser, turns two-factor login on, and then signs in with a code.
func TestInboxAgentsAndTwoFactor(t *testing.T) {
	s := startServer(t)
	makeAdmin(t, s)
	admin, _ := newTab(t, newBrowser(t))
	portalLogin(t, admin, s, true)
	click(t, admin, "#agents-open")
	waitFor(t, admin, "the agents listed", `document.querySelector('#agents-list .agent-row[data-agent="agent"]') !== null`)
	run(t, admin,
		chromedp.SetValue(chromedp.ID("agent-name"), "carol"),
		chromedp.SetValue(chromedp.ID("agent-display"), "Carol C."),
		chromedp.SetValue(chromedp.ID("agent-password"), "carol's password"),
		chromedp.Click(chromedp.ID("agent-save")))
	waitFor(t, admin, "carol listed", `document.querySelector('#agents-list .agent-row[data-agent="carol"]') !== null`)

	carol, _ := newTab(t, newBrowser(t))
	run(t, carol, chromedp.Navigate(s.url()+"/portal/"))
	portalLoginAs(t, carol, "carol", "carol's password")
	click(t, carol, "#agents-open")
	waitFor(t, carol, "an agent sees no list", `document.getElementById('agents-add').hidden`)
	evalJS[bool](t, carol, `(window.confirm = () => true, true)`)
	click(t, carol, "#my-otp")
	waitFor(t, carol, "the key shown", `!document.getElementById('agents-otp').hidden && document.querySelector('#agents-otp .otp-secret').textContent.length >= 26`)
	secret := evalJS[string](t, carol, `document.querySelector('#agents-otp .otp-secret').textContent`)
	click(t, carol, "#agents-close")
	click(t, carol, "#logout")
	run(t, carol,
		chromedp.WaitVisible(chromedp.ID("login-name")),
		chromedp.SetValue(chromedp.ID("login-name"), "carol"),
		chromedp.SetValue(chromedp.ID("login-password"), "carol's password"),
		chromedp.Click(chromedp.ID("login-submit")))
	waitFor(t, carol, "the code asked for", `!document.getElementById('login-otp').hidden && document.getElementById('login-error').textContent.includes('authenticator')`)
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run(t, carol, chromedp.SetValue(chromedp.ID("login-otp"), code), chromedp.Click(chromedp.ID("login-submit")))
	waitPortalConnected(t, carol)
	// The admin sees carol's two-factor login in the list.
	click(t, admin, "#agents-close")
	click(t, admin, "#agents-open")
	waitFor(t, admin, "carol with two-factor", `document.querySelector('#agents-list .agent-row[data-agent="carol"] .canned-preview').textContent.includes('two-factor')`)
}
