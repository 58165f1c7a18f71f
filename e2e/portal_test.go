package e2e

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// A visitor's message that arrives while the portal's tab is hidden shows as a count in the title.
func TestPortalTitleCountsWhileHidden(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	visitor, _ := newTab(t, browser)
	openDemo(t, visitor, s)
	openWidget(t, visitor)
	widgetSend(t, visitor, "first question")
	id := visitorID(t, visitor)

	agent := newTabInWindow(t, browser)
	bringToFront(t, agent)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, id)
	title := evalJS[string](t, agent, `document.title`)

	other := newTabInWindow(t, browser)
	run(t, other, chromedp.Navigate(s.url()+"/"))
	bringToFront(t, other)
	waitFor(t, agent, "the portal's tab hidden", `document.hidden`)
	widgetSend(t, visitor, "are you still there?")
	widgetSend(t, visitor, "hello?")
	waitFor(t, agent, "the count in the title", fmt.Sprintf(`document.title === '(2) ' + %s`, js(title)))

	bringToFront(t, agent)
	waitFor(t, agent, "the title back to normal", fmt.Sprintf(`!document.hidden && document.title === %s`, js(title)))
	waitPortalCount(t, agent, "hello?", 1)
}

// Messages sent faster than the server's rate limit are retried politely and all arrive once.
func TestRateLimitedMessagesArriveOnce(t *testing.T) {
	s := startServer(t, "--msg-rate", "1", "--msg-burst", "1")
	browser := newBrowser(t)
	visitor, _ := newTab(t, browser)
	openDemo(t, visitor, s)
	openWidget(t, visitor)
	texts := []string{"one", "two", "three", "four"}
	evalJS[bool](t, visitor, inWidget(fmt.Sprintf(`
		const box = r.querySelector('textarea'), form = r.querySelector('form');
		for (const text of %s) { box.value = text; form.requestSubmit(); }
		return true`, jsArray(texts))))
	waitFor(t, visitor, "a polite rate-limit notice", inWidget(
		`const n = r.querySelector('.n'); return !n.hidden && n.textContent.includes('quickly')`))
	for _, text := range texts {
		waitWidgetCount(t, visitor, text, 1)
	}
	if got := widgetTexts(t, visitor); len(got) != len(texts) {
		t.Fatalf("the widget shows %q, want each of %q once", got, texts)
	}
}

func jsArray(list []string) string {
	out := "["
	for i, s := range list {
		if i > 0 {
			out += ","
		}
		out += js(s)
	}
	return out + "]"
}
