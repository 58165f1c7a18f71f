package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/notify/push"
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

// pushStub stands in for the browser's push service (headless Chromium has
// none): PushManager.subscribe returns a subscription whose endpoint is the
// test's push service, with keys the test holds, so chatd's pushes are
// decrypted there. It records the applicationServerKey the portal passed
// (window.__pushKey, base64url) and whether it unsubscribed.
func pushStub(sub []byte) string {
	return fmt.Sprintf(`(() => {
  const raw = %s;
  // The subscription lives as long as the browser profile, as a real one does.
  const KEY = '__pushStub';
  window.__pushUnsubscribed = false;
  const make = key => ({
    endpoint: raw.endpoint, expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: key.buffer },
    toJSON: () => raw,
    unsubscribe() { window.__pushUnsubscribed = true; localStorage.removeItem(KEY); return Promise.resolve(true); }
  });
  const stored = () => {
    const k = localStorage.getItem(KEY);
    return k ? make(Uint8Array.from(atob(k), c => c.charCodeAt(0))) : null;
  };
  PushManager.prototype.subscribe = function (opts) {
    const k = new Uint8Array(opts.applicationServerKey.buffer || opts.applicationServerKey);
    const b64 = btoa(String.fromCharCode(...k));
    window.__pushKey = b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    localStorage.setItem(KEY, b64);
    return Promise.resolve(stored());
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(stored()); };
})()`, sub)
}

// fetchTap records the page's API calls: window.__fetches holds "METHOD path status".
const fetchTap = `(() => {
  const f = window.fetch;
  window.__fetches = [];
  window.fetch = (input, init) => f(input, init).then(res => {
    window.__fetches.push(((init && init.method) || 'GET') + ' ' + new URL(res.url).pathname + ' ' + res.status);
    return res;
  });
})()`

// Web Push from the portal: the agent turns push on in the settings, the
// portal registers its service worker (scope /portal/) and subscribes with
// chatd's VAPID key, chatd stores the subscription for the agent and pushes
// a visitor's message to it, encrypted for the subscription's keys (the test's
// push service decrypts it). The service worker shows a push while no portal
// window is focused, and its click opens the conversation in the portal.
// Turning push off removes the subscription at chatd.
func TestPortalPushSubscription(t *testing.T) {
	svc := notifytest.NewPushService(t, notifytest.PushOptions{TLS: true})
	s := startServerEnv(t, []string{"SSL_CERT_FILE=" + svc.CAFile}, "--push-subject", "mailto:ops@shop.test", "--push-allow-private")
	b := notifytest.NewBrowser(t, "agent-laptop")
	sub := b.Subscription(svc.Add(b))

	browser := newBrowser(t) // its first tab watches the service worker from the demo page
	run(t, browser, chromedp.Navigate(s.url()+"/"))
	grantNotifications(t, browser, s.url())
	agent, closePortal := newTab(t, browser)
	addScript(t, agent, pushStub(sub))
	addScript(t, agent, fetchTap)
	portalLogin(t, agent, s, true)
	openSettings(t, agent)
	if got := evalJS[string](t, agent, `document.getElementById('set-push-note').textContent`); got != "Off on this device." {
		t.Fatalf("push before the click: %q", got)
	}
	run(t, agent, chromedp.Click(chromedp.ID("set-push")))
	waitFor(t, agent, "push on", `document.getElementById('set-push-note').textContent.startsWith('On')`)
	closeSettings(t, agent)

	res, err := http.Get(s.url() + "/api/push/vapid")
	if err != nil {
		t.Fatal(err)
	}
	var vapid struct{ Key string }
	json.NewDecoder(res.Body).Decode(&vapid)
	res.Body.Close()
	if got := evalJS[string](t, agent, `window.__pushKey`); vapid.Key == "" || got != vapid.Key {
		t.Fatalf("the portal subscribed with key %q; chatd's is %q", got, vapid.Key)
	}
	if !awaitJS[bool](t, agent, `navigator.serviceWorker.getRegistration('/portal/').then(r => !!r && r.scope === location.origin + '/portal/' && !!r.active)`) {
		t.Fatal("no active service worker for /portal/")
	}
	subscribed := evalJS[[]string](t, agent, `window.__fetches`)

	// While a portal window has the focus, the service worker shows no push
	// (the page notifies by itself).
	bringToFront(t, agent)
	regID := swRegistration(t, browser, s.url()+"/portal/")
	deliverPush(t, browser, s.url(), regID, `{"type":"message.created","visitor":"x","name":"Focused","text":"not shown"}`)

	// The agent closes the portal: from now on the agent is pushed.
	closePortal()
	waitAgentsOnline(t, s, 0)
	// (The "Focused" push was handled before the portal closed: the service
	// worker looks up its windows at once, while closing a tab and the server
	// noticing the closed socket take many round trips.)
	notifications := `navigator.serviceWorker.getRegistration('/portal/').then(r => r.getNotifications()).then(ns => ns.map(x => x.title + '|' + x.body + '|' + x.tag))`
	if got := awaitJS[[]string](t, browser, notifications); len(got) != 0 {
		t.Fatalf("the service worker showed %q while the portal had the focus", got)
	}

	// A visitor's first message reaches the agent's browser through the push service.
	ann := dialVisitor(t, s, "Ann", "", nil)
	m := ann.send("Do you ship to Norway?")
	p := svc.Next(t)
	var n push.Notification
	if err := json.Unmarshal(p.Plain, &n); err != nil || n.Type != push.ConversationCreated || n.Visitor != ann.ID ||
		n.Name != "Ann" || n.Text != "Do you ship to Norway?" || int64(n.Offset) != m.Offset {
		t.Fatalf("pushed %s (%v)", p.Plain, err)
	}

	// The service worker shows it (delivered by the browser's DevTools, as a
	// push service would): no portal window is open.
	deliverPush(t, browser, s.url(), regID, string(p.Plain))
	waitAsync(t, browser, "the service worker's notification", notifications+`.then(l => l.includes('New conversation: Ann|Do you ship to Norway?|chatd-' + `+js(ann.ID)+`))`)

	// Its click, with the portal open again: the portal opens the conversation.
	again, _ := newTab(t, browser)
	addScript(t, again, pushStub(sub))
	addScript(t, again, fetchTap)
	run(t, again, chromedp.Navigate(s.url()+"/portal/"))
	portalLogin(t, again, s, false)
	swClick(t, browser, "chatd-"+ann.ID)
	waitFor(t, again, "Ann's conversation open", fmt.Sprintf(`document.getElementById('conv-name').textContent === 'Ann' && document.querySelector(%s).classList.contains('selected')`, js(visitorButton(ann.ID))))

	// Off again: the subscription is removed at chatd and in the browser.
	openSettings(t, again)
	run(t, again, chromedp.Click(chromedp.ID("set-push")))
	waitFor(t, again, "push off", `document.getElementById('set-push-note').textContent === 'Off on this device.' && window.__pushUnsubscribed`)
	got := append(subscribed, evalJS[[]string](t, again, `window.__fetches`)...)
	if !slices.Contains(got, "POST /api/push/subscriptions 201") || !slices.Contains(got, "DELETE /api/push/subscriptions 204") {
		t.Fatalf("API calls %q", got)
	}
}

