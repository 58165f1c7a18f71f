package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

// foreignPage is a customer's site on another origin, without CSP, whose CSS tries
// hard to break the widget. Its inline script records the window's names before the widget loads.
const foreignPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Customer site</title>
<style>
* { all: unset !important; }
body { display: block !important; font: 40px/3 serif !important; color: red !important; }
div, section, button, textarea, form, span { display: none !important; color: red !important; }
chatd-widget { display: none !important; }
</style>
<script>window.__before = Object.getOwnPropertyNames(window);</script>
</head><body><p>Welcome to a customer's shop.</p>
<script src="%s/widget.js" defer data-title="Acme Help" data-color="#e11d48" data-position="left"
  data-greeting="Hello from the Acme team!"></script>
</body></html>`

// The widget on another site: configured from its script tag, untouched by hostile
// CSS, leaking no global names, talking to its own server.
func TestWidgetOnForeignSite(t *testing.T) {
	s := startServer(t)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, foreignPage, s.url())
	}))
	t.Cleanup(site.Close)

	browser := newBrowser(t)
	tab, _ := newTab(t, browser)
	run(t, tab, chromedp.Navigate(site.URL))
	waitFor(t, tab, "a 60px bubble despite the host CSS", inWidget(
		`const b = r.querySelector('.b').getBoundingClientRect(); return b.width === 60 && b.height === 60`))

	// One global name, the documented JavaScript API (window.chatd), nothing else.
	leaked := evalJS[[]string](t, tab, `Object.getOwnPropertyNames(window).filter(n => n !== '__before' && !window.__before.includes(n))`)
	if len(leaked) != 1 || leaked[0] != "chatd" || !evalJS[bool](t, tab, `typeof window.chatd === 'function'`) {
		t.Errorf("the widget leaked global names: %q (only chatd, the API, is expected)", leaked)
	}
	if left := evalJS[float64](t, tab, inWidget(`return r.querySelector('.b').getBoundingClientRect().left`)); left > 100 {
		t.Errorf("data-position=left: the bubble is at x=%v", left)
	}
	if bg := evalJS[string](t, tab, inWidget(`return getComputedStyle(r.querySelector('.b')).backgroundColor`)); bg != "rgb(225, 29, 72)" {
		t.Errorf("data-color: the bubble's colour is %s", bg)
	}

	openWidget(t, tab)
	if title := evalJS[string](t, tab, inWidget(`return r.querySelector('.t').textContent`)); title != "Acme Help" {
		t.Errorf("data-title: the header says %q", title)
	}
	if greet := evalJS[string](t, tab, inWidget(`return r.querySelector('.m .mt').textContent`)); greet != "Hello from the Acme team!" {
		t.Errorf("data-greeting: the greeting is %q", greet)
	}
	widgetSend(t, tab, "hello from a customer's site")
	if size := evalJS[string](t, tab, inWidget(`return getComputedStyle(r.querySelector('.m[data-offset] .mt')).fontSize`)); size != "14px" {
		t.Errorf("the host page's font leaked into the widget: font-size %s", size)
	}
}

// At a phone's width the open chat fills the screen and closes again.
func TestWidgetMobileWidth(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	tab, _ := newTab(t, browser)
	run(t, tab, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	openDemo(t, tab, s)
	openWidget(t, tab)
	waitFor(t, tab, "a full-screen panel", inWidget(
		`const p = r.querySelector('.p').getBoundingClientRect();
		 return p.left === 0 && p.top === 0 && p.width === innerWidth && p.height === innerHeight && r.querySelector('.b').getBoundingClientRect().width === 0`))
	widgetSend(t, tab, "Hi from my phone")
	screenshot(t, tab, "widget-mobile.png")
	run(t, tab, chromedp.Click(chromedp.JSPath(widgetRootJS+`.querySelector('.x')`)))
	waitFor(t, tab, "the panel closed and the bubble back", inWidget(
		`return r.querySelector('.p').getBoundingClientRect().width === 0 && r.querySelector('.b').getBoundingClientRect().width === 60`))
}
