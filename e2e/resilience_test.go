package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// A server restart mid-conversation: the widget and the portal (whose session
// survives the restart) reconnect by themselves, the typed reply is kept, and
// nothing is lost or doubled on either side.
func TestServerRestartMidConversation(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	visitor, _ := newTab(t, browser)
	openDemo(t, visitor, s)
	openWidget(t, visitor)
	widgetSend(t, visitor, "my rocket will not start")
	id := visitorID(t, visitor)

	agent, _ := newTab(t, browser)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, id)
	waitPortalCount(t, agent, "my rocket will not start", 1)
	portalReply(t, agent, "Have you tried the red button?")
	waitWidgetCount(t, visitor, "Have you tried the red button?", 1)
	draft := "And check the fuel gauge, please."
	run(t, agent, chromedp.SendKeys(chromedp.ID("reply-text"), draft))

	s.restart()

	waitFor(t, agent, "the portal back by itself, still signed in", `document.querySelector('#conn.ok') && document.getElementById('login').hidden`)
	waitFor(t, agent, "the same conversation selected, draft kept", fmt.Sprintf(
		`document.querySelector(%s + '.selected') && document.getElementById('reply-text').value === %s`, js(visitorButton(id)), js(draft)))

	widgetSend(t, visitor, "the red button did nothing")
	waitPortalCount(t, agent, "the red button did nothing", 1)
	run(t, agent, chromedp.Click(chromedp.ID("reply-send")))
	waitPortalCount(t, agent, draft, 1)
	waitWidgetCount(t, visitor, draft, 1)

	want := []string{"my rocket will not start", "Have you tried the red button?", "the red button did nothing", draft}
	sameTexts(t, "widget", widgetTexts(t, visitor), want)
	sameTexts(t, "portal", portalTexts(t, agent), want)
}

// A message typed while the server is down shows as pending and is delivered exactly
// once when it is back, also when the page was left in between; the same holds for
// an agent's reply (the agent's session survives the restart).
func TestMessageTypedWhileServerDown(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	visitor, _ := newTab(t, browser)
	openDemo(t, visitor, s)
	openWidget(t, visitor)
	widgetSend(t, visitor, "hello before the outage")
	id := visitorID(t, visitor)
	agent, _ := newTab(t, browser)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, id)
	waitPortalCount(t, agent, "hello before the outage", 1)
	offline := inWidget(`return !r.querySelector('.r').classList.contains('on')`)

	s.stop()
	waitFor(t, visitor, "the widget to notice the outage", offline)
	waitFor(t, agent, "the portal to notice the outage", `!document.querySelector('#conn.ok')`)
	widgetType(t, visitor, "typed while the server is down")
	waitFor(t, visitor, "the message shown as pending", widgetPendingJS("typed while the server is down")+" === 1")
	reply := "replied while the server is down"
	run(t, agent, chromedp.SendKeys(chromedp.ID("reply-text"), reply), chromedp.Click(chromedp.ID("reply-send")))
	waitFor(t, agent, "the reply shown as pending", fmt.Sprintf(
		`[...document.querySelectorAll('#message-list .msg.pending .text')].filter(e => e.textContent === %s).length === 1`, js(reply)))

	s.restart()
	waitWidgetCount(t, visitor, "typed while the server is down", 1)
	// The agent's session survived the restart: the reply goes out by itself.
	waitPortalCount(t, agent, reply, 1)
	waitWidgetCount(t, visitor, reply, 1)

	// Second outage: the pending message must survive leaving the page.
	s.stop()
	waitFor(t, visitor, "the widget to notice the second outage", offline)
	widgetType(t, visitor, "typed before leaving the page")
	waitFor(t, visitor, "the second message shown as pending", widgetPendingJS("typed before leaving the page")+" === 1")
	run(t, visitor, chromedp.Navigate("about:blank"))
	s.restart()
	openDemo(t, visitor, s)
	waitWidgetCount(t, visitor, "typed before leaving the page", 1)

	want := []string{"hello before the outage", "typed while the server is down", reply, "typed before leaving the page"}
	got := widgetTexts(t, visitor)
	if len(got) == len(want) && got[1] == reply {
		// Both outboxes flush when the server is back, concurrently: either may be stored first.
		want[1], want[2] = want[2], want[1]
	}
	sameTexts(t, "widget", got, want)
	waitFor(t, agent, "still signed in after the second restart", `document.getElementById('login').hidden`)
	waitPortalCount(t, agent, "typed before leaving the page", 1)
	sameTexts(t, "portal", portalTexts(t, agent), want)
}

// Markup in messages is shown as text in the widget and the portal and runs nothing.
func TestMessagesAreTextNotHTML(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	visitor, _ := newTab(t, browser)
	openDemo(t, visitor, s)
	openWidget(t, visitor)
	img := `<img src=x onerror=window.__pwned=1>`
	script := `<script>window.__pwned=1</script>`
	widgetSend(t, visitor, img)
	widgetSend(t, visitor, script)
	id := visitorID(t, visitor)

	agent, _ := newTab(t, browser)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, id)
	waitPortalCount(t, agent, script, 1)
	portalReply(t, agent, "agent says "+img)
	portalReply(t, agent, "agent says "+script)
	waitWidgetCount(t, visitor, "agent says "+script, 1)

	want := []string{img, script, "agent says " + img, "agent says " + script}
	sameTexts(t, "widget", widgetTexts(t, visitor), want)
	sameTexts(t, "portal", portalTexts(t, agent), want)
	n := evalJS[int](t, visitor, inWidget(`return r.querySelectorAll('img, script').length + document.querySelectorAll('body img').length`))
	if n != 0 {
		t.Errorf("the widget created %d img/script elements from message text", n)
	}
	n = evalJS[int](t, agent, `document.querySelectorAll('main img, main script, aside img, aside script').length`)
	if n != 0 {
		t.Errorf("the portal created %d img/script elements from message text", n)
	}
	for _, page := range []struct {
		name string
		tab  context.Context
	}{{"widget", visitor}, {"portal", agent}} {
		pwned := evalJS[bool](t, page.tab, `window.__pwned !== undefined`)
		if pwned {
			t.Errorf("the %s ran code from a message", page.name)
		}
	}
}

// An invalid token sends the portal back to the login page without losing the typed reply.
func TestPortalInvalidTokenKeepsDraft(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	visitor, _ := newTab(t, browser)
	openDemo(t, visitor, s)
	openWidget(t, visitor)
	widgetSend(t, visitor, "can someone help me?")
	id := visitorID(t, visitor)

	agent, _ := newTab(t, browser)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, id)
	draft := "Of course, give me one second to look it up"
	run(t, agent, chromedp.SendKeys(chromedp.ID("reply-text"), draft))

	evalJS[bool](t, agent, `sessionStorage.setItem('chatd.portal.token', 'not-a-valid-token') || true`)
	run(t, agent, chromedp.Reload())
	waitFor(t, agent, "the login page with a note", `!document.getElementById('login').hidden && !document.getElementById('login-note').hidden`)
	portalLogin(t, agent, s, false)
	waitFor(t, agent, "the conversation with the draft", fmt.Sprintf(
		`document.querySelector(%s + '.selected') && document.getElementById('reply-text').value === %s`, js(visitorButton(id)), js(draft)))
	run(t, agent, chromedp.Click(chromedp.ID("reply-send")))
	waitPortalCount(t, agent, draft, 1)
	waitWidgetCount(t, visitor, draft, 1)
}
