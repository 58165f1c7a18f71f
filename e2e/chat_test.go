package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A visitor on the demo page and an agent in the portal talk both ways.
func TestVisitorAndAgentChat(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)

	res, err := http.Get(s.url() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("demo page Content-Security-Policy = %q, want a strict script-src 'self' without unsafe-inline", csp)
	}

	visitor, _ := newTab(t, browser)
	openDemo(t, visitor, s)
	// The widget's stylesheet applies under chatd's strict CSP.
	waitFor(t, visitor, "the widget styles under CSP", inWidget(
		`return getComputedStyle(r.querySelector('.r')).position === 'fixed' && r.querySelector('.b').getBoundingClientRect().width === 60`))
	openWidget(t, visitor)
	hello := "Hello, is my order #1042 on its way?"
	widgetSend(t, visitor, hello)
	id := visitorID(t, visitor)

	agent, _ := newTab(t, browser)
	portalLogin(t, agent, s, true)
	btn := js(visitorButton(id))
	waitFor(t, agent, "the visitor online with one unread message", fmt.Sprintf(
		`(() => { const b = document.querySelector(%s); const u = b && b.querySelector('.unread'); return b && b.querySelector('.dot.online') && u && u.textContent === '1'; })()`, btn))
	portalSelect(t, agent, id)
	waitPortalCount(t, agent, hello, 1)
	waitFor(t, agent, "the unread count to clear", fmt.Sprintf(`!document.querySelector(%s + ' .unread')`, btn))

	answer := "Hi! Yes, it shipped this morning and arrives tomorrow."
	portalReply(t, agent, answer)
	waitWidgetCount(t, visitor, answer, 1)
	who := evalJS[string](t, visitor, inWidget(`return [...r.querySelectorAll('.m[data-offset]')].pop().querySelector('.mm').textContent`))
	if !strings.HasPrefix(who, agentDisplay+" ·") {
		t.Errorf("the widget shows the reply's sender as %q, want the agent's display name %q", who, agentDisplay)
	}
	portalWho := evalJS[string](t, agent, `[...document.querySelectorAll('#message-list .msg.from-agent .who')].pop().textContent`)
	if portalWho != agentDisplay { // the portal shows the display name the server sends (display)
		t.Errorf("the portal shows the reply's sender as %q, want %q", portalWho, agentDisplay)
	}

	thanks := "Great, thank you so much!"
	widgetSend(t, visitor, thanks)
	waitPortalCount(t, agent, thanks, 1)
	// With the panel closed, a reply shows as an unread badge on the bubble.
	run(t, visitor, chromedp.Click(chromedp.JSPath(widgetRootJS+`.querySelector('.x')`)))
	welcome := "You're welcome! Anything else?"
	portalReply(t, agent, welcome)
	waitWidgetCount(t, visitor, welcome, 1)
	waitFor(t, visitor, "the unread badge", inWidget(`const k = r.querySelector('.k'); return !k.hidden && k.textContent === '1'`))
	openWidget(t, visitor)
	waitFor(t, visitor, "the badge cleared", inWidget(`return r.querySelector('.k').hidden`))

	want := []string{hello, answer, thanks, welcome}
	sameTexts(t, "widget", widgetTexts(t, visitor), want)
	sameTexts(t, "portal", portalTexts(t, agent), want)

	// More visitors, each with its own storage: one leaves after asking, one waits for an answer.
	// The list shows the newest activity first, with live online dots.
	gone, leave := newIncognito(t, browser)
	openDemo(t, gone, s)
	openWidget(t, gone)
	widgetSend(t, gone, "Can I change the delivery address of order #1038?")
	goneID := visitorID(t, gone)
	leave()
	waitFor(t, agent, "the visitor who left offline", fmt.Sprintf(
		`document.querySelector(%s + ' .dot:not(.online)')`, js(visitorButton(goneID))))
	waiting, _ := newIncognito(t, browser)
	openDemo(t, waiting, s)
	openWidget(t, waiting)
	widgetSend(t, waiting, "Do you ship rocket skates to Arizona?")
	waitingID := visitorID(t, waiting)
	waitFor(t, agent, "the waiting visitor's unread count", fmt.Sprintf(
		`document.querySelector(%s + ' .unread')`, js(visitorButton(waitingID))))
	order := evalJS[[]string](t, agent, `[...document.querySelectorAll('button.visitor')].map(b => b.dataset.id)`)
	sameTexts(t, "the visitor list order", order, []string{waitingID, goneID, id})
	if !evalJS[bool](t, agent, fmt.Sprintf(`document.querySelector(%s).classList.contains('selected')`, btn)) {
		t.Error("the selected conversation lost its selection when the list changed")
	}
	screenshot(t, visitor, "widget.png")
	screenshot(t, agent, "portal.png")

	// Logging out ends the session and shows the login page.
	run(t, agent, chromedp.Click(chromedp.ID("logout")))
	waitFor(t, agent, "the login page after logout", `!document.getElementById('login').hidden && !sessionStorage.getItem('chatd.portal.token')`)
}

