package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// storedJS counts the widget's keys in the page's localStorage and sessionStorage.
const storedJS = `Object.keys(localStorage).concat(Object.keys(sessionStorage)).filter(k => k.startsWith('chatd:')).length`

// A visitor deleted from the portal while its widget is open: the widget
// forgets everything it stored for the site, shows a fresh, empty chat,
// opens no socket until the visitor writes, and then comes back as a new
// visitor that carries nothing of the old one (not even its name).
func TestInboxDeletedVisitorWidgetForgets(t *testing.T) {
	s := startInbox(t)
	site, d := shopVisitor(t, s, "my phone is 555-0100")
	visitorTab := d.tab
	oldName := evalJS[string](t, visitorTab, `JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('chatd:') && k.endsWith(':me')))).name`)
	alice, bob := twoAgents(t, s)
	id := evalJS[string](t, alice, `document.querySelector('#visitors button.visitor').dataset.id`)
	portalSelect(t, alice, id)
	portalSelect(t, bob, id)
	click(t, alice, "#conv-tools .details")
	evalJS[bool](t, alice, `(window.confirm = () => true, true)`)
	click(t, alice, "#context .ctx-delete")
	for _, tab := range []context.Context{alice, bob} {
		waitFor(t, tab, "the visitor gone", fmt.Sprintf(`%s === null`, rowJS(id)))
	}
	d.wait("the widget emptied", inWidget(`return r.querySelectorAll('.m[data-offset], .m[data-cid]').length === 0 && r.querySelector('.r').getAttribute('data-state') === 'idle'`))
	if n := evalJS[int](t, visitorTab, storedJS); n != 0 {
		t.Fatalf("%d widget keys left in the browser's storage", n)
	}
	// Closing and opening the chat (which connects a known visitor) opens no socket.
	d.run(inWidget(`r.querySelector('.b').click(); r.querySelector('.b').click(); return true`))
	if st := evalJS[string](t, visitorTab, inWidget(`return r.querySelector('.r').getAttribute('data-state')`)); st != "idle" {
		t.Fatalf("the widget reconnected on its own: state %q", st)
	}
	// Writing again: a new visitor, with a new name, holding only the new message.
	d.send("hello again")
	d.confirmed("hello again")
	waitFor(t, alice, "a new visitor", fmt.Sprintf(`(() => { const b = document.querySelector('#visitors button.visitor'); return !!b && b.dataset.id !== %s; })()`, js(id)))
	newName := evalJS[string](t, alice, `document.querySelector('#visitors button.visitor .visitor-name').textContent`)
	if newName == oldName {
		t.Fatalf("the new visitor has the deleted one's name %q", oldName)
	}
	if got := evalJS[int](t, visitorTab, inWidget(`return r.querySelectorAll('.m[data-offset], .m[data-cid]').length`)); got != 1 {
		t.Fatalf("the widget shows %d messages after writing again, want 1", got)
	}

	// Deleted while no page of the site is open: the stored token is unknown when the
	// visitor comes back, and the new visitor does not carry the stored name either.
	secondID := evalJS[string](t, alice, `document.querySelector('#visitors button.visitor').dataset.id`)
	run(t, visitorTab, chromedp.Navigate("about:blank"))
	if code := evalJSAwait[int](t, alice, fmt.Sprintf(`fetch('/api/visitors/%s', {method: 'DELETE', headers: {Authorization: 'Bearer ' + sessionStorage.getItem('chatd.portal.token')}}).then(r => r.status)`, secondID)); code != 200 {
		t.Fatalf("delete the second visitor: %d", code)
	}
	waitFor(t, alice, "the second visitor gone", fmt.Sprintf(`%s === null`, rowJS(secondID)))
	run(t, visitorTab, chromedp.Navigate(site.URL+"/shop"))
	d.open()
	d.send("third time")
	d.confirmed("third time")
	waitFor(t, alice, "a third visitor", fmt.Sprintf(`(() => { const b = document.querySelector('#visitors button.visitor'); return !!b && b.dataset.id !== %s && b.dataset.id !== %s; })()`, js(id), js(secondID)))
	if third := evalJS[string](t, alice, `document.querySelector('#visitors button.visitor .visitor-name').textContent`); third == newName {
		t.Fatalf("the visitor deleted while away came back with its name %q", newName)
	}
}
