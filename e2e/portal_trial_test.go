package e2e

// What a newcomer's trial of the portal found (text rewritten on the way,
// searches that find nothing without saying why, refused requests in normal
// use, two names for one agent): each test drives the real portal.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/chatd/chatd/internal/chatdtest"
)

// setReply puts text in the reply box as a paste does (the input event
// follows) and presses the Send button.
func setReply(t *testing.T, tab context.Context, text string) {
	t.Helper()
	evalJS[bool](t, tab, fmt.Sprintf(`(() => { const b = document.getElementById('reply-text'); b.value = %s; b.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`, js(text)))
	click(t, tab, "#reply-send")
}

// The portal sends an agent's reply and note exactly as typed: white space
// at either end is part of pasted code or logs. Only blank text is not sent.
func TestPortalSendsTextAsTyped(t *testing.T) {
	s := startInbox(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("how do I start it?")
	agent, _ := newTab(t, newBrowser(t))
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, ann.ID)

	replies := []string{
		"    $ chatd --help\n    $ chatd version  ", // the trial's paste
		"\tindented with a tab",
		"trailing new lines\n\n",
		"\n\nleading new lines",
		"\u00a0no-break space around\u00a0",
		"\u3000ideographic space",
		"  ```\n  code block\n  ```  ",
	}
	for _, text := range replies {
		setReply(t, agent, text)
		waitPortalCount(t, agent, text, 1)
		ann.framesUntil(messageWith(text)) // byte for byte, or framesUntil times out
	}

	// A note too.
	click(t, agent, "#mode-note")
	note := "  internal: see\n    the log above  "
	setReply(t, agent, note)
	waitPortalCount(t, agent, note, 1)
	click(t, agent, "#mode-reply")

	// Blank text is not sent and stays in the box.
	for _, blank := range []string{"   ", "\n\t\n", "\u00a0\u3000"} {
		setReply(t, agent, blank)
		if got := evalJS[string](t, agent, `document.getElementById('reply-text').value`); got != blank {
			t.Errorf("blank %q: the box holds %q after Send, want it kept", blank, got)
		}
		if n := evalJS[int](t, agent, `document.querySelectorAll('#message-list .msg.pending').length`); n != 0 {
			t.Errorf("blank %q was queued for sending", blank)
		}
	}
	evalJS[bool](t, agent, `(document.getElementById('reply-text').value = '', true)`)
	marker := "after the blanks"
	setReply(t, agent, marker)
	for _, f := range ann.framesUntil(messageWith(marker)) {
		var m wsMessage
		if f.Type == "client:message" && json.Unmarshal(f.Data, &m) == nil && strings.TrimSpace(m.Text) == "" {
			t.Errorf("a blank message reached the visitor: %q", m.Text)
		}
	}
}

