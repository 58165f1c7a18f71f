package e2e

import (
	"fmt"
	"testing"
)

// The widget shows an agent's links as the portal does (linkCases): only
// http(s), opened in a new tab without the page, ending at invisible
// formatting characters, and the text shown is exactly the text sent.
func TestWidgetLinks(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{"/": {html: hostHTML("", "", "")}})
	browser := newBrowser(t)
	agent := newAgent(t, s)
	tab, _ := newIncognito(t, browser)
	openHost(t, tab, site, "/")
	d := hostDoc{t: t, tab: tab}
	d.open()
	d.send("links please")
	id := agent.waitMessage("links please").Client
	for _, c := range linkCases {
		agent.reply(id, c.text)
	}
	d.wait("every reply", inWidget(fmt.Sprintf(`return r.querySelectorAll('.m[data-offset]:not(.me) .mt').length === %d`, len(linkCases))))
	shown := evalJS[[]shownText](t, tab, inWidget(`return [...r.querySelectorAll('.m[data-offset]:not(.me) .mt')].map(e => ({
		text: e.textContent,
		links: [...e.querySelectorAll('a')].map(a => ({ text: a.textContent, href: a.getAttribute('href'), target: a.target, rel: a.rel })),
		other: [...e.querySelectorAll('*')].filter(n => n.tagName !== 'A').map(n => n.tagName),
	}))`))
	for i, c := range linkCases {
		got := shown[i]
		if got.Text != c.text || len(got.Other) > 0 {
			t.Errorf("reply %d shows %q with elements %v, want the text sent %q", i, got.Text, got.Other, c.text)
		}
		if len(got.Links) != len(c.links) {
			t.Errorf("reply %q has links %+v, want %q", c.text, got.Links, c.links)
			continue
		}
		for j, l := range got.Links {
			if l.Text != c.links[j][0] || l.Href != c.links[j][1] || l.Target != "_blank" || l.Rel != "noopener noreferrer" {
				t.Errorf("reply %q: link %d is %+v, want %q -> %q in a new tab, noopener noreferrer", c.text, j, l, c.links[j][0], c.links[j][1])
			}
		}
	}
}
