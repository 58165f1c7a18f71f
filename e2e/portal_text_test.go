package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

type shownLink struct {
	Text   string `json:"text"`
	Href   string `json:"href"`
	Target string `json:"target"`
	Rel    string `json:"rel"`
}

// shownText is what the portal shows of one message: its text and its links.
type shownText struct {
	Text  string      `json:"text"`
	Links []shownLink `json:"links"`
	Other []string    `json:"other"` // elements in the text other than links
}

// linkCases are message texts and the links they must show (shown text,
// href), in the portal and in the widget alike.
var linkCases = []struct {
	text  string
	links [][2]string // shown text, href
}{
	{"see https://example.com/path.", [][2]string{{"https://example.com/path", "https://example.com/path"}}},
	{"(https://en.wikipedia.org/wiki/Go_(game))", [][2]string{{"https://en.wikipedia.org/wiki/Go_(game)", "https://en.wikipedia.org/wiki/Go_(game)"}}},
	{"(see https://x.example/a), then", [][2]string{{"https://x.example/a", "https://x.example/a"}}},
	{"two: https://a.example, http://b.example/?q=1!", [][2]string{{"https://a.example", "https://a.example/"}, {"http://b.example/?q=1", "http://b.example/?q=1"}}},
	{"HTTPS://EXAMPLE.COM/A", [][2]string{{"HTTPS://EXAMPLE.COM/A", "https://example.com/A"}}},
	{`https://x"onmouseover=window.__pwned=1 x`, [][2]string{{"https://x", "https://x/"}}},
	{`<a href="https://evil.example">click</a>`, [][2]string{{"https://evil.example", "https://evil.example/"}}},
	{"https://example.com/\u202Egnp.exe", [][2]string{{"https://example.com/", "https://example.com/"}}},
	{"https://bank.example\u200B.evil.example/", [][2]string{{"https://bank.example", "https://bank.example/"}}},
	{"https://a.example/x\u2066y\u2069 and https://b.example/\u00ADz", [][2]string{{"https://a.example/x", "https://a.example/x"}, {"https://b.example/", "https://b.example/"}}},
	{"https://例え.jp/パス?", [][2]string{{"https://例え.jp/パス", "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"}}},
	{"javascript:alert(1)", nil},
	{"JaVaScRiPt:window.__pwned=1", nil},
	{"data:text/html,<script>window.__pwned=1</script>", nil},
	{"http://javascript:alert(1)", nil},
	{"ftp://files.example/x file:///etc/passwd mailto:a@b.example", nil},
	{"https:// and http://", nil},
	{"xhttps://glued.example", nil},
	{"www.example.com", nil},
}

// http(s) URLs in messages are links that open in a new tab without access to
// the portal; nothing else is ever a link, and the text shown is exactly the
// text sent.
func TestPortalLinks(t *testing.T) {
	cases := linkCases
	s := startServer(t)
	v := dialVisitor(t, s, "Link Lover", "", map[string]string{"page": "javascript:window.__pwned=1"})
	for _, c := range cases {
		v.send(c.text)
	}
	browser := newBrowser(t)
	agent, _ := newTab(t, browser)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, v.ID)
	reply := "Our FAQ: https://docs.example/faq."
	portalReply(t, agent, reply)
	waitFor(t, agent, "every message", fmt.Sprintf(`document.querySelectorAll('#message-list .msg').length === %d`, len(cases)+1))

	shown := evalJS[[]shownText](t, agent, `[...document.querySelectorAll('#message-list .msg .text')].map(e => ({
		text: e.textContent,
		links: [...e.querySelectorAll('a')].map(a => ({ text: a.textContent, href: a.getAttribute('href'), target: a.target, rel: a.rel })),
		other: [...e.querySelectorAll('*')].filter(n => n.tagName !== 'A').map(n => n.tagName),
	}))`)
	want := append(cases, struct {
		text  string
		links [][2]string
	}{reply, [][2]string{{"https://docs.example/faq", "https://docs.example/faq"}}})
	for i, c := range want {
		got := shown[i]
		if got.Text != c.text {
			t.Errorf("message %d shows %q, want the text sent %q", i, got.Text, c.text)
		}
		if len(got.Other) > 0 {
			t.Errorf("message %q made elements %v", c.text, got.Other)
		}
		if len(got.Links) != len(c.links) {
			t.Errorf("message %q has links %+v, want %q", c.text, got.Links, c.links)
			continue
		}
		for j, l := range got.Links {
			if l.Text != c.links[j][0] || l.Href != c.links[j][1] {
				t.Errorf("message %q: link %d is %q -> %q, want %q -> %q", c.text, j, l.Text, l.Href, c.links[j][0], c.links[j][1])
			}
			if l.Target != "_blank" || l.Rel != "noopener noreferrer" {
				t.Errorf("message %q: link %q has target %q rel %q, want _blank and noopener noreferrer", c.text, l.Text, l.Target, l.Rel)
			}
		}
	}
	// Pointing at and clicking the hostile link runs nothing and leaves the portal where it is.
	hostile := `[...document.querySelectorAll('#message-list a')].find(a => a.textContent === 'https://x')`
	evalJS[bool](t, agent, `(`+hostile+`.scrollIntoView({block: 'center'}), true)`)
	run(t, agent, chromedp.Click(chromedp.JSPath(hostile)))
	if evalJS[bool](t, agent, `window.__pwned !== undefined || location.pathname !== '/portal/'`) {
		t.Error("hovering or clicking a link ran code or navigated the portal away")
	}
	// A page that is not http(s) is shown as text, never as a link.
	if n := evalJS[int](t, agent, `document.querySelectorAll('#conv-page a').length`); n != 0 {
		t.Errorf("the javascript: page is shown as %d link(s)", n)
	}
	if got := evalJS[string](t, agent, `document.getElementById('conv-page').textContent`); !strings.Contains(got, "javascript:window.__pwned=1") {
		t.Errorf("the page line reads %q, want the page as text", got)
	}
}
