package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

const errCatcher = `<script>window.__errs = []; addEventListener('error', function (e) { window.__errs.push(String(e.message) + ' @' + e.lineno); });
addEventListener('unhandledrejection', function (e) { window.__errs.push('rej ' + e.reason); });</script>`

func TestZZDebug(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{"/p": {html: hostHTML(errCatcher, "", ""), csp: "sandbox allow-scripts"}})
	browser := newBrowser(t)
	tab, _ := newTab(t, browser)
	run(t, tab, chromedp.Navigate(site.URL+"/p"))
	d := hostDoc{t: t, tab: tab}
	d.open()
	d.send("hi")
	pollJS(t, tab, "x", inWidget(`return r.querySelectorAll('.m').length > 1`))
	t.Log(evalJS[string](t, tab, inWidget(`return r.querySelector('.g').innerText + ' | ' + r.querySelector('.n').textContent + ' | ' + window.__errs.join('; ')`)))
}
