package e2e

import (
	"fmt"
	"math"
	"testing"

	"github.com/chromedp/chromedp"
)

// geometryJS measures the launcher and panel in viewport pixels and tells
// whether the widget is what a click at their centres reaches.
const geometryJS = `(() => {
  const h = document.querySelector('chatd-widget'), r = h.shadowRoot;
  const box = (e) => { const b = e.getBoundingClientRect(); return {l: b.left, t: b.top, w: b.width, h: b.height}; };
  const b = box(r.querySelector('.b')), p = box(r.querySelector('.p')), x = box(r.querySelector('.x'));
  const hit = (q) => q.w > 0 && document.elementFromPoint(q.l + q.w / 2, q.t + q.h / 2) === h;
  return {b, p, x, vw: innerWidth, vh: innerHeight, hitB: hit(b), hitX: hit(x), count: document.querySelectorAll('chatd-widget').length};
})()`

type rect struct{ L, T, W, H float64 }

type geometry struct {
	B, P, X    rect
	VW, VH     float64
	HitB, HitX bool
	Count      int
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1.5 }

// Host CSS cannot move, hide or resize the launcher or the panel: not CSS
// aimed at the widget, not CSS that changes how position:fixed resolves
// (transform, filter, contain, zoom on <html> or <body>), not overlays.
func TestHostCSSCannotMoveOrHide(t *testing.T) {
	s := startServer(t)
	tall := `<div style="height:3000px">tall content</div>`
	pages := map[string]string{
		"/all-unset":  `<style>* { all: unset !important; } chatd-widget, chatd-widget * { display: none !important; } [popover] { display: none !important; }</style>`,
		"/hide-host":  `<style>chatd-widget { visibility: hidden !important; opacity: 0 !important; transform: scale(0) !important; width: 1px !important; position: absolute !important; top: -999px !important; z-index: -1 !important; }</style>`,
		"/transform":  `<style>html { transform: translateY(120px) scale(0.8); } body { transform: translateX(50px); }</style>`,
		"/filter":     `<style>html { filter: saturate(1.1); } body { filter: blur(0); contain: paint; will-change: transform; }</style>`,
		"/contain":    `<style>html { contain: layout paint; perspective: 500px; } body { container-type: size; height: 100vh; overflow: auto; }</style>`,
		"/zoom":       `<style>html { zoom: 1.5; } body { zoom: 0.8; }</style>`,
		"/overlay":    `<style>.veil { position: fixed; inset: 0; z-index: 2147483647; background: rgba(0,0,0,.05); }</style>`,
		"/overlay-js": `<script>addEventListener('DOMContentLoaded', function () { var d = document.createElement('div'); d.style.cssText = 'position:fixed;inset:0;z-index:2147483647'; document.documentElement.appendChild(d); });</script>`,
	}
	hostPages := map[string]hostPage{}
	for path, head := range pages {
		body := tall
		if path == "/overlay" {
			body += `<div class="veil"></div>`
		}
		hostPages[path] = hostPage{html: hostHTML(head, body, "")}
	}
	site := newHostSite(t, s, hostPages)
	browser := newBrowser(t)
	tab, _ := newTab(t, browser)
	for _, path := range sortedKeys(pages) {
		run(t, tab, chromedp.Navigate(site.URL+path))
		pollJS(t, tab, path+": the launcher", `document.querySelector('chatd-widget') && document.querySelector('chatd-widget').shadowRoot.querySelector('.b')`)
		evalJS[bool](t, tab, `(window.scrollTo(0, 400), true)`)
		g := evalJS[geometry](t, tab, geometryJS)
		if g.Count != 1 || !near(g.B.W, 60) || !near(g.B.H, 60) || !near(g.B.L+g.B.W, g.VW-20) || !near(g.B.T+g.B.H, g.VH-20) || !g.HitB {
			t.Errorf("%s: launcher %+v in a %vx%v viewport (reachable: %v, widgets: %d), want 60x60 at 20px from the bottom right corner",
				path, g.B, g.VW, g.VH, g.HitB, g.Count)
		}
		pollJS(t, tab, path+": the panel open", openJS)
		pollJS(t, tab, path+": the panel laid out", `document.querySelector('chatd-widget').shadowRoot.querySelector('.p').getBoundingClientRect().height > 0`)
		g = evalJS[geometry](t, tab, geometryJS)
		if !near(g.P.W, 370) || !near(g.P.H, math.Min(600, g.VH-110)) || !near(g.P.L+g.P.W, g.VW-20) || g.P.T < 0 || !g.HitX {
			t.Errorf("%s: panel %+v, close button %+v reachable %v in a %vx%v viewport", path, g.P, g.X, g.HitX, g.VW, g.VH)
		}
	}
}

