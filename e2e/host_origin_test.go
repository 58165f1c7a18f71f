package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// refusedJS says whether the widget shows only "unavailable on this site":
// the refused state, the status saying so, no composer, no e-mail form, no
// retry planned.
const refusedJS = `(() => { const h = document.querySelector('chatd-widget'), r = h && h.shadowRoot; if (!r) return false;
  const root = r.querySelector('.r'), shown = e => !!e && getComputedStyle(e).display !== 'none' && e.getClientRects().length > 0;
  return root.getAttribute('data-state') === 'refused' && /unavailable on this site/i.test(r.querySelector('.s').textContent) &&
    !shown(r.querySelector('.f')) && !shown(r.querySelector('textarea')) && !shown(r.querySelector('.em')) && !root.hasAttribute('data-retry'); })()`

// A page whose origin --origins does not allow is told so before its visitor
// types: GET /api/widget answers 403 origin_not_allowed (CORS *, so the
// widget can read it), the widget shows only "unavailable on this site",
// with nothing to type into, and opens no socket; a page that already held a
// token gets the same from the socket's close 1008 and never retries.
func TestHostOriginRefusedBeforeTyping(t *testing.T) {
	allowed := newHostSite(t, nil, nil)
	refused := newHostSite(t, nil, nil)
	s := startServer(t, "--origins", allowed.URL+"/")
	for _, h := range []*hostSite{allowed, refused} {
		h.chatd = s.url()
		h.pages = map[string]hostPage{"/": {html: hostHTML("", "", "")}, "/blank": {html: "<!doctype html><p>no widget</p>"}}
	}

	// The endpoint, by Origin.
	for _, tc := range []struct {
		origin string
		code   int
	}{
		{"", 200}, {allowed.URL, 200}, {strings.ToUpper(allowed.URL), 200}, {s.url(), 200},
		{refused.URL, 403}, {"null", 403}, {strings.Replace(allowed.URL, "http://", "https://", 1), 403},
		{allowed.URL + ".evil.test", 403}, {"http://evil.test", 403},
	} {
		req, _ := http.NewRequest("GET", s.url()+"/api/widget", nil)
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var v map[string]any
		json.Unmarshal(body, &v)
		if res.StatusCode != tc.code || res.Header.Get("Access-Control-Allow-Origin") != "*" || res.Header.Get("Vary") != "Origin" {
			t.Errorf("Origin %q: %d %v %s, want %d with CORS * and Vary: Origin", tc.origin, res.StatusCode, res.Header, body, tc.code)
		}
		if tc.code == 403 && (v["error"] != "origin_not_allowed" || len(v) != 1) || tc.code == 200 && v["available"] == nil {
			t.Errorf("Origin %q: body %s", tc.origin, body)
		}
	}

	browser := newBrowser(t)
	// A first visit: refused from the endpoint, before any socket.
	tab, _ := newIncognito(t, browser)
	run(t, tab, chromedp.Navigate(refused.URL+"/"))
	pollJS(t, tab, "the refusal before opening", `document.querySelector('chatd-widget') && document.querySelector('chatd-widget').shadowRoot.querySelector('.r').getAttribute('data-state') === 'refused'`)
	if got := evalJS[string](t, tab, statusJS); strings.Contains(got, "away") || strings.Contains(got, "mail") {
		t.Errorf("the status says %q", got)
	}
	pollJS(t, tab, "open", openJS)
	pollJS(t, tab, "only the refusal, once open", refusedJS)
	evalJS[bool](t, tab, `(chatd('setAttributes', {plan: 'pro'}), chatd('open'), true)`)
	if n := visitorSockets(t, s); n != 0 {
		t.Errorf("%d visitor sockets from a refused page", n)
	}
	pollJS(t, tab, "still only the refusal", refusedJS)

	// A page that kept a visitor's token: the socket is refused (close 1008).
	tab2, _ := newIncognito(t, browser)
	run(t, tab2, chromedp.Navigate(refused.URL+"/blank"))
	evalJS[bool](t, tab2, `(localStorage.setItem('chatd:`+s.url()+`:me', JSON.stringify({id: 'v0000000000000001', token: 'tok', name: 'Ann'})), true)`)
	run(t, tab2, chromedp.Navigate(refused.URL+"/"))
	pollJS(t, tab2, "open", openJS)
	pollJS(t, tab2, "only the refusal after close 1008", refusedJS)
	if n := gauge(t, s, `chatd_rejected_frames_total{reason="origin_not_allowed"}`); n != 1 {
		t.Errorf("%d refused sockets, want the one of the page with a token (no retry)", n)
	}

	// The allowed origin is unaffected.
	tab3, _ := newIncognito(t, browser)
	run(t, tab3, chromedp.Navigate(allowed.URL+"/"))
	d := hostDoc{t: t, tab: tab3}
	d.open()
	d.send("from an allowed origin")
	d.confirmed("from an allowed origin")
}
