package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
)

const statusJS = `document.querySelector('chatd-widget').shadowRoot.querySelector('.s').textContent`

// A page whose Content-Security-Policy forbids chatd's socket: the widget
// says it cannot connect (never "Connecting…" forever); a report-only policy
// changes nothing, and the sources the README documents are enough.
func TestHostStrictCSP(t *testing.T) {
	s := startServer(t)
	script := "script-src 'self' {{chatd}}"
	pages := map[string]hostPage{
		"/connect-self":    {csp: "default-src 'self'; " + script + "; connect-src 'self'"},
		"/default-only":    {csp: "default-src 'self'; " + script},
		"/wss-only":        {csp: script + "; connect-src https: wss:"},
		"/none":            {csp: script + "; connect-src 'none'"},
		"/report-only":     {reportOnly: "default-src 'none'", csp: script + "; connect-src {{ws}}"},
		"/documented":      {csp: "default-src 'none'; " + script + "; connect-src {{ws}}; style-src 'self'; img-src 'self'"},
		"/documented-meta": {html: `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' {{chatd}}; connect-src {{chatd}} {{ws}}">`},
	}
	for k, p := range pages {
		p.html = hostHTML(p.html, "", "")
		pages[k] = p
	}
	site := newHostSite(t, s, pages)
	browser := newBrowser(t)
	tab, _ := newTab(t, browser)
	for _, path := range sortedKeys(pages) {
		run(t, tab, chromedp.Navigate(site.URL+path))
		pollJS(t, tab, path+": open", openJS)
		if strings.HasPrefix(path, "/documented") || path == "/report-only" {
			d := hostDoc{t: t, tab: tab}
			d.wait(path+": online", onlineJS)
			d.send("hello under " + path)
			d.confirmed("hello under " + path)
			if !evalJS[bool](t, tab, `getComputedStyle(document.querySelector('chatd-widget').shadowRoot.querySelector('.b')).backgroundColor === 'rgb(37, 99, 235)'`) {
				t.Errorf("%s: the widget's styles did not apply", path)
			}
			continue
		}
		pollJS(t, tab, path+": told it cannot connect", `document.querySelector('chatd-widget').shadowRoot.querySelector('.r').getAttribute('data-state') === 'blocked'`)
		if got := evalJS[string](t, tab, statusJS); got != "The chat cannot connect on this page." {
			t.Errorf("%s: the status says %q", path, got)
		}
	}
	// The widget's files are served compressed, with validators (item 13).
	req, _ := http.NewRequest("GET", s.url()+"/widget.js", nil)
	req.Header.Set("Accept-Encoding", "br, gzip")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Content-Encoding") != "br" || res.Header.Get("ETag") == "" || !strings.Contains(res.Header.Get("Cache-Control"), "max-age=") {
		t.Errorf("widget.js headers: %v", res.Header)
	}
}

// A refused Origin: the visitor is told the chat is unavailable on this site.
// With the server's origin_not_allowed answer (close 1008) the widget never
// retries; a server that refuses the handshake itself (HTTP 403) cannot be
// told from an outage, so the widget says "unavailable" and keeps trying slowly.
func TestHostOriginRefused(t *testing.T) {
	allowed := newHostSite(t, nil, nil)
	refused := newHostSite(t, nil, nil)
	httpsTwin := strings.Replace(refused.URL, "http://", "https://", 1)
	wwwTwin := strings.Replace(refused.URL, "127.0.0.1", "www.127.0.0.1", 1)
	s := startServer(t, "--origins", allowed.URL+","+httpsTwin+","+wwwTwin)
	for _, h := range []*hostSite{allowed, refused} {
		h.chatd = s.url()
		h.pages = map[string]hostPage{"/": {html: hostHTML("", "", "")}}
	}
	// Which refusal does this server give?
	hdr := http.Header{"Origin": {refused.URL}}
	conn, res, err := websocket.DefaultDialer.Dial("ws://"+s.Addr+"/ws/client", hdr)
	byClose := err == nil
	if conn != nil {
		conn.Close()
	} else if res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("dial with a refused origin: %v", err)
	}
	browser := newBrowser(t)
	tab, _ := newTab(t, browser)
	run(t, tab, chromedp.Navigate(allowed.URL+"/"))
	d := hostDoc{t: t, tab: tab}
	d.open()
	d.send("from an allowed origin")
	d.confirmed("from an allowed origin")

	tab2, _ := newIncognito(t, browser)
	run(t, tab2, chromedp.Navigate(refused.URL+"/"))
	pollJS(t, tab2, "open", openJS)
	want := "down"
	if byClose {
		want = "refused"
	}
	pollJS(t, tab2, "the refusal shown", `document.querySelector('chatd-widget').shadowRoot.querySelector('.r').getAttribute('data-state') === `+js(want))
	if got := evalJS[string](t, tab2, statusJS); !strings.Contains(got, "unavailable") {
		t.Errorf("the status says %q", got)
	}
	if byClose {
		if evalJS[string](t, tab2, `document.querySelector('chatd-widget').shadowRoot.querySelector('.r').getAttribute('data-retry') || ''`) != "" {
			t.Error("the widget plans a retry after origin_not_allowed")
		}
	}
}
