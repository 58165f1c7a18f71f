package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// freshOrder signs in on a new tab and returns the list as the server sends it.
func freshOrder(t *testing.T, browser context.Context, s *server, want int) []string {
	t.Helper()
	tab, cancel := newTab(t, browser)
	defer cancel()
	portalLogin(t, tab, s, true)
	waitFor(t, tab, fmt.Sprintf("%d visitors listed", want), fmt.Sprintf(`document.querySelectorAll('button.visitor').length === %d`, want))
	return listOrder(t, tab)
}

// Live updates order the list exactly as a reload does, through a scripted
// sequence of new visitors, messages, departures, returns and replies.
func TestPortalLiveOrderMatchesReload(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	live, _ := newTab(t, browser)
	portalLogin(t, live, s, true)

	visitors := map[string]*wsVisitor{}
	arrive := func(name string) {
		t.Helper()
		v := dialVisitor(t, s, name, "", nil)
		visitors[name] = v
		waitOnline(t, live, v.ID, true)
	}
	say := func(name, text string) {
		t.Helper()
		visitors[name].send(text)
		waitPreview(t, live, visitors[name].ID, text)
	}
	leave := func(name string) {
		t.Helper()
		visitors[name].leave()
		waitOnline(t, live, visitors[name].ID, false)
	}
	back := func(name string) {
		t.Helper()
		v := dialVisitor(t, s, name, visitors[name].Token, nil)
		visitors[name] = v
		waitOnline(t, live, v.ID, true)
	}
	compare := func(when string) {
		t.Helper()
		got := listOrder(t, live)
		want := freshOrder(t, browser, s, len(got))
		sameTexts(t, "the live list "+when+" (want the order of a fresh load)", got, want)
	}

	arrive("Ann")
	arrive("Bob")
	say("Ann", "hello from Ann")
	arrive("Cid")
	leave("Bob")
	arrive("Dee")
	say("Dee", "Dee has a question")
	arrive("Eve") // a new visitor without messages: first of those without messages
	compare("after arrivals and messages")

	leave("Ann")
	arrive("Fay")
	leave("Cid")
	back("Bob") // a return moves Bob up among the visitors without messages
	portalSelect(t, live, visitors["Cid"].ID)
	portalReply(t, live, "Cid, we answered while you were away") // a reply moves Cid's conversation to the top
	waitPreview(t, live, visitors["Cid"].ID, "Cid, we answered while you were away")
	arrive("Gus")
	leave("Gus")
	back("Ann")
	say("Ann", "Ann is back with another question")
	compare("after departures, returns and replies")

	// A reload of the live tab shows the same order it had.
	before := listOrder(t, live)
	run(t, live, chromedp.Reload())
	waitPortalConnected(t, live)
	waitFor(t, live, "the list after a reload", fmt.Sprintf(`document.querySelectorAll('button.visitor').length === %d`, len(before)))
	sameTexts(t, "the list after a reload", listOrder(t, live), before)
}

// While the portal itself is disconnected it never shows a visitor online: the
// presence is unknown until it is connected again, and right again after that.
func TestPortalPresenceUnknownWhileDisconnected(t *testing.T) {
	s := startServer(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("is anyone there?")
	browser := newBrowser(t)
	agent, _ := newTab(t, browser)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, ann.ID)
	waitOnline(t, agent, ann.ID, true)
	// Count every moment the page shows a green dot while it is not connected.
	evalJS[bool](t, agent, `(() => {
		window.__lies = 0;
		const check = () => { if (!document.querySelector('#conn.ok') && document.querySelector('.dot.online')) window.__lies++; };
		new MutationObserver(check).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
		return true;
	})()`)

	s.stop()
	waitFor(t, agent, "the portal to notice the outage", `!document.querySelector('#conn.ok')`)
	waitFor(t, agent, "presence shown as unknown", fmt.Sprintf(
		`%s.querySelector('.dot.unknown') && document.querySelector('#conv-dot.unknown') && document.getElementById('visitor-count').textContent.includes('presence unknown') && document.getElementById('conv-sub').textContent.includes('unknown')`, rowJS(ann.ID)))
	if n := evalJS[int](t, agent, `document.querySelectorAll('.dot.online').length`); n != 0 {
		t.Errorf("%d green dots while the portal is disconnected", n)
	}

	s.restart()
	waitFor(t, agent, "the login page (the restart ended the session)", `!document.getElementById('login').hidden || !!document.querySelector('#conn.ok')`)
	if !evalJS[bool](t, agent, `!!document.querySelector('#conn.ok')`) {
		portalLogin(t, agent, s, false)
	}
	waitOnline(t, agent, ann.ID, false) // Ann's socket ended with the old process
	dialVisitor(t, s, "Ann", ann.Token, nil)
	waitOnline(t, agent, ann.ID, true)
	waitFor(t, agent, "the header online again", `document.querySelector('#conv-dot.online') && document.getElementById('conv-sub').textContent.startsWith('Online')`)
	if n := evalJS[int](t, agent, `window.__lies`); n != 0 {
		t.Errorf("the portal showed a green dot while disconnected %d time(s)", n)
	}
}

