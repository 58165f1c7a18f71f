package e2e

import (
	"fmt"
	"testing"
	"time"
)

// pageLineJS reads the conversation's page line: its text and its link's href ("" if none).
const pageLineJS = `(() => { const l = document.getElementById('conv-page'); const a = l.querySelector('a');
	return l.hidden ? '' : l.textContent + ' -> ' + (a ? a.getAttribute('href') : ''); })()`

// The conversation shows where the visitor is now (admin:client_page, "page"
// in the list) and, until the server tells, the first page labelled as such;
// without either it shows no page at all.
func TestPortalCurrentPage(t *testing.T) {
	s := startServer(t)
	ann := dialVisitor(t, s, "Ann", "", map[string]string{"page": "https://shop.example/first"})
	ann.send("hi from the first page")
	bob := dialVisitor(t, s, "Bob", "", nil)
	bob.send("hi without a page")

	browser := newBrowser(t)
	agent, _ := newTab(t, browser)
	addScript(t, agent, socketTap)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, bob.ID)
	if got := evalJS[string](t, agent, pageLineJS); got != "" {
		t.Errorf("a visitor without a known page shows the page line %q", got)
	}
	portalSelect(t, agent, ann.ID)
	// A server that keeps current pages takes the page of client:add's meta as the
	// current one; an older one only has meta.page, which is labelled the first page.
	if evalJS[bool](t, agent, fmt.Sprintf(`window.__got.find(f => f.type === 'admin:list').data.some(v => v.id === %s && v.page)`, js(ann.ID))) {
		waitFor(t, agent, "the current page", `(`+pageLineJS+`) === 'Now on: https://shop.example/first -> https://shop.example/first'`)
	} else {
		waitFor(t, agent, "the first page, labelled", `(`+pageLineJS+`) === 'First page: https://shop.example/first -> https://shop.example/first'`)
	}

	// The server's own client:page, where it has it (branch hub builds it).
	if ann.supports("client:page", map[string]any{"url": "https://shop.example/second", "title": "Second page"}) {
		waitFor(t, agent, "the current page from the server", `(`+pageLineJS+`) === 'Now on: Second page -> https://shop.example/second'`)
	} else {
		t.Log("this server does not take client:page yet: checking the portal with the frames it will send")
	}
	now := time.Now().UTC()
	inject(t, agent, "admin:client_page", map[string]any{"id": ann.ID, "url": "https://shop.example/cart?step=2", "title": "Your cart <img src=x onerror=window.__pwned=1>", "at": now.Format(time.RFC3339Nano)})
	waitFor(t, agent, "the page the visitor moved to", `(`+pageLineJS+`) === 'Now on: Your cart <img src=x onerror=window.__pwned=1> -> https://shop.example/cart?step=2'`)
	// A page event older than the one shown does not take its place.
	inject(t, agent, "admin:client_page", map[string]any{"id": ann.ID, "url": "https://shop.example/older", "title": "", "at": now.Add(-time.Minute).Format(time.RFC3339Nano)})
	inject(t, agent, "admin:client_page", map[string]any{"id": bob.ID, "url": "javascript:window.__pwned=1", "title": "", "at": now.Format(time.RFC3339Nano)})
	if got := evalJS[string](t, agent, pageLineJS); got != "Now on: Your cart <img src=x onerror=window.__pwned=1> -> https://shop.example/cart?step=2" {
		t.Errorf("after an older page event the page line reads %q", got)
	}
	ann.leave()
	waitFor(t, agent, "the last page once the visitor left", `(`+pageLineJS+`).startsWith('Last page: Your cart')`)
	portalSelect(t, agent, bob.ID)
	waitFor(t, agent, "a non-http page as text", `(`+pageLineJS+`) === 'Now on: javascript:window.__pwned=1 -> '`)
	if evalJS[bool](t, agent, `window.__pwned !== undefined || document.querySelectorAll('main img').length > 0`) {
		t.Error("a page title or URL ran code or made an element")
	}

	// A list (as after a reconnect) carrying "page", as an object or a bare URL.
	list := []map[string]any{
		{"id": bob.ID, "name": "Bob", "connected": true, "last": 0, "page": "https://shop.example/bare"},
		{"id": ann.ID, "name": "Ann", "connected": true, "last": 0, "meta": map[string]string{"page": "https://shop.example/first"},
			"page": map[string]any{"url": "https://shop.example/from-list", "title": "From the list", "at": now.Format(time.RFC3339Nano)}},
	}
	inject(t, agent, "admin:list", list)
	inject(t, agent, "admin:messages", []any{})
	waitFor(t, agent, "the bare URL page from the list", `(`+pageLineJS+`) === 'Now on: https://shop.example/bare -> https://shop.example/bare'`)
	portalSelect(t, agent, ann.ID)
	waitFor(t, agent, "the current page from the list", `(`+pageLineJS+`) === 'Now on: From the list -> https://shop.example/from-list'`)
	// Without a current page, the first page is shown as such.
	delete(list[1], "page")
	inject(t, agent, "admin:list", list)
	waitFor(t, agent, "the first page, labelled", `(`+pageLineJS+`) === 'First page: https://shop.example/first -> https://shop.example/first'`)
}

