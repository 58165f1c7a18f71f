package e2e

import (
	"context"
	"fmt"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// notesTap records the page's desktop notifications: window.__notes holds
// {title, body, tag, n} for each Notification constructed (n is the real
// notification, so a test can dispatch its click).
const notesTap = `(() => {
  const N = window.Notification;
  if (!N) return;
  window.__notes = [];
  function Tapped(title, opts) {
    const n = new N(title, opts);
    window.__notes.push({ title, body: opts && opts.body, tag: opts && opts.tag, n });
    return n;
  }
  Tapped.prototype = N.prototype;
  Object.defineProperty(Tapped, 'permission', { get: () => N.permission });
  Tapped.requestPermission = (...a) => N.requestPermission(...a);
  window.Notification = Tapped;
})()`

// grantNotifications grants origin the notification and push permissions
// (Browser.setPermission), as an agent answering the browser's prompt would.
func grantNotifications(t *testing.T, tab context.Context, origin string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	for _, p := range []*cdpbrowser.PermissionDescriptor{{Name: "notifications"}, {Name: "push", UserVisibleOnly: true}} {
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: p, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin}); err != nil {
			t.Fatalf("grant %s: %v", p.Name, err)
		}
	}
}

// emulateFocus makes tab's page believe its window has the focus (headless
// windows have none), so document.hasFocus() is true while it is in front.
func emulateFocus(t *testing.T, tab context.Context, on bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: on}); err != nil {
		t.Fatalf("emulate focus: %v", err)
	}
}

// openSettings opens the notification settings and waits for the push state.
func openSettings(t *testing.T, tab context.Context) {
	t.Helper()
	run(t, tab, chromedp.Click(chromedp.ID("settings-open")))
	waitFor(t, tab, "the settings", `document.getElementById('settings').open && document.getElementById('set-push-note').textContent !== 'Checking…'`)
}

func closeSettings(t *testing.T, tab context.Context) {
	t.Helper()
	run(t, tab, chromedp.Click(chromedp.ID("settings-close")))
	waitFor(t, tab, "the settings closed", `!document.getElementById('settings').open`)
}

type note struct {
	Title, Body, Tag string
}

func notes(t *testing.T, tab context.Context) []note {
	t.Helper()
	return evalJS[[]note](t, tab, `window.__notes.map(x => ({Title: x.title, Body: x.body || '', Tag: x.tag || ''}))`)
}

func waitNotes(t *testing.T, tab context.Context, n int) []note {
	t.Helper()
	waitFor(t, tab, fmt.Sprintf("%d desktop notification(s)", n), fmt.Sprintf(`window.__notes.length >= %d`, n))
	return notes(t, tab)
}

// Desktop notifications: asked for on a click in the settings, shown for a
// new conversation and for a message in a conversation the agent is not
// looking at (another one open, or the tab hidden), never for the one in
// front of the agent; a click on one opens its conversation. Names and
// texts are shown as written.
func TestPortalDesktopNotifications(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	agent := browser
	addScript(t, agent, notesTap)
	grantNotifications(t, agent, s.url())
	emulateFocus(t, agent, true)
	portalLogin(t, agent, s, true)

	openSettings(t, agent)
	if got := evalJS[string](t, agent, `document.getElementById('set-desktop-note').textContent`); got != "Off." {
		t.Fatalf("desktop notifications before the click: %q", got)
	}
	run(t, agent, chromedp.Click(chromedp.ID("set-desktop")))
	waitFor(t, agent, "desktop notifications on", `document.getElementById('set-desktop-note').textContent.startsWith('On')`)
	closeSettings(t, agent)

	hostile := `Ann <img src=x onerror="window.__pwned=1">`
	ann := dialVisitor(t, s, hostile, "", nil)
	ann.send("hello <b>there</b>")
	got := waitNotes(t, agent, 1)
	if got[0] != (note{"New conversation: " + hostile, "hello <b>there</b>", "chatd-" + ann.ID}) {
		t.Fatalf("first notification %+v", got[0])
	}

	// Looking at Ann's conversation: her next message makes no notification.
	portalSelect(t, agent, ann.ID)
	ann.send("second message")
	waitPortalCount(t, agent, "second message", 1)
	bob := dialVisitor(t, s, "Bob", "", nil)
	bob.send("hi from Bob")
	got = waitNotes(t, agent, 2)
	if len(got) != 2 || got[1].Title != "New conversation: Bob" {
		t.Fatalf("notifications %+v: want only Bob's new conversation after Ann's first", got)
	}

	// A click on Bob's notification opens his conversation.
	evalJS[bool](t, agent, `window.__notes[1].n.dispatchEvent(new Event('click')), true`)
	waitFor(t, agent, "Bob's conversation open", fmt.Sprintf(`document.getElementById('conv-name').textContent === 'Bob' && document.querySelector(%s).classList.contains('selected')`, js(visitorButton(bob.ID))))

	// Ann writes while Bob's conversation is open: notified, not as new.
	ann.send("are you there?")
	got = waitNotes(t, agent, 3)
	if got[2] != (note{hostile, "are you there?", "chatd-" + ann.ID}) {
		t.Fatalf("third notification %+v", got[2])
	}

	// The portal's tab hidden behind another one: Bob's open conversation notifies too.
	emulateFocus(t, agent, false) // a focus emulated would keep the page visible
	other := newTabInWindow(t, browser)
	bringToFront(t, other)
	waitFor(t, agent, "the portal hidden", `document.hidden`)
	bob.send("still there?")
	got = waitNotes(t, agent, 4)
	if got[3].Title != "Bob" || got[3].Body != "still there?" {
		t.Fatalf("fourth notification %+v", got[3])
	}
	if evalJS[bool](t, agent, `!!window.__pwned`) {
		t.Fatal("a visitor's name ran as markup")
	}
}
