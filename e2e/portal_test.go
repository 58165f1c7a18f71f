package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
)

// A visitor's message that arrives while the portal's tab is hidden shows as a count in the title.
func TestPortalTitleCountsWhileHidden(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	visitor, _ := newTab(t, browser)
	openDemo(t, visitor, s)
	openWidget(t, visitor)
	widgetSend(t, visitor, "first question")
	id := visitorID(t, visitor)

	agent := newTabInWindow(t, browser)
	bringToFront(t, agent)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, id)
	title := evalJS[string](t, agent, `document.title`)

	other := newTabInWindow(t, browser)
	run(t, other, chromedp.Navigate(s.url()+"/"))
	bringToFront(t, other)
	waitFor(t, agent, "the portal's tab hidden", `document.hidden`)
	widgetSend(t, visitor, "are you still there?")
	widgetSend(t, visitor, "hello?")
	waitFor(t, agent, "the count in the title", fmt.Sprintf(`document.title === '(2) ' + %s`, js(title)))

	bringToFront(t, agent)
	waitFor(t, agent, "the title back to normal", fmt.Sprintf(`!document.hidden && document.title === %s`, js(title)))
	waitPortalCount(t, agent, "hello?", 1)
}

// Messages sent faster than the server's rate limit are retried politely and all arrive once.
func TestRateLimitedMessagesArriveOnce(t *testing.T) {
	s := startServer(t, "--msg-rate", "1", "--msg-burst", "1")
	browser := newBrowser(t)
	visitor, _ := newTab(t, browser)
	openDemo(t, visitor, s)
	openWidget(t, visitor)
	texts := []string{"one", "two", "three", "four"}
	evalJS[bool](t, visitor, inWidget(fmt.Sprintf(`
		const box = r.querySelector('textarea'), form = r.querySelector('form');
		for (const text of %s) { box.value = text; form.requestSubmit(); }
		return true`, jsArray(texts))))
	waitFor(t, visitor, "a polite rate-limit notice", inWidget(
		`const n = r.querySelector('.n'); return !n.hidden && n.textContent.includes('quickly')`))
	for _, text := range texts {
		waitWidgetCount(t, visitor, text, 1)
	}
	if got := widgetTexts(t, visitor); len(got) != len(texts) {
		t.Fatalf("the widget shows %q, want each of %q once", got, texts)
	}
}

func jsArray(list []string) string {
	out := "["
	for i, s := range list {
		if i > 0 {
			out += ","
		}
		out += js(s)
	}
	return out + "]"
}

// A conversation older than the portal's replay window loads with "Load earlier messages".
func TestPortalLoadsOlderHistory(t *testing.T) {
	s := startServer(t, "--msg-rate", "100000", "--msg-burst", "100000")
	const total = 1030 // more than the 1000 newest messages the portal replays
	id := bulkVisitor(t, s, total)

	browser := newBrowser(t)
	agent, _ := newTab(t, browser)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, id)
	waitPortalCount(t, agent, fmt.Sprintf("bulk %d", total), 1)
	waitFor(t, agent, "the load-earlier button", `!document.getElementById('older').hidden`)
	if n := evalJS[int](t, agent, portalCountJS("bulk 1")); n != 0 {
		t.Fatalf("the first message is shown %d times before loading history, want 0 (outside the replay)", n)
	}
	run(t, agent, chromedp.Click(chromedp.ID("older")))
	waitPortalCount(t, agent, "bulk 1", 1)
	waitFor(t, agent, "the whole history and no more button", fmt.Sprintf(
		`document.querySelectorAll('#message-list .msg').length === %d && document.getElementById('older').hidden`, total))
	got := portalTexts(t, agent)
	for i, text := range got {
		if want := fmt.Sprintf("bulk %d", i+1); text != want {
			t.Fatalf("message %d is %q, want %q", i, text, want)
		}
	}
}

// bulkVisitor creates a visitor over a plain WebSocket and stores n messages for it.
func bulkVisitor(t *testing.T, s *server, n int) string {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr+"/ws/client", nil)
	if err != nil {
		t.Fatalf("dial the visitor socket: %v", err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(stepTimeout))
	send := func(typ string, data any) {
		if err := conn.WriteJSON(map[string]any{"type": typ, "data": data}); err != nil {
			t.Fatalf("write %s: %v", typ, err)
		}
	}
	send("client:add", map[string]any{"name": "Bulk Bear", "token": "", "after": 0})
	var id string
	acked, sent := 0, 0
	for acked < n {
		// Send in small windows and read the acks: a socket that does not read is closed as slow.
		for sent < n && sent-acked < 50 {
			sent++
			send("client:message", map[string]any{"cid": fmt.Sprintf("bulk-%d", sent), "text": fmt.Sprintf("bulk %d", sent)})
		}
		var f struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := conn.ReadJSON(&f); err != nil {
			t.Fatalf("read after %d acks: %v", acked, err)
		}
		switch f.Type {
		case "client:id":
			var d struct{ ID string }
			json.Unmarshal(f.Data, &d)
			id = d.ID
		case "client:message":
			acked++
		case "error":
			t.Fatalf("the server refused a bulk message: %s", f.Data)
		}
	}
	return id
}