// The protocol additions the portal takes part in: it sends the epoch it was
// given back in admin:add; on a resync it replaces what it shows with the
// replay; it pages the list with "Load more visitors"; it shows the agent's
// display name. Frames a server may not send yet are injected into the socket.
func TestPortalReplayMarkersAndPaging(t *testing.T) {
	s := startServer(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("Ann before the restore")
	last := ann.send("Ann's second message before the restore")
	bob := dialVisitor(t, s, "Bob", "", nil)
	newest := bob.send("Bob before the restore")

	browser := newBrowser(t)
	agent, _ := newTab(t, browser)
	addScript(t, agent, socketTap)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, ann.ID)
	waitPortalCount(t, agent, last.Text, 1)
	waitPreview(t, agent, bob.ID, newest.Text)

	// The epoch goes back to the server in the next admin:add.
	epoch := evalJS[string](t, agent, `(window.__got.find(f => f.type === 'admin:replayed') || {data: {}}).data.epoch || ''`)
	if epoch == "" {
		epoch = "epoch-1"
		inject(t, agent, "admin:replayed", map[string]any{"epoch": epoch, "last": last.Offset, "resync": false, "more": false, "list_more": false})
	}
	evalJS[bool](t, agent, `window.__dropSocket()`)
	waitFor(t, agent, "a second admin:add", `window.__sent.filter(f => f.type === 'admin:add').length === 2`)
	waitPortalConnected(t, agent)
	add := evalJS[map[string]any](t, agent, `window.__sent.filter(f => f.type === 'admin:add')[1].data`)
	if add["epoch"] != epoch || add["after"] != float64(newest.Offset) {
		t.Errorf("the second admin:add is %v, want epoch %q and the highest offset seen", add, epoch)
	}
	waitPortalCount(t, agent, last.Text, 1)
	sameTexts(t, "Ann's conversation after the reconnect", portalTexts(t, agent), []string{"Ann before the restore", last.Text})

	// A resync (the server's data was restored): the replay is the whole truth.
	cid := "0123456789abcdef"
	inject(t, agent, "admin:list", []map[string]any{
		{"id": ann.ID, "name": "Ann", "connected": true, "last": 3},
		{"id": cid, "name": "Cid", "connected": false, "last": 0},
	})
	inject(t, agent, "admin:messages", []map[string]any{
		{"offset": 3, "client": ann.ID, "from": "client", "admin": "", "cid": "r1", "text": "Ann after the restore", "at": time.Now().UTC().Format(time.RFC3339Nano)},
	})
	inject(t, agent, "admin:replayed", map[string]any{"epoch": "epoch-2", "last": 3, "resync": true, "more": false, "list_more": true})
	waitFor(t, agent, "only the replay shown", `document.querySelectorAll('#message-list .msg').length === 1`)
	sameTexts(t, "Ann's conversation after a resync", portalTexts(t, agent), []string{"Ann after the restore"})
	sameTexts(t, "the list after a resync", listOrder(t, agent), []string{ann.ID, cid})
	reads := evalJS[string](t, agent, `localStorage.getItem('chatd.portal.read.' + sessionStorage.getItem('chatd.portal.admin'))`)
	if want := fmt.Sprintf(`{"epoch":"epoch-2","pos":{%q:3}}`, ann.ID); reads != want {
		t.Errorf("read positions after the resync are %s, want %s (positions of the old epoch dropped)", reads, want)
	}

	// Paging the list.
	waitFor(t, agent, "the load-more button", `!document.getElementById('more-visitors').hidden`)
	evalJS[bool](t, agent, `(window.__mark = window.__got.length, document.getElementById('more-visitors').click(), true)`)
	req := evalJS[map[string]any](t, agent, `window.__sent.filter(f => f.type === 'admin:visitors').pop().data`)
	if req["before"] != cid || req["limit"] != float64(500) {
		t.Errorf("the first admin:visitors asks %v, want before the last listed visitor %q, limit 500", req, cid)
	}
	// A server that pages refuses the made-up list's last visitor as a cursor; one that
	// does not page does not know the event. Either way the injected pages follow.
	waitFor(t, agent, "the server's answer", `window.__got.slice(window.__mark).some(f => f.type === 'admin:visitors' || f.type === 'error')`)
	if evalJS[bool](t, agent, `window.__got.slice(window.__mark).some(f => f.type === 'admin:visitors')`) {
		t.Log("this server pages visitors itself: TestPortalPagesVisitors checks it")
	} else {
		dan := "fedcba9876543210"
		inject(t, agent, "admin:visitors", map[string]any{"visitors": []map[string]any{
			{"id": dan, "name": "Dan", "connected": false, "last": 0},
			{"id": ann.ID, "name": "Ann", "connected": true, "last": 3},
		}, "more": true, "next": "cursor-2"})
		waitFor(t, agent, "Dan listed last", fmt.Sprintf(`document.querySelectorAll('button.visitor').length === 3 && [...document.querySelectorAll('button.visitor')].pop().dataset.id === %s`, js(dan)))
		evalJS[bool](t, agent, `(document.getElementById('more-visitors').click(), true)`)
		if got := evalJS[string](t, agent, `window.__sent.filter(f => f.type === 'admin:visitors').pop().data.before`); got != "cursor-2" {
			t.Errorf("the next page is asked before %q, want the cursor cursor-2", got)
		}
		inject(t, agent, "admin:visitors", map[string]any{"visitors": []any{}, "more": false, "next": ""})
		waitFor(t, agent, "no more pages", `document.getElementById('more-visitors').hidden`)
	}

	// Display names: shown as the sender; the preview still knows the agent's own replies.
	at := time.Now().UTC().Format(time.RFC3339Nano)
	inject(t, agent, "admin:message", map[string]any{"offset": 10, "client": ann.ID, "from": "admin", "admin": agentName, "display": "Agent Smith", "cid": "d1", "text": "from me, with a display name", "at": at})
	waitFor(t, agent, "the display name", `[...document.querySelectorAll('#message-list .msg.from-agent .who')].pop().textContent === 'Agent Smith'`)
	waitPreview(t, agent, ann.ID, "You: from me, with a display name")
	inject(t, agent, "admin:message", map[string]any{"offset": 11, "client": ann.ID, "from": "admin", "admin": "jane.doe", "display": "Jane", "cid": "d2", "text": "from a colleague", "at": at})
	waitPreview(t, agent, ann.ID, "Jane: from a colleague")
}

