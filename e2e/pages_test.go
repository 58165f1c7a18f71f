package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// The widget's DOM lives in the open shadow root of its <chatd-widget> host.
const widgetRootJS = `document.querySelector('chatd-widget').shadowRoot`

// inWidget wraps a function body that sees the widget's shadow root as r (null before it mounts).
func inWidget(body string) string {
	return `(() => { const h = document.querySelector('chatd-widget'); const r = h && h.shadowRoot; if (!r) return null; ` +
		body + ` })()`
}

// openDemo loads the demo page and waits for the widget's bubble.
func openDemo(t *testing.T, tab context.Context, s *server) {
	t.Helper()
	run(t, tab, chromedp.Navigate(s.url()+"/"))
	waitFor(t, tab, "the widget bubble", inWidget(`const b = r.querySelector('.b'); return b && b.getBoundingClientRect().width > 0`))
}

// openWidget opens the chat panel (if closed) and waits until the socket is identified.
func openWidget(t *testing.T, tab context.Context) {
	t.Helper()
	evalJS[bool](t, tab, inWidget(`if (!r.querySelector('.r').classList.contains('o')) r.querySelector('.b').click(); return true`))
	waitFor(t, tab, "the open chat panel", inWidget(`return r.querySelector('.p').getBoundingClientRect().height > 0`))
	waitWidgetOnline(t, tab)
}

func waitWidgetOnline(t *testing.T, tab context.Context) {
	t.Helper()
	waitFor(t, tab, "the widget to connect", inWidget(`return r.querySelector('.r').classList.contains('on')`))
}

// widgetType types text into the widget's box with real key events and presses its send button.
func widgetType(t *testing.T, tab context.Context, text string) {
	t.Helper()
	run(t, tab,
		chromedp.SendKeys(chromedp.JSPath(widgetRootJS+`.querySelector('textarea')`), text),
		chromedp.Click(chromedp.JSPath(widgetRootJS+`.querySelector('.sd')`)),
	)
}

// widgetSend types text and waits until the server acknowledged it (no longer pending).
func widgetSend(t *testing.T, tab context.Context, text string) {
	t.Helper()
	widgetType(t, tab, text)
	waitWidgetCount(t, tab, text, 1)
}

// widgetCountJS counts confirmed (acknowledged) widget messages with exactly this text.
func widgetCountJS(text string) string {
	return inWidget(fmt.Sprintf(`return [...r.querySelectorAll('.m[data-offset] .mt')].filter(e => e.textContent === %s).length`, js(text)))
}

// widgetPendingJS counts pending widget messages with exactly this text.
func widgetPendingJS(text string) string {
	return inWidget(fmt.Sprintf(`return [...r.querySelectorAll('.m.pe .mt')].filter(e => e.textContent === %s).length`, js(text)))
}

func waitWidgetCount(t *testing.T, tab context.Context, text string, n int) {
	t.Helper()
	waitFor(t, tab, fmt.Sprintf("%d confirmed widget message(s) %q", n, text),
		fmt.Sprintf(`%s === %d && %s === 0`, widgetCountJS(text), n, widgetPendingJS(text)))
}

// widgetTexts returns the confirmed messages shown in the widget, in order.
func widgetTexts(t *testing.T, tab context.Context) []string {
	t.Helper()
	out := evalJS[[]string](t, tab, inWidget(`return [...r.querySelectorAll('.m[data-offset] .mt')].map(e => e.textContent)`))
	return out
}

// visitorID reads the widget's stored identity.
func visitorID(t *testing.T, tab context.Context) string {
	t.Helper()
	id := evalJS[string](t, tab, `JSON.parse(localStorage.getItem('chatd:' + location.origin + ':me') || '{}').id || ''`)
	if id == "" {
		t.Fatal("the widget stored no visitor id")
	}
	return id
}

// portalLogin opens the portal (if not open) and signs in as the test agent.
func portalLogin(t *testing.T, tab context.Context, s *server, navigate bool) {
	t.Helper()
	if navigate {
		run(t, tab, chromedp.Navigate(s.url()+"/portal/"))
	}
	run(t, tab,
		chromedp.WaitVisible(chromedp.ID("login-name")),
		chromedp.SetValue(chromedp.ID("login-name"), agentName),
		chromedp.SetValue(chromedp.ID("login-password"), agentPassword),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	waitPortalConnected(t, tab)
}

func waitPortalConnected(t *testing.T, tab context.Context) {
	t.Helper()
	waitFor(t, tab, "the portal to connect", `document.querySelector('#conn.ok') && !document.getElementById('app').hidden`)
}

func visitorButton(id string) string { return fmt.Sprintf(`button.visitor[data-id=%s]`, js(id)) }

// portalSelect waits for visitor id in the list and opens the conversation.
func portalSelect(t *testing.T, tab context.Context, id string) {
	t.Helper()
	run(t, tab, chromedp.WaitVisible(chromedp.CSS(visitorButton(id))), chromedp.Click(chromedp.CSS(visitorButton(id))))
	waitFor(t, tab, "the conversation to open", fmt.Sprintf(`!document.getElementById('conversation').hidden && document.querySelector(%s).classList.contains('selected')`, js(visitorButton(id))))
}

// portalCountJS counts confirmed messages with exactly this text in the open conversation.
func portalCountJS(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#message-list .msg:not(.pending) .text')].filter(e => e.textContent === %s).length`, js(text))
}

func waitPortalCount(t *testing.T, tab context.Context, text string, n int) {
	t.Helper()
	waitFor(t, tab, fmt.Sprintf("%d portal message(s) %q", n, text),
		fmt.Sprintf(`%s === %d && document.querySelectorAll('#message-list .msg.pending').length === 0`, portalCountJS(text), n))
}

// portalReply types a reply with real key events, sends it and waits for its acknowledgement.
func portalReply(t *testing.T, tab context.Context, text string) {
	t.Helper()
	run(t, tab, chromedp.SendKeys(chromedp.ID("reply-text"), text), chromedp.Click(chromedp.ID("reply-send")))
	waitPortalCount(t, tab, text, 1)
}

// portalTexts returns the confirmed messages of the open conversation, in order.
func portalTexts(t *testing.T, tab context.Context) []string {
	t.Helper()
	out := evalJS[[]string](t, tab, `[...document.querySelectorAll('#message-list .msg:not(.pending) .text')].map(e => e.textContent)`)
	return out
}

// sameTexts fails the test unless got equals want.
func sameTexts(t *testing.T, where string, got, want []string) {
	t.Helper()
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("%s shows %q, want %q", where, got, want)
	}
}