// On a phone with the site's own fixed bottom bar, the documented offsets lift
// the launcher above it; the open panel fills the screen with its close button
// reachable, and closing gives the bar back.
func TestHostPhoneBottomBar(t *testing.T) {
	s := startServer(t)
	bar := `<style>body { margin: 0; padding-bottom: 80px; font: 16px sans-serif; } .bar { position: fixed; left: 0; right: 0; bottom: 0; height: 64px;
	  display: flex; background: #111827; z-index: 2147483647; } .bar a { flex: 1; color: #fff; text-align: center; line-height: 64px; }
	  .top { position: fixed; top: 0; left: 0; right: 0; height: 56px; background: #fde68a; z-index: 2147483647; }</style>`
	nav := `<div class="top">Shop</div><div style="height:2000px;padding:70px 16px">Products…</div><nav class="bar"><a href="#">Home</a><a href="#">Search</a><a href="#">Cart</a></nav>`
	site := newHostSite(t, s, map[string]hostPage{
		"/px":  {html: hostHTML(bar, nav, `<script src="{{chatd}}/widget.js" async data-offset-bottom="64" data-offset-side="8"></script>`)},
		"/rem": {html: hostHTML(bar, nav, `<script src="{{chatd}}/widget.js" async data-offset-bottom="4rem" data-position="left"></script>`)},
	})
	browser := newBrowser(t)
	tab, _ := newTab(t, browser)
	run(t, tab, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	for _, c := range []struct {
		path       string
		bottom     float64 // launcher's bottom edge from the viewport's bottom
		side       float64
		leftCorner bool
	}{{"/px", 64 + 14, 8 + 14, false}, {"/rem", 64 + 14, 14, true}} {
		run(t, tab, chromedp.Navigate(site.URL+c.path))
		pollJS(t, tab, c.path+": the launcher", `document.querySelector('chatd-widget') && document.querySelector('chatd-widget').shadowRoot.querySelector('.b')`)
		g := evalJS[geometry](t, tab, geometryJS)
		x := g.B.L
		if !c.leftCorner {
			x = g.VW - g.B.L - g.B.W
		}
		if !near(g.VH-g.B.T-g.B.H, c.bottom) || !near(x, c.side) || !g.HitB {
			t.Errorf("%s: launcher %+v in %vx%v, want its bottom %vpx and side %vpx from the edges, reachable", c.path, g.B, g.VW, g.VH, c.bottom, c.side)
		}
		for _, n := range []int{1, 2, 3} {
			if !evalJS[bool](t, tab, fmt.Sprintf(`(() => { const a = document.querySelector('.bar a:nth-child(%d)').getBoundingClientRect();
			  return document.elementFromPoint(a.left + a.width / 2, a.top + a.height / 2).tagName === 'A'; })()`, n)) {
				t.Errorf("%s: the site's bottom bar button %d is covered", c.path, n)
			}
		}
		if c.path == "/px" {
			screenshot(t, tab, "widget-phone-bar.png")
		}
		pollJS(t, tab, c.path+": open", openJS)
		pollJS(t, tab, c.path+": a full-screen panel", `(() => { const p = document.querySelector('chatd-widget').shadowRoot.querySelector('.p').getBoundingClientRect();
		  return p.left === 0 && p.top === 0 && p.width === innerWidth && p.height === innerHeight; })()`)
		g = evalJS[geometry](t, tab, geometryJS)
		if !g.HitX || g.X.T < 0 || g.X.L+g.X.W > g.VW {
			t.Errorf("%s: the close button %+v is not reachable", c.path, g.X)
		}
		if c.path == "/px" {
			pollJS(t, tab, "online", onlineJS)
			hostDoc{t: t, tab: tab}.send("Do you deliver on Sundays?")
			hostDoc{t: t, tab: tab}.confirmed("Do you deliver on Sundays?")
			screenshot(t, tab, "widget-phone-open.png")
		}
		run(t, tab, chromedp.Click(chromedp.JSPath(widgetRootJS+`.querySelector('.x')`)))
		pollJS(t, tab, c.path+": closed, the bar usable again", `(() => { const a = document.querySelector('.bar a').getBoundingClientRect();
		  return document.elementFromPoint(a.left + 5, a.top + 5).tagName === 'A'; })()`)
	}
}