// A reload or a new tab is the same visitor with the same history, shown once.
func TestReloadKeepsIdentityAndHistory(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	visitor, _ := newTab(t, browser)
	openDemo(t, visitor, s)
	openWidget(t, visitor)
	widgetSend(t, visitor, "first message")
	widgetSend(t, visitor, "second message")
	id := visitorID(t, visitor)

	run(t, visitor, chromedp.Reload())
	// History comes from localStorage at once, then the socket catches up without duplicates.
	waitFor(t, visitor, "the history after a reload", inWidget(`return r.querySelectorAll('.m[data-offset]').length === 2`))
	waitWidgetOnline(t, visitor)
	if got := visitorID(t, visitor); got != id {
		t.Fatalf("after a reload the visitor is %s, want %s", got, id)
	}
	openWidget(t, visitor)
	widgetSend(t, visitor, "third message")
	want := []string{"first message", "second message", "third message"}
	sameTexts(t, "widget after reload", widgetTexts(t, visitor), want)

	second, _ := newTab(t, browser)
	openDemo(t, second, s)
	waitWidgetOnline(t, second)
	waitFor(t, second, "the history in a new tab", inWidget(`return r.querySelectorAll('.m[data-offset]').length === 3`))
	if got := visitorID(t, second); got != id {
		t.Fatalf("a new tab is visitor %s, want %s", got, id)
	}
	sameTexts(t, "widget in a new tab", widgetTexts(t, second), want)

	// The server agrees: one visitor with the whole history.
	agent, _ := newTab(t, browser)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, id)
	waitPortalCount(t, agent, "third message", 1)
	sameTexts(t, "portal", portalTexts(t, agent), want)
	visitors := evalJS[int](t, agent, `document.querySelectorAll('button.visitor').length`)
	if visitors != 1 {
		t.Errorf("the portal lists %d visitors, want 1", visitors)
	}
}

// Two tabs of one visitor stay in sync; the agent sees the visitor offline only when both are closed.
func TestTwoTabsStayInSync(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	tabA, closeA := newTab(t, browser)
	openDemo(t, tabA, s)
	openWidget(t, tabA)
	widgetSend(t, tabA, "hello from tab A")
	id := visitorID(t, tabA)

	tabB, closeB := newTab(t, browser)
	openDemo(t, tabB, s)
	waitWidgetOnline(t, tabB)
	waitWidgetCount(t, tabB, "hello from tab A", 1)

	agent, _ := newTab(t, browser)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, id)

	openWidget(t, tabB)
	widgetSend(t, tabB, "hello from tab B")
	waitWidgetCount(t, tabA, "hello from tab B", 1)
	portalReply(t, agent, "I see both of your tabs")
	waitWidgetCount(t, tabA, "I see both of your tabs", 1)
	waitWidgetCount(t, tabB, "I see both of your tabs", 1)
	want := []string{"hello from tab A", "hello from tab B", "I see both of your tabs"}
	sameTexts(t, "tab A", widgetTexts(t, tabA), want)
	sameTexts(t, "tab B", widgetTexts(t, tabB), want)

	btn := js(visitorButton(id))
	online := fmt.Sprintf(`!!document.querySelector(%s + ' .dot.online')`, btn)
	waitFor(t, agent, "the visitor online", online)
	closeA()
	// A round trip through tab B after tab A closed: the visitor must still be online.
	widgetSend(t, tabB, "tab A is closed now")
	waitPortalCount(t, agent, "tab A is closed now", 1)
	stillOnline := evalJS[bool](t, agent, online)
	if !stillOnline {
		t.Fatal("the agent sees the visitor offline while tab B is still open")
	}
	closeB()
	waitFor(t, agent, "the visitor offline after both tabs closed", fmt.Sprintf(
		`document.querySelector(%s + ' .dot') && !(%s) && !document.querySelector('#conv-dot.online')`, btn, online))
}