// After a server restart (close 1012) the portal comes back by itself within
// seconds; the wait is drawn from a spread-out range so many portals do not
// return in the same instant.
func TestPortalReconnectsAfterRestart(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	agent, _ := newTab(t, browser)
	addScript(t, agent, socketTap)
	portalLogin(t, agent, s, true)

	// The schedule itself: after a restart every wait is 0.25-3 s, the first one at
	// most 1.5 s, and a thousand portals spread their first attempt over >1 s.
	type stats struct{ Min, Max, Spread float64 }
	restart := importJS[stats](t, agent, "/portal/backoff.js", `(() => {
		const first = [], later = [];
		for (let i = 0; i < 1000; i++) first.push(m.reconnectDelay(0, true));
		for (let a = 1; a < m.RESTART_TRIES; a++) for (let i = 0; i < 200; i++) later.push(m.reconnectDelay(a, true));
		const all = first.concat(later);
		return { Min: Math.min(...all), Max: Math.max(...later, ...first), Spread: Math.max(...first) - Math.min(...first) };
	})()`)
	if restart.Min < 250 || restart.Max > 3000 || restart.Spread < 1000 {
		t.Errorf("after a restart the waits are %v..%v ms, first attempts spread over %v ms; want 250..3000 ms and a spread over 1000 ms", restart.Min, restart.Max, restart.Spread)
	}
	firstMax := importJS[float64](t, agent, "/portal/backoff.js", `Math.max(...Array.from({length: 1000}, () => m.reconnectDelay(0, true)))`)
	if firstMax > 1500 {
		t.Errorf("the first attempt after a restart waits up to %v ms, want at most 1500", firstMax)
	}
	outage := importJS[[]float64](t, agent, "/portal/backoff.js", `[m.reconnectDelay(0, false, () => 0), m.reconnectDelay(20, false, () => 1), m.reconnectDelay(m.RESTART_TRIES, true, () => 1)]`)
	if outage[0] < 500 || outage[1] != 30000 || outage[2] < 3000 {
		t.Errorf("outage waits %v: want at least 0.5 s at first, at most 30 s, and a restart that lasts becomes an outage", outage)
	}

	// A restart that takes a while: the server stays down through several attempts.
	s.stop()
	down := time.Now()
	waitFor(t, agent, "four failed attempts to reconnect", `window.__closes.length >= 5`)
	s.restart()
	ready := time.Now()
	waitFor(t, agent, "the portal back by itself", `!document.getElementById('login').hidden || !!document.querySelector('#conn.ok')`)
	t.Logf("figure: server down %v (4 failed attempts); the portal was back %v after the new process was ready",
		ready.Sub(down).Round(10*time.Millisecond), time.Since(ready).Round(10*time.Millisecond)) // figures, not assertions
	if !evalJS[bool](t, agent, `window.__closes.includes(1012)`) {
		t.Errorf("the portal saw close codes %v, want 1012 (server restart) among them", evalJS[[]int](t, agent, `window.__closes`))
	}
}
