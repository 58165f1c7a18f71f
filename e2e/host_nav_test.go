package e2e

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// The tag however repeated or placed: one widget and one socket per page.
func TestHostDuplicateTags(t *testing.T) {
	s := startServer(t)
	w := `{{chatd}}/widget.js`
	inject := `<script>for (var i = 0; i < 2; i++) { var s = document.createElement('script'); s.src = '` + w + `?n=' + i; document.head.appendChild(s); }</script>`
	pages := map[string]string{
		"/head-and-body": hostHTML(`<script src="`+w+`"></script>`, "", `<script src="`+w+`" async></script>`),
		"/query-strings": hostHTML(`<script src="`+w+`?v=1" defer></script>`, `<script src="`+w+`?v=2"></script>`, `<script src="`+w+`?v=3" async data-lang="de"></script>`),
		"/injected":      hostHTML(inject, inject, ""),
		"/twice-in-head": hostHTML(`<script src="`+w+`"></script><script src="`+w+`"></script>`, "", " "),
	}
	hp := map[string]hostPage{}
	for k, v := range pages {
		hp[k] = hostPage{html: v}
	}
	site := newHostSite(t, s, hp)
	browser := newBrowser(t)
	tab, _ := newTab(t, browser)
	for i, path := range sortedKeys(pages) {
		run(t, tab, chromedp.Navigate(site.URL+path))
		d := hostDoc{t: t, tab: tab}
		d.open()
		text := fmt.Sprintf("message %d on %s", i, path)
		d.send(text)
		d.confirmed(text)
		waitVisitorSockets(t, s, 1)
		if n := evalJS[int](t, tab, `document.querySelectorAll('chatd-widget').length`); n != 1 {
			t.Errorf("%s: %d widgets on the page", path, n)
		}
		// A later script tag (e.g. added by a tag manager) changes nothing either.
		evalJS[bool](t, tab, `(() => { const s = document.createElement('script'); s.src = `+js(s.url()+"/widget.js?late")+`; document.body.appendChild(s); return true; })()`)
		pollJS(t, tab, "the late tag loaded", `performance.getEntriesByType('resource').some(e => e.name.endsWith('widget.js?late'))`)
		d.send(text + " again")
		d.confirmed(text + " again")
		if n := evalJS[int](t, tab, `document.querySelectorAll('chatd-widget').length`); n != 1 || visitorSockets(t, s) != 1 {
			t.Errorf("%s: after a late tag, %d widgets and %d sockets", path, n, visitorSockets(t, s))
		}
	}
}

// bodySwapJS is a Turbo/Turbolinks-style navigation: fetch the next page,
// put its body in place by the page's method, re-run its scripts, push the URL.
const bodySwapJS = `<script>
window.__swap = function (url, how) {
  return fetch(url).then(function (r) { return r.text(); }).then(function (html) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    var body = document.importNode(doc.body, true);
    document.title = doc.title;
    if (how === 'replaceWith') document.body.replaceWith(body);
    else if (how === 'assign') document.body = body;
    else if (how === 'replaceChild') document.documentElement.replaceChild(body, document.body);
    else if (how === 'innerHTML') document.body.innerHTML = doc.body.innerHTML;
    else if (how === 'html') { document.documentElement.innerHTML = doc.documentElement.innerHTML; }
    else if (how === 'sweep') { document.body.replaceWith(body); document.querySelectorAll('chatd-widget').forEach(function (e) { e.remove(); }); }
    // Like Turbo: scripts of the new body run again.
    document.body.querySelectorAll('script').forEach(function (old) {
      var s = document.createElement('script');
      for (var i = 0; i < old.attributes.length; i++) s.setAttribute(old.attributes[i].name, old.attributes[i].value);
      s.textContent = old.textContent;
      old.replaceWith(s);
    });
    history.pushState({}, '', url);
    window.__swaps = (window.__swaps || 0) + 1;
  });
};
</script>`

// Sites that swap <body> without a full load: one widget and one socket across
// ten navigations (more than the server's 8 sockets per visitor), never gone.
func TestHostBodySwaps(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{
		"/app": {html: hostHTML(bodySwapJS, `<p id="where">page</p>`, "")},
	})
	browser := newBrowser(t)
	tab, _ := newTab(t, browser)
	for _, how := range []string{"replaceWith", "assign", "replaceChild", "innerHTML", "html", "sweep"} {
		run(t, tab, chromedp.Navigate(site.URL+"/app"))
		d := hostDoc{t: t, tab: tab}
		d.open()
		first := "before the swaps by " + how
		d.send(first)
		d.confirmed(first)
		for i := 1; i <= 10; i++ {
			evalJS[bool](t, tab, fmt.Sprintf(`(window.__swap(%s, %s), true)`, js(fmt.Sprintf("/app?page=%d", i)), js(how)))
			pollJS(t, tab, fmt.Sprintf("%s: swap %d", how, i), fmt.Sprintf(`window.__swaps === %d`, i))
		}
		pollJS(t, tab, how+": the launcher still shown", `(() => { const h = document.querySelectorAll('chatd-widget'); if (h.length !== 1) return false;
		  const b = h[0].shadowRoot.querySelector('.b').getBoundingClientRect(), p = h[0].shadowRoot.querySelector('.p').getBoundingClientRect();
		  return (b.width === 60 || p.width > 0) && location.search === '?page=10'; })()`)
		d.wait(how+": online", onlineJS)
		waitVisitorSockets(t, s, 1)
		after := "after ten swaps by " + how
		d.send(after)
		d.confirmed(after)
		d.confirmed(first)
		if n := visitorSockets(t, s); n != 1 {
			t.Errorf("%s: %d visitor sockets after ten swaps, want 1", how, n)
		}
	}
}