// swRegistration returns the DevTools id of the service worker registration of scope.
func swRegistration(t *testing.T, tab context.Context, scope string) serviceworker.RegistrationID {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	found := make(chan serviceworker.RegistrationID, 16)
	if err := chromedp.Listen(ctx, func(ev any) {
		if u, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
			for _, r := range u.Registrations {
				if r.ScopeURL == scope && !r.IsDeleted {
					select {
					case found <- r.RegistrationID:
					default:
					}
				}
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("ServiceWorker.enable: %v", err)
	}
	select {
	case id := <-found:
		return id
	case <-ctx.Done():
		t.Fatalf("no service worker registration for %s", scope)
		return ""
	}
}

// deliverPush hands data to the service worker of registration id as a push
// message (ServiceWorker.deliverPushMessage), as the browser does with what a
// push service delivers.
func deliverPush(t *testing.T, tab context.Context, origin string, id serviceworker.RegistrationID, data string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
		Origin: origin, RegistrationID: id, Data: data}); err != nil {
		t.Fatalf("deliver a push message: %v", err)
	}
}

// swClick dispatches notificationclick for the service worker's
// notification with tag inside the service worker, as the browser does
// when the agent clicks it (DevTools cannot click a system notification).
func swClick(t *testing.T, browser context.Context, tag string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, stepTimeout)
	defer cancel()
	targets, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id target.ID
	for _, ti := range targets {
		if ti.Type == "service_worker" && strings.HasSuffix(ti.URL, "/portal/sw.js") {
			id = ti.TargetID
		}
	}
	if id == "" {
		t.Fatal("no service worker target")
	}
	sw, swCancel := chromedp.NewContext(browser, chromedp.WithTargetID(id))
	t.Cleanup(swCancel)
	n, err := chromedp.Run(sw, chromedp.Evaluate[int](fmt.Sprintf(`self.registration.getNotifications({tag: %s}).then(ns => {
  ns.forEach(n => self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n })));
  return ns.length;
})`, js(tag)), chromedp.EvalAwaitPromise))
	if err != nil || n != 1 {
		t.Fatalf("click the notification %s in the service worker: %d clicked, %v", tag, n, err)
	}
}

// awaitJS evaluates an expression whose value is a promise and decodes what it resolves to.
func awaitJS[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitAsync waits until the promise of expr resolves to true (waitFor takes
// a plain expression; a promise there would always be truthy).
func waitAsync(t *testing.T, tab context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for !awaitJS[bool](t, tab, expr) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, stepTimeout)
		}
		time.Sleep(pollInterval) // polling with a deadline
	}
}

// waitAgentsOnline polls GET /api/widget until it counts n agents online.
func waitAgentsOnline(t *testing.T, s *server, n int) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		res, err := http.Get(s.url() + "/api/widget")
		if err != nil {
			t.Fatal(err)
		}
		var a struct {
			AgentsOnline int `json:"agents_online"`
		}
		json.NewDecoder(res.Body).Decode(&a)
		res.Body.Close()
		if a.AgentsOnline == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d agents online, want %d", a.AgentsOnline, n)
		}
		time.Sleep(pollInterval) // polling with a deadline
	}
}
