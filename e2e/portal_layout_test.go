package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chromedp/chromedp"
)

// layoutProblemsJS lists what sticks out of the viewport sideways: the page
// scrolling sideways, an element scrolling sideways inside, any rendered
// element of the app reaching past the viewport's edges, and, for the controls
// named in must, any part of them outside the viewport.
func layoutProblemsJS(must ...string) string {
	return fmt.Sprintf(`(() => {
  const W = innerWidth, H = innerHeight, bad = [];
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
  const de = document.scrollingElement || document.documentElement;
  if (de.scrollWidth > W) bad.push('the page is ' + de.scrollWidth + ' px wide in a ' + W + ' px viewport');
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    const cs = getComputedStyle(e);
    if ((cs.overflowX === 'auto' || cs.overflowX === 'scroll') && e.scrollWidth > e.clientWidth + 1) bad.push(name(e) + ' scrolls sideways: ' + e.scrollWidth + ' > ' + e.clientWidth);
    if (r.left < -0.5 || r.right > W + 0.5) bad.push(name(e) + ' spans ' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + W);
  }
  for (const sel of %s) {
    const e = document.querySelector(sel), r = e && e.getBoundingClientRect();
    if (!r || !r.width || r.left < -0.5 || r.right > W + 0.5 || r.top < -0.5 || r.bottom > H + 0.5) bad.push(sel + ' is not wholly on screen');
  }
  return bad;
})()`, jsArray(must))
}

func checkLayout(t *testing.T, tab context.Context, where string, must ...string) {
	t.Helper()
	if bad := evalJS[[]string](t, tab, layoutProblemsJS(must...)); len(bad) > 0 {
		if len(bad) > 12 {
			bad = append(bad[:12], fmt.Sprintf("… and %d more", len(bad)-12))
		}
		t.Errorf("%s: %d layout problem(s):\n  %s", where, len(bad), strings.Join(bad, "\n  "))
	}
}

// hostileNames are visitor names (at most 64 characters, the server's limit;
// it refuses bidi controls in names, so those are in hostileTexts) built to
// widen a layout: unbroken wide letters, right-to-left elongation, stacked
// combining marks, joined emoji.
var hostileNames = []string{
	strings.Repeat("W", 64),
	"اسم طويل " + strings.Repeat("ـ", 50),
	strings.Repeat("Z\u0336\u0334\u0337\u0336\u0334\u0337\u0336\u0334", 7), // 8 marks a letter: the server's most
	strings.Repeat("👩‍👩‍👧‍👦", 9),
}

// hostileTexts are messages without a place to break a line.
var hostileTexts = []string{
	strings.Repeat("x", 4096),
	"see https://shop.example/" + strings.Repeat("a/", 1500) + " please",
	strings.Repeat("\u00a0", 1000) + "after no-break spaces",
	strings.Repeat("\t", 300) + "after tabs",
	strings.Repeat("م", 2000),
	strings.Repeat("W\u2060", 1000),
	"\u202E" + strings.Repeat("reversed", 300),
	"Z" + strings.Repeat("\u0336\u0334\u0337", 300) + "algo",
}

// Nothing overflows the viewport from phone to wide-screen widths, whatever
// visitors send: long names, pages, messages, and a long agent name.
func TestPortalNothingOverflows(t *testing.T) {
	longAgent := strings.Repeat("w", 64) // the longest login the login rule allows, in a wide letter
	s := startServer(t)
	addAdmin(t, s, longAgent, agentPassword)

	longPage := "https://shop.example/" + strings.Repeat("p", 1000)
	var hostile *wsVisitor
	for i, name := range hostileNames {
		v := dialVisitor(t, s, name, "", map[string]string{"page": longPage})
		if i == 0 {
			hostile = v
		}
	}
	for _, text := range hostileTexts {
		hostile.send(text)
	}
	if hostile.supports("client:page", map[string]any{"url": "https://shop.example/" + strings.Repeat("q", 1900), "title": strings.Repeat("T", 500)}) {
		t.Log("the server takes client:page: the current page is shown")
	}

	browser := newBrowser(t)
	// A phone, a tablet, just above the one-column breakpoint (760 px), a laptop, a wide screen.
	for i, width := range []int64{375, 768, 761, 1280, 1920} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			tab, _ := newTab(t, browser)
			if width < 760 {
				phone(t, tab)
			} else {
				run(t, tab, chromedp.EmulateViewport(width, 800))
			}
			run(t, tab, chromedp.Navigate(s.url()+"/portal/"))
			checkLayout(t, tab, "the login page", "#login-submit")
			portalLoginAs(t, tab, longAgent, agentPassword)
			waitFor(t, tab, "every visitor listed", fmt.Sprintf(`document.querySelectorAll('button.visitor').length === %d`, len(hostileNames)))
			if width < 760 {
				checkLayout(t, tab, "the list on a phone", "#logout", "#sound")
			}
			// The sound notice (shown while the browser blocks audio) fits as well.
			evalJS[bool](t, tab, `(document.getElementById('sound-note').hidden = false, true)`)
			checkLayout(t, tab, "the bar with the sound notice", "#logout", "#sound-note")
			evalJS[bool](t, tab, `(document.getElementById('sound-note').hidden = true, true)`)
			portalSelect(t, tab, hostile.ID)
			// The hostile texts, the probe, and the replies of the earlier widths.
			waitFor(t, tab, "every message shown", fmt.Sprintf(`document.querySelectorAll('#message-list .msg').length === %d`, len(hostileTexts)+1+i))
			evalJS[bool](t, tab, fmt.Sprintf(`(() => { const b = document.getElementById('reply-text'); b.value = %s; b.dispatchEvent(new Event('input')); document.getElementById('reply-send').click(); return true; })()`,
				js(strings.Repeat("R", 3000))))
			waitFor(t, tab, "the agent's long reply", fmt.Sprintf(`document.querySelectorAll('#message-list .msg.from-agent:not(.pending)').length === %d`, i+1))
			run(t, tab, chromedp.SendKeys(chromedp.ID("reply-text"), strings.Repeat("D", 300)))
			must := []string{"#reply-send", "#reply-text", "#logout", "#conv-name"}
			if width < 760 {
				must = append(must, "#back")
				if n := evalJS[int](t, tab, `document.querySelector('aside.side').getBoundingClientRect().width`); n != 0 {
					t.Errorf("on a phone the list is still shown beside the conversation (%d px wide)", n)
				}
			} else {
				must = append(must, "#sound")
			}
			checkLayout(t, tab, "the hostile conversation", must...)
			// Scrolled to the top, the header and the oldest messages are on screen too.
			evalJS[bool](t, tab, `(document.getElementById('messages').scrollTop = 0, true)`)
			checkLayout(t, tab, "the conversation scrolled to the top", must...)
		})
	}
}

