package main

import (
	"strings"
	"testing"
)

// A visitor's page URL (and any URL in its meta) leaves chatd without its
// query, fragment or user info on every channel: webhook bodies (JSON and
// signed), push payloads and alert mails (visitor mails:
// TestVisitorMailsThroughChatd). One rule: notify.PageLink.
func TestPageURLsLeaveWithoutQueryOrFragment(t *testing.T) {
	r := startNotifyRig(t)
	b := r.subscribe(t, "annslaptop")
	vis := dialWS(t, r.url(), "/ws/client")
	vis.send("client:add", map[string]any{"name": "Ann", "token": "", "after": 0, "meta": map[string]string{
		"page":     "https://shop.test/cart?session=SeCrEt1#frag-SeCrEt2",
		"referrer": "https://user:SeCrEt3@search.test/results?q=SeCrEt4",
		"title":    "Your cart",
	}})
	vis.expect("client:id", nil)
	vis.send("client:message", map[string]any{"cid": "c1", "text": "hello"})
	vis.expect("client:message", nil)

	leaks := func(what, s string) {
		t.Helper()
		if strings.Contains(s, "SeCrEt") || strings.Contains(s, "frag") {
			t.Errorf("%s carries the page's query, fragment or user info:\n%s", what, s)
		}
	}
	for range 2 {
		h := r.hook.Next(t)
		leaks("webhook "+h.Event, string(h.Body))
		if !h.SigOK || !strings.Contains(string(h.Body), `"page":"https://shop.test/cart"`) || !strings.Contains(string(h.Body), `"referrer":"https://search.test/results"`) ||
			!strings.Contains(string(h.Body), `"title":"Your cart"`) {
			t.Errorf("webhook %s: want the pages reduced to scheme, host and path, the rest of meta kept:\n%s", h.Event, h.Body)
		}
	}
	p := r.push.Next(t)
	if p.Browser != b.Name {
		t.Fatalf("push to %s", p.Browser)
	}
	leaks("push payload", string(p.Plain))
	for range 2 {
		leaks("alert mail", r.smtp.Next(t).Raw)
	}
}
