package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/store"
)

// TestPortalOpensWith100kVisitors measures opening the portal (sign-in to
// the list rendered, counts shown) over 100,000 visitors, every tenth with a
// message: the figure in docs/performance.md. It runs with CHATD_PERF=1 (it
// writes a large data directory first); the time is logged, never asserted.
func TestPortalOpensWith100kVisitors(t *testing.T) {
	if os.Getenv("CHATD_PERF") == "" {
		t.Skip("a measurement: run with CHATD_PERF=1")
	}
	bin, dir := chatdtest.Binary(t), t.TempDir()
	st, err := store.Open(dir, db.Options{Sync: db.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 100_000; i++ {
		v, _, err := st.CreateVisitor(ctx, fmt.Sprintf("Visitor %d", i), map[string]string{"page": "https://shop.example/p"})
		if err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: "c", Text: "hello, anyone there?"})
		}
	}
	st.Close()
	chatdtest.AdminSet(t, bin, dir, agentName, agentPassword)
	s := &server{t: t, dir: dir, Process: chatdtest.Start(t, bin, chatdtest.Options{Data: dir, Env: []string{"CHATD_BCRYPT_COST=4"}})}
	s.waitReady()
	tab, _ := newTab(t, newBrowser(t))
	addScript(t, tab, `(() => { const WS = window.WebSocket; window.__marks = {};
	  window.WebSocket = class extends WS { constructor(...a) { super(...a); window.__marks.open = performance.now();
	    this.addEventListener('message', e => { const m = /"type":"([a-z:_]+)"/.exec(e.data); if (m && !(m[1] in window.__marks)) window.__marks[m[1]] = performance.now(); }); } }; })()`)
	run(t, tab, chromedp.Navigate(s.url()+"/portal/"),
		chromedp.WaitVisible(chromedp.ID("login-name")),
		chromedp.SetValue(chromedp.ID("login-name"), agentName),
		chromedp.SetValue(chromedp.ID("login-password"), agentPassword))
	// Measured in the page: from the click to the first frame that shows the list and the counts.
	evalJS[bool](t, tab, `(() => {
	  const done = () => document.querySelectorAll('#visitors button.visitor').length >= 500 && document.querySelector('.filter[data-filter=all] .filter-count').textContent === '100k';
	  document.getElementById('login-submit').addEventListener('click', () => {
	    window.__t0 = performance.now();
	    const tick = () => { if (done()) window.__t1 = performance.now(); else requestAnimationFrame(tick); };
	    requestAnimationFrame(tick);
	  });
	  return true; })()`)
	run(t, tab, chromedp.Click(chromedp.ID("login-submit")))
	waitFor(t, tab, "the list and the counts", `window.__t1 > 0`)
	ms := evalJS[float64](t, tab, `window.__t1 - window.__t0`)
	t.Logf("portal open with 100,000 visitors: %.0f ms from sign-in to the list and counts rendered", ms)
	t.Logf("marks (ms after sign-in): %s", evalJS[string](t, tab, `JSON.stringify(Object.fromEntries(Object.entries(window.__marks).map(([k, v]) => [k, Math.round(v - window.__t0)])))`))
}