// Canned replies are saved and inserted exactly as written; the shortcut, an
// identifier, is trimmed. A display name is sent as typed: white space around
// it is refused by the server with a message, never silently cut.
func TestPortalCannedAndAgentTextAsTyped(t *testing.T) {
	s := startInbox(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("how do I build it?")
	agent, _ := newTab(t, newBrowser(t))
	portalLogin(t, agent, s, true)

	canned := "  Run:\n    make test\n  then tell me, {{name}}.\n"
	click(t, agent, "#canned-open")
	run(t, agent,
		chromedp.SetValue(chromedp.ID("canned-shortcut"), " build "),
		chromedp.SetValue(chromedp.ID("canned-text"), canned),
		chromedp.Click(chromedp.ID("canned-save")))
	waitFor(t, agent, "listed in the dialog", `[...document.querySelectorAll('#canned-list .canned-sc')].some(e => e.textContent === '/build')`)
	var list []struct{ Shortcut, Text string }
	getJSON(t, s, agent, "/api/canned", &list)
	if len(list) != 1 || list[0].Shortcut != "build" || list[0].Text != canned {
		t.Fatalf("GET /api/canned = %+v, want build -> %q", list, canned)
	}

	// The display name: white space around it is refused, the agent told why.
	run(t, agent, chromedp.Click(chromedp.ID("canned-close")))
	click(t, agent, "#agents-open")
	waitFor(t, agent, "the agents listed", `document.querySelector('#agents-list .agent-row[data-agent="bob"]') !== null`)
	run(t, agent,
		chromedp.SetValue(chromedp.ID("agent-name"), " bob "),
		chromedp.SetValue(chromedp.ID("agent-display"), " Bob B. "),
		chromedp.Click(chromedp.ID("agent-save")))
	waitFor(t, agent, "the refusal shown", `!document.getElementById('agents-error').hidden && document.getElementById('agents-error').textContent.includes('white space')`)
	run(t, agent,
		chromedp.SetValue(chromedp.ID("agent-display"), "Bob  B."),
		chromedp.Click(chromedp.ID("agent-save")))
	waitFor(t, agent, "bob's display name as typed", `(() => { const r = document.querySelector('#agents-list .agent-row[data-agent="bob"] .canned-preview'); return !!r && r.textContent.startsWith('Bob  B. · '); })()`)
	run(t, agent, chromedp.Click(chromedp.ID("agents-close")))

	portalSelect(t, agent, ann.ID)
	run(t, agent, chromedp.SendKeys(chromedp.ID("reply-text"), "/bu"))
	waitFor(t, agent, "the offer", `!document.getElementById('canned-pop').hidden`)
	pressEnter(t, agent)
	want := "  Run:\n    make test\n  then tell me, Ann.\n"
	waitFor(t, agent, "the reply inserted as written", fmt.Sprintf(`document.getElementById('reply-text').value === %s`, js(want)))
	pressEnter(t, agent)
	waitPortalCount(t, agent, want, 1)
	ann.framesUntil(messageWith(want))
}

// getJSON GETs path with the token of the agent signed in in tab.
func getJSON(t *testing.T, s *server, tab context.Context, path string, v any) {
	t.Helper()
	token := evalJS[string](t, tab, `sessionStorage.getItem('chatd.portal.token') || ''`)
	if token == "" {
		t.Fatal("no token in the portal's storage")
	}
	req, err := http.NewRequest("GET", s.url()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// A search for an emoji or punctuation alone is refused by the server (the
// index holds words); the portal shows why and what search looks through,
// never "Nothing found." for a message that holds it.
func TestPortalSearchWithoutWords(t *testing.T) {
	s := startInbox(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("Thanks!! 👍🏽 the parcel 🚚 came in 2–3 days")
	agent, _ := newTab(t, newBrowser(t))
	portalLogin(t, agent, s, true)
	search := func(q string) {
		t.Helper()
		evalJS[bool](t, agent, `(document.getElementById('search').value = '', document.getElementById('search-results').replaceChildren(), true)`)
		run(t, agent, chromedp.SendKeys(chromedp.ID("search"), q))
		pressEnter(t, agent)
	}
	notes := `[...document.querySelectorAll('#search-results .search-note')].map(e => e.textContent).join(' | ')`
	for _, q := range []string{"🚚", "👍🏽", "!!", "😀😃", "––", "🏳️‍🌈"} {
		search(q)
		waitFor(t, agent, "the refusal for "+q, fmt.Sprintf(`(() => { const n = %s; return n.includes('holds no word') && n.includes('letters and digits') && n.includes('visitors by their name'); })()`, notes))
		if got := evalJS[string](t, agent, notes); strings.Contains(got, "Nothing found") {
			t.Errorf("search %q shows %q", q, got)
		}
	}
	for _, q := range []string{"days 🚚", "parcel!!"} {
		search(q)
		waitFor(t, agent, "the message found by "+q, `document.querySelectorAll('#search-results .search-hit').length === 1`)
	}
	search("zanzibar")
	waitFor(t, agent, "nothing found for a word", fmt.Sprintf(`%s === 'Nothing found.'`, notes))
}

// failedAPIJS lists the portal's requests to /api/ refused with 401 or 403
// (Resource Timing's responseStatus), as "status path".
const failedAPIJS = `performance.getEntriesByType('resource').filter(e => e.name.includes('/api/') && (e.responseStatus === 401 || e.responseStatus === 403)).map(e => e.responseStatus + ' ' + new URL(e.name).pathname)`

// An agent without the admin role uses the portal's dialogs (Agents,
// Notifications, the details panel) without one refused request: it sees
// its colleagues in the Agents dialog from the socket's admin:agents.
func TestPortalAgentRoleMakesNoRefusedRequests(t *testing.T) {
	s := startInbox(t)
	if code, out, errOut := chatdtest.Run(t, chatdtest.Binary(t), "", nil, "admin", "set", agentName, "--display", "Alice A.", "--data", s.dir); code != 0 {
		t.Fatalf("chatd admin set --display: exit %d\n%s%s", code, out, errOut)
	}
	s.restart()
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("hello")
	alice, bob := twoAgents(t, s)
	waitFor(t, bob, "the session read", `performance.getEntriesByType('resource').some(e => e.name.endsWith('/api/session'))`)

	click(t, bob, "#agents-open")
	waitFor(t, bob, "the colleagues listed", `(() => { const r = document.querySelector('#agents-list .agent-row[data-agent="agent"] .canned-preview'); return !!r && r.textContent.startsWith('Alice A. · online') && !!document.querySelector('#agents-list .agent-row[data-agent="bob"]'); })()`)
	if !evalJS[bool](t, bob, `document.getElementById('agents-add').hidden && document.getElementById('agent-save').hidden`) {
		t.Error("an agent is offered the form to change agents")
	}
	// Live: alice goes away; the open dialog follows.
	evalJS[bool](t, alice, `(() => { const s = document.getElementById('status'); s.value = 'away'; s.dispatchEvent(new Event('change')); return true; })()`)
	waitFor(t, bob, "alice away", `document.querySelector('#agents-list .agent-row[data-agent="agent"] .canned-preview').textContent.startsWith('Alice A. · away')`)
	click(t, bob, "#agents-close")

	click(t, bob, "#settings-open")
	waitFor(t, bob, "the notification settings", `document.getElementById('set-push-note').textContent !== 'Checking…' && document.getElementById('webhooks').hidden`)
	click(t, bob, "#settings-close")

	portalSelect(t, bob, ann.ID)
	click(t, bob, "#conv-tools .details")
	waitFor(t, bob, "the privacy section without its buttons", `(() => { const n = document.querySelector('#context .ctx-role-note'); const x = document.querySelector('#context .ctx-export'); return !!n && n.offsetParent !== null && !!x && x.offsetParent === null; })()`)

	// The admin still gets the full dialog.
	click(t, alice, "#agents-open")
	waitFor(t, alice, "the admin's list from the API", `!document.getElementById('agents-add').hidden && document.querySelector('#agents-list .agent-row[data-agent="bob"] .agent-delete') !== null`)

	if got := evalJS[[]string](t, bob, failedAPIJS); len(got) > 0 {
		t.Errorf("the agent's portal made refused requests: %q", got)
	}
}

// A canned reply's placeholder with nothing to fill it ({{email}} of a
// visitor who left no address) is left empty, and the portal says so under
// the reply box before the agent sends; with a value there is no warning.
func TestPortalCannedEmptyPlaceholderWarns(t *testing.T) {
	s := startInbox(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("when will you write?")
	bo := dialVisitor(t, s, "Bo", "", nil)
	bo.send("and to me?")
	bo.write("client:email", map[string]string{"email": "Bo.Lee@Example.COM"})
	bo.readUntil("client:email")
	agent, _ := newTab(t, newBrowser(t))
	portalLogin(t, agent, s, true)
	click(t, agent, "#canned-open")
	run(t, agent,
		chromedp.SetValue(chromedp.ID("canned-shortcut"), "write"),
		chromedp.SetValue(chromedp.ID("canned-text"), "Hi {{name}}, we will write to {{ email }} soon."),
		chromedp.Click(chromedp.ID("canned-save")))
	waitFor(t, agent, "listed", `[...document.querySelectorAll('#canned-list .canned-sc')].some(e => e.textContent === '/write')`)
	click(t, agent, "#canned-close")

	warning := `(() => { const w = document.getElementById('canned-warn'); return w && !w.hidden ? w.textContent : ''; })()`
	portalSelect(t, agent, ann.ID)
	run(t, agent, chromedp.SendKeys(chromedp.ID("reply-text"), "/wr"))
	waitFor(t, agent, "the offer", `!document.getElementById('canned-pop').hidden`)
	pressEnter(t, agent)
	want := "Hi Ann, we will write to  soon."
	waitFor(t, agent, "the reply inserted", fmt.Sprintf(`document.getElementById('reply-text').value === %s`, js(want)))
	if got := evalJS[string](t, agent, warning); !strings.Contains(got, "{{email}}") || strings.Contains(got, "{{name}}") {
		t.Errorf("warning %q, want one naming {{email}} only", got)
	}
	pressEnter(t, agent)
	waitPortalCount(t, agent, want, 1)
	waitFor(t, agent, "the warning gone once sent", `document.getElementById('canned-warn').hidden`)

	portalSelect(t, agent, bo.ID)
	waitFor(t, agent, "bo's address known", `document.querySelector('.contact-email') && document.querySelector('.contact-email').textContent === 'Bo.Lee@Example.COM'`)
	run(t, agent, chromedp.SendKeys(chromedp.ID("reply-text"), "/wr"))
	waitFor(t, agent, "the offer", `!document.getElementById('canned-pop').hidden`)
	pressEnter(t, agent)
	waitFor(t, agent, "the reply with the address as given", fmt.Sprintf(`document.getElementById('reply-text').value === %s`, js("Hi Bo, we will write to Bo.Lee@Example.COM soon.")))
	if got := evalJS[string](t, agent, warning); got != "" {
		t.Errorf("warning %q with every placeholder filled", got)
	}
}