// With more visitors than the server lists at once, "Load more visitors" brings
// the rest, in the server's order. Needs a server that pages admin:list (branch hub).
func TestPortalPagesVisitors(t *testing.T) {
	s := startServer(t)
	const n = 510
	for i := range n {
		dialVisitor(t, s, fmt.Sprintf("V%03d", i), "", nil).leave()
	}
	browser := newBrowser(t)
	agent, _ := newTab(t, browser)
	addScript(t, agent, socketTap)
	portalLogin(t, agent, s, true)
	waitFor(t, agent, "the first page of visitors", `document.querySelectorAll('button.visitor').length >= 500`)
	if evalJS[int](t, agent, `document.querySelectorAll('button.visitor').length`) == n {
		t.Fatalf("the server listed all %d visitors at once: admin:list is capped at 500 and pages with admin:visitors", n)
	}
	waitFor(t, agent, "the load-more button", `!document.getElementById('more-visitors').hidden`)
	evalJS[bool](t, agent, `(document.getElementById('more-visitors').click(), true)`)
	waitFor(t, agent, "every visitor listed", fmt.Sprintf(`document.querySelectorAll('button.visitor').length === %d && document.getElementById('more-visitors').hidden`, n))
	// The list is the server's pages, in the server's order, each visitor once.
	pages := evalJS[[]string](t, agent, `window.__got.flatMap(f => f.type === 'admin:list' ? f.data : f.type === 'admin:visitors' ? f.data.visitors : []).map(v => v.id)`)
	sameTexts(t, "the paged list", listOrder(t, agent), pages)
	if got := evalJS[string](t, agent, `window.__sent.filter(f => f.type === 'admin:visitors')[0].data.before`); got == "" {
		t.Error("the first admin:visitors was sent without the cursor admin:replayed gave")
	}
}
