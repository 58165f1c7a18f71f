package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// addScript makes tab run src at the start of every document it loads, before
// the page's own scripts. Call it before navigating.
func addScript(t *testing.T, tab context.Context, src string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		t.Fatalf("add a script to new documents: %v", err)
	}
}

// socketTap records the page's WebSockets: window.__sent holds every frame sent
// and window.__got every frame received from the server (decoded),
// window.__closes every close code seen, and window.__inject(type,
// data) delivers a frame to the newest socket as if the server had sent it
// (frames of protocol additions a server may not send yet).
const socketTap = `(() => {
  const WS = window.WebSocket;
  const sockets = [];
  window.__sent = [];
  window.__got = [];
  window.__closes = [];
  window.WebSocket = class extends WS {
    constructor(...a) {
      super(...a);
      sockets.push(this);
      this.addEventListener('close', e => window.__closes.push(e.code));
      this.addEventListener('message', e => { try { window.__got.push(JSON.parse(e.data)); } catch (x) { /* not JSON */ } });
    }
    send(d) {
      try { window.__sent.push(JSON.parse(d)); } catch (e) { /* not JSON */ }
      return super.send(d);
    }
  };
  window.__inject = (type, data) => {
    const s = sockets[sockets.length - 1];
    s.onmessage(new MessageEvent('message', { data: JSON.stringify({ type, data }) }));
    return true;
  };
  window.__dropSocket = () => { sockets[sockets.length - 1].close(); return true; };
})()`

// fakeClock replaces Date so the page's "now" can be set: window.__setNow(ms)
// makes Date.now() and new Date() read ms from then on, running at the real pace.
const fakeClock = `(() => {
  const D = Date;
  let off = 0;
  class FakeDate extends D {
    constructor(...a) { if (a.length === 0) super(D.now() + off); else super(...a); }
    static now() { return D.now() + off; }
  }
  window.Date = FakeDate;
  window.__setNow = ms => { off = ms - D.now(); return true; };
})()`

// inject delivers a frame to the portal's socket (needs socketTap).
func inject(t *testing.T, tab context.Context, typ string, data any) {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	evalJS[bool](t, tab, fmt.Sprintf(`window.__inject(%s, %s)`, js(typ), b))
}

// emulateZone sets tab's time zone and locale (en-US, so labels can be compared).
func emulateZone(t *testing.T, tab context.Context, zone string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		t.Fatalf("emulate time zone %s: %v", zone, err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "en_US"}); err != nil {
		t.Fatalf("emulate locale: %v", err)
	}
}

// phone makes tab a 375 × 740 phone screen (mobile viewport, touch).
func phone(t *testing.T, tab context.Context) {
	t.Helper()
	run(t, tab, chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile, chromedp.EmulateTouch))
}

// importJS evaluates an expression with the portal module at path imported as
// m, e.g. importJS[int](t, tab, "/portal/backoff.js", "m.RESTART_TRIES").
func importJS[T any](t *testing.T, tab context.Context, path, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](
		fmt.Sprintf(`import(%s).then(m => (%s))`, js(path), expr), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s with %s: %v", expr, path, err)
	}
	return v
}

// listOrder is the portal's visitor list, top to bottom.
func listOrder(t *testing.T, tab context.Context) []string {
	t.Helper()
	return evalJS[[]string](t, tab, `[...document.querySelectorAll('#visitors button.visitor')].map(b => b.dataset.id)`)
}

// rowJS is an expression for visitor id's row in the list.
func rowJS(id string) string { return fmt.Sprintf(`document.querySelector(%s)`, js(visitorButton(id))) }

// waitOnline waits until the portal shows visitor id online (true) or offline (false).
func waitOnline(t *testing.T, tab context.Context, id string, online bool) {
	t.Helper()
	waitFor(t, tab, fmt.Sprintf("visitor %s shown online=%v", id, online), fmt.Sprintf(
		`(() => { const b = %s; return b && !!b.querySelector('.dot.online') === %v && !b.querySelector('.dot.unknown'); })()`, rowJS(id), online))
}

// waitPreview waits until visitor id's row previews text (its latest message).
func waitPreview(t *testing.T, tab context.Context, id, text string) {
	t.Helper()
	waitFor(t, tab, fmt.Sprintf("the preview %q", text), fmt.Sprintf(
		`(() => { const b = %s; return b && b.querySelector('.visitor-preview').textContent.endsWith(%s); })()`, rowJS(id), js(text)))
}
