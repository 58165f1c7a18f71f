package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// shown is true when the element css takes space on the page.
func shown(css string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })()`, js(css))
}

// The portal as each role sees it: canned-reply changes only with the admin
// role, a note marked as a note in the list and in search results, the
// empty view of a filter, the filter tooltips, the session's names, and the
// Canned replies and Agents buttons on a phone.
func TestInboxPortalRolesAndMarks(t *testing.T) {
	s := startInbox(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("can I get a refund?")
	alice, bob := twoAgents(t, s)

	// Roles: bob (agent) sees the replies but no controls that would fail.
	for _, tc := range []struct {
		tab  context.Context
		role string
	}{{alice, "admin"}, {bob, "agent"}} {
		waitFor(t, tc.tab, "the session's role", fmt.Sprintf(`import('/portal/state.js').then(m => m.S.role === %s)`, js(tc.role)))
	}
	click(t, alice, "#canned-open")
	run(t, alice,
		chromedp.SetValue(chromedp.ID("canned-shortcut"), "refund"),
		chromedp.SetValue(chromedp.ID("canned-text"), "Refunds take 5 days."),
		chromedp.Click(chromedp.ID("canned-save")))
	waitFor(t, alice, "listed with its controls", shown(`#canned-list .canned-row[data-shortcut="refund"] .canned-edit-one`))
	click(t, bob, "#canned-open")
	waitFor(t, bob, "the reply listed", shown(`#canned-list .canned-row[data-shortcut="refund"]`))
	for _, css := range []string{`#canned-list .canned-edit-one`, `#canned-list .canned-delete`, `#canned-save`, `#canned-shortcut`, `#canned-text`} {
		if evalJS[bool](t, bob, shown(css)) {
			t.Errorf("the agent role sees %s", css)
		}
	}
	if !evalJS[bool](t, bob, shown(`#canned-close`)) {
		t.Error("the agent role cannot close the dialog")
	}
	click(t, bob, "#canned-close")
	click(t, alice, "#canned-close")

	// bob has no display name: other agents and his own session say "bob", visitors "Support".
	sess := evalJSAwait[string](t, bob, `fetch('/api/session', {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('chatd.portal.token')}}).then(r => r.text())`)
	var who struct {
		Display        string `json:"display"`
		VisitorDisplay string `json:"visitor_display"`
	}
	if json.Unmarshal([]byte(sess), &who); who.Display != bobName || who.VisitorDisplay != "Support" {
		t.Fatalf("bob's session: %s", sess)
	}

	// A note as the latest message reads as a note in the list, for both agents, and in search.
	portalSelect(t, alice, ann.ID)
	click(t, alice, "#mode-note")
	run(t, alice, chromedp.SendKeys(chromedp.ID("reply-text"), "approved by finance"), chromedp.Click(chromedp.ID("reply-send")))
	for _, tab := range []context.Context{alice, bob} {
		waitFor(t, tab, "the note in the list", fmt.Sprintf(`(() => { const p = %s.querySelector('.visitor-preview'); return !!p && p.textContent === 'Note: approved by finance'; })()`, rowJS(ann.ID)))
	}
	run(t, bob, chromedp.SendKeys(chromedp.ID("search"), "finance"))
	waitFor(t, bob, "the note hit marked", `(() => { const h = document.querySelector('#search-results .search-hit'); return !!h && h.classList.contains('note-hit') && h.querySelector('.search-snippet').textContent === 'Note: approved by finance'; })()`)

	// An empty view says so; the Mine tooltip reads as English.
	click(t, alice, `.filter[data-filter="resolved"]`)
	waitFor(t, alice, "the empty view", `!document.getElementById('no-visitors').hidden && document.getElementById('no-visitors').textContent === 'No conversations in this view.'`)
	if got := evalJS[string](t, alice, `document.querySelector('.filter[data-filter="mine"]').title`); got != "Show my conversations" {
		t.Errorf("Mine's tooltip %q", got)
	}
	click(t, alice, `.filter[data-filter="all"]`)

	// On a phone, both dialogs stay reachable.
	phone(t, alice)
	for _, css := range []string{"#canned-open", "#agents-open"} {
		waitFor(t, alice, css+" on a phone", fmt.Sprintf(`%s && document.querySelector(%s).getBoundingClientRect().right <= innerWidth`, shown(css), js(css)))
	}
	click(t, alice, "#agents-open")
	waitFor(t, alice, "the agents dialog on a phone", `document.getElementById('agents-dialog') && document.getElementById('agents-dialog').open`)
}
