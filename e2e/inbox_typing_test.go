package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// wireTap records the WebSocket frames a tab sends, as the browser's network
// layer saw them leave (DevTools Network.webSocketFrameSent): what a page
// script or the widget's private realm cannot hide.
type wireTap struct {
	mu   sync.Mutex
	sent []string
}

func tapWire(t *testing.T, tab context.Context) *wireTap {
	t.Helper()
	w := &wireTap{}
	err := chromedp.Listen(tab, func(ev any) {
		if f, ok := ev.(*network.EventWebSocketFrameSent); ok && f.Response != nil {
			w.mu.Lock()
			w.sent = append(w.sent, string(f.Response.PayloadData))
			w.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("listen to the tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable the network domain: %v", err)
	}
	return w
}

// typing returns the client:typing frames sent so far, decoded.
func (w *wireTap) typing(t *testing.T) []map[string]any {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []map[string]any
	for _, s := range w.sent {
		var f struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if json.Unmarshal([]byte(s), &f) == nil && f.Type == "client:typing" {
			out = append(out, f.Data)
		}
	}
	return out
}

// typeInWidget focuses the widget's box and types text with key events.
func typeInWidget(t *testing.T, d hostDoc, text string) {
	t.Helper()
	d.run(inWidget(`r.querySelector('textarea').focus(); return true`))
	run(t, d.tab, chromedp.KeyEvent(text))
}

// The shipped widget tells the agents that the visitor types, with the
// preview text only when the server shows it; the text never leaves the
// browser otherwise (checked on the wire).
func TestInboxWidgetSendsTyping(t *testing.T) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			var extra []string
			if preview {
				extra = append(extra, "--typing-preview")
			}
			s := startInbox(t, extra...)
			site := newHostSite(t, s, map[string]hostPage{"/shop": {html: hostHTML("", "", "")}})
			visitorTab, _ := newTab(t, newBrowser(t))
			wire := tapWire(t, visitorTab)
			run(t, visitorTab, chromedp.Navigate(site.URL+"/shop"))
			d := hostDoc{t: t, tab: visitorTab}
			d.open()
			d.send("hello")
			d.confirmed("hello")
			alice, bob := twoAgents(t, s)
			id := evalJS[string](t, alice, `document.querySelector('#visitors button.visitor').dataset.id`)
			portalSelect(t, alice, id)
			portalSelect(t, bob, id)

			const draft = "secret draft 42"
			typeInWidget(t, d, draft)
			want := "typing…"
			if preview {
				want = "typing: " + draft
			}
			for _, tab := range []context.Context{alice, bob} {
				waitFor(t, tab, "visitor typing", `(() => { const e = document.querySelector('#conv-activity .visitor-typing'); return !!e && e.textContent.includes(' is typing'); })()`)
				waitFor(t, tab, "the row's typing line", fmt.Sprintf(`(() => { const e = %s; const p = e && e.querySelector('.visitor-preview'); return !!p && p.textContent === %s; })()`, rowJS(id), js(want)))
			}
			frames := wire.typing(t)
			if len(frames) == 0 || frames[0]["typing"] != true {
				t.Fatalf("client:typing frames on the wire: %v", frames)
			}
			for _, f := range frames {
				txt, has := f["text"]
				if !preview && has {
					t.Fatalf("the draft left the browser with the preview off: %v", f)
				}
				if preview && f["typing"] == true && (!has || !strings.HasPrefix(draft, fmt.Sprint(txt))) {
					t.Fatalf("client:typing without the preview text: %v", f)
				}
			}
			// Emptying the box ends the typing at once, for both agents.
			d.run(inWidget(`const a = r.querySelector('textarea'); a.value = ''; a.dispatchEvent(new Event('input')); return true`))
			for _, tab := range []context.Context{alice, bob} {
				waitFor(t, tab, "typing ended", `document.querySelector('#conv-activity .visitor-typing') === null`)
			}
			if f := wire.typing(t); f[len(f)-1]["typing"] != false {
				t.Fatalf("last client:typing after emptying the box: %v", f[len(f)-1])
			}
			// Typing again, then sending: typing:false goes before the message.
			typeInWidget(t, d, "bye")
			waitFor(t, alice, "visitor typing again", `document.querySelector('#conv-activity .visitor-typing') !== null`)
			pressEnter(t, visitorTab)
			d.confirmed("bye")
			waitFor(t, alice, "typing ended on send", `document.querySelector('#conv-activity .visitor-typing') === null`)
			if f := wire.typing(t); f[len(f)-1]["typing"] != false {
				t.Fatalf("last client:typing after sending: %v", f[len(f)-1])
			}
		})
	}
}

// A widget already open when an admin turns the typing preview on in the
// portal learns it (client:availability) and sends its draft from then on,
// without a reload.
func TestInboxWidgetLearnsPreviewLive(t *testing.T) {
	s := startInbox(t)
	_, d := shopVisitor(t, s, "hello")
	visitorTab := d.tab
	// The site hears what the widget is told (the API's availability event).
	d.run(`(window.__preview = [], chatd('on', 'availability', function (a) { __preview.push(a.typing_preview); }))`)
	alice, _ := newTab(t, newBrowser(t))
	portalLogin(t, alice, s, true)
	id := evalJS[string](t, alice, `document.querySelector('#visitors button.visitor').dataset.id`)
	portalSelect(t, alice, id)

	click(t, alice, "#inbox-settings-open")
	waitFor(t, alice, "editable settings", settingIs("set-typing-preview", "false", false)+` && `+settingIs("set-assign-limit", "0", false))
	evalJS[bool](t, alice, `(() => { const c = document.getElementById('set-typing-preview'); c.click(); return c.checked; })()`)
	click(t, alice, "#inbox-settings-save")
	waitFor(t, alice, "saved", `!document.getElementById('inbox-settings-saved').hidden`)
	click(t, alice, "#inbox-settings-close")
	// The open widget is told, without a reload; then the visitor types.
	waitFor(t, visitorTab, "the widget told of the preview", `window.__preview.indexOf(true) >= 0`)

	const draft = "live draft 7"
	typeInWidget(t, d, draft)
	waitFor(t, alice, "the preview from the open widget", fmt.Sprintf(`(() => { const e = %s; const p = e && e.querySelector('.visitor-preview'); return !!p && p.textContent === %s; })()`,
		rowJS(id), js("typing: "+draft)))
}