// addAdmin adds an agent to s's seed file and restarts s so it takes it.
func addAdmin(t *testing.T, s *server, name, password string) {
	t.Helper()
	chatdtest.AdminSet(t, chatdtest.Binary(t), s.dir, name, password)
	s.restart()
}

// portalLoginAs signs in on the portal's open login page as name.
func portalLoginAs(t *testing.T, tab context.Context, name, password string) {
	t.Helper()
	run(t, tab,
		chromedp.WaitVisible(chromedp.ID("login-name")),
		chromedp.SetValue(chromedp.ID("login-name"), name),
		chromedp.SetValue(chromedp.ID("login-password"), password),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	waitPortalConnected(t, tab)
}

// On a phone the portal shows the list or the conversation: a tap opens the
// conversation, the back button (the portal's or the browser's) returns to the
// list where it was left, and the draft and the view survive a reload.
func TestPortalPhoneNavigation(t *testing.T) {
	s := startServer(t)
	var ids []string
	for i := range 24 {
		v := dialVisitor(t, s, fmt.Sprintf("Visitor %02d", i+1), "", map[string]string{"page": "https://shop.example/products/rocket-skates"})
		v.send(fmt.Sprintf("Hello, this is visitor %d. Do you ship to Norway?", i+1))
		ids = append(ids, v.ID)
		if i%3 == 0 {
			v.leave()
		}
	}
	browser := newBrowser(t)
	tab, _ := newTab(t, browser)
	phone(t, tab)
	portalLogin(t, tab, s, true)
	waitFor(t, tab, "the whole list", `document.querySelectorAll('button.visitor').length === 24`)
	listShown := `document.querySelector('aside.side').getBoundingClientRect().width === innerWidth && document.querySelector('main.main').getBoundingClientRect().width === 0`
	convShown := `document.querySelector('main.main').getBoundingClientRect().width === innerWidth && document.querySelector('aside.side').getBoundingClientRect().width === 0`
	waitFor(t, tab, "the list alone", listShown)
	screenshot(t, tab, "portal-phone-list.png")

	// Scroll the list, open a conversation far down, type a draft.
	target := ids[2] // the list is newest first: the third visitor is near the bottom
	evalJS[bool](t, tab, fmt.Sprintf(`(%s.scrollIntoView({block: 'center'}), true)`, rowJS(target)))
	scrolled := evalJS[float64](t, tab, `document.getElementById('visitors').scrollTop`)
	if scrolled < 100 {
		t.Fatalf("the list scrolled only %v px: too few visitors to test keeping its place", scrolled)
	}
	run(t, tab, chromedp.Click(chromedp.CSS(visitorButton(target))))
	waitFor(t, tab, "the conversation alone", convShown)
	waitPortalCount(t, tab, "Hello, this is visitor 3. Do you ship to Norway?", 1)
	run(t, tab, chromedp.SendKeys(chromedp.ID("reply-text"), "Yes we do"))
	screenshot(t, tab, "portal-phone-conversation.png")

	// The portal's back button: the list, where it was.
	run(t, tab, chromedp.Click(chromedp.ID("back")))
	waitFor(t, tab, "the list again", listShown)
	if got := evalJS[float64](t, tab, `document.getElementById('visitors').scrollTop`); got != scrolled {
		t.Errorf("back on the list, it is scrolled to %v px, want %v as left", got, scrolled)
	}
	// The same conversation again: the draft is there.
	run(t, tab, chromedp.Click(chromedp.CSS(visitorButton(target))))
	waitFor(t, tab, "the conversation with its draft", convShown+` && document.getElementById('reply-text').value === 'Yes we do'`)

	// The browser's back button does the same.
	run(t, tab, chromedp.NavigateBack())
	waitFor(t, tab, "the list after the browser's back", listShown)
	run(t, tab, chromedp.NavigateForward())
	waitFor(t, tab, "the conversation after the browser's forward", convShown)

	// A reload keeps the open conversation and its draft; reading it cleared its badge.
	run(t, tab, chromedp.Reload())
	waitPortalConnected(t, tab)
	waitFor(t, tab, "the conversation after a reload", convShown+` && document.getElementById('reply-text').value === 'Yes we do'`)
	run(t, tab, chromedp.Click(chromedp.ID("back")))
	waitFor(t, tab, "the list after a reload", listShown)
	if evalJS[bool](t, tab, rowJS(target)+`.querySelector('.unread') !== null`) {
		t.Error("the conversation read on the phone still shows an unread badge")
	}
	if !evalJS[bool](t, tab, rowJS(ids[0])+`.querySelector('.unread') !== null`) {
		t.Error("a conversation never opened shows no unread badge")
	}
}
