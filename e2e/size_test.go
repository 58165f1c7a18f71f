package e2e

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"testing"

	"github.com/chatd/chatd/static"
)

// widgetBudget is the most the widget may weigh, gzipped, for everything one
// page loads: widget.js and at most one language pack. It was 10 KiB for a
// widget of about 7 KiB; issue 11 (a realm of pristine built-ins and our own
// JSON writer, storage fallbacks and validation, CSP and Origin refusal, the
// top-layer host, dates, links, the length counter, resync/history/page
// events, cross-tab unread) brought widget.js to about 12.5 KiB gzipped
// (from 14.7 KiB by serving it without indentation and comment lines), and a
// language pack weighs about 1 KiB; the budget kept ~0.5 KiB of headroom.
//
// Issue 12 raised it to 16 KiB, measured: widget.js went from 12.67 to 14.59
// KiB gzipped (+1.92 KiB) for what every page needs before its visitor types
// or opens the chat: availability from GET /api/widget and live
// client:availability, the JavaScript API with its queue of calls made
// before loading and its events, identify/reset, client:seen, attributes,
// and the loader of widget-mail.js; the language packs grew by 66 bytes (two
// status lines). The e-mail form and transcripts stay out of it: they are
// widget-mail.js, loaded only once a panel opens on a server that takes
// addresses (mailBudget). Headroom: ~0.6 KiB.
//
// Issue 12's polish raised it by 0.5 KiB, measured: main (with the inbox)
// weighed 16 345 of 16 384 bytes with the Arabic pack; telling the visitor
// when the team is back (next_change in the visitor's time and language:
// +~170 B with the two strings in each pack) and showing only "unavailable"
// to a disallowed origin before any socket (+~60 B) brought it to 16 576.
// The e-mail box's texts went to widget-mail.js (lazy) instead of a new
// status line. Headroom: ~0.3 KiB.
//
// Issue 13's fixes (branch inbox2) then added, measured over main at 16 576:
// sending client:typing (throttle, idle and blur ends, the text only when
// client:id says typing_preview: +214 B) and forgetting a deleted visitor
// (error visitor_deleted: clear the site's storage, no socket until the
// visitor writes: +114 B), 16 904 in all; the budget went to 17 KiB. Then
// the page title on a full load (meta.title, controls stripped) and a fresh
// name beside a stored token: 16 984. Headroom: ~0.4 KiB.
//
// Branch browser (hostile host pages and API calls) raised it to 17.5 KiB,
// measured over main at 16 984: a shadow root from the widget's own realm
// when the page's attachShadow throws or fakes one, a <div> host when the
// page took the tag name, a console that may throw, every API call guarded,
// attributes checked against the server's limits and paced under its rate,
// lone surrogates dropped from what is sent, link ends at invisible
// formatting characters: 17 458. Headroom: ~0.45 KiB.
//
// Branch fixa (wrong API arguments: setAttributes takes a plain object of
// strings, numbers, booleans and nulls; on/off warn on an unknown event or a
// listener that is not a function) added 167 B over main at 17 472: 17 639,
// within the budget (headroom ~0.27 KiB).
//
// Branch browser2 (pages that broke DOM methods and accessors: Node,
// Element, HTMLElement, EventTarget, Document, DOMTokenList,
// CSSStyleDeclaration, ShadowRoot, Navigator; fake MutationObserver,
// CSSStyleSheet, String...) added 487 B over main at 17 639: the widget's
// own nodes take the realm's prototypes (mine/node/proto), the page's
// window, document and <html> are reached through the realm's functions
// (get/on/put), a first insertion that falls back to append/prepend, a
// stylesheet that falls back to <style>, and a look every second when the
// page's MutationObserver is a fake: 18 126. The budget went to 18 KiB
// (headroom ~0.3 KiB).
//
// Branch widgetfix (a newcomer's trial on a second-origin shop) added 554 B
// over main at 18 126 (widget.js 17 106 -> 17 477, the Arabic pack 1 175 ->
// 1 203): key and input events stopped at the shadow root so a page's hotkeys
// cannot take the visitor's typing (+108 B), a reset told to every tab over
// the unread channel with the storage event as fallback (+~170 B), the draft
// kept per site (+~60 B), the typing-preview notice and its string in every
// pack (+~110 B), availability told to the site only on change, truthful
// too-long wording in every pack: 18 680. The budget went to 18.5 KiB
// (headroom ~0.25 KiB). A Trusted Types policy for the pack and e-mail form
// URLs (+~60 B): 18 741 (headroom ~0.2 KiB).
const widgetBudget = 18*1024 + 512

// mailBudget bounds widget-mail.js, the lazily loaded e-mail capture and
// transcript part with its strings in every shipped language (3.9 KiB since
// the reason classes: an incomplete address, a transcript asked too soon).
const mailBudget = 4 * 1024

func gzipSize(t *testing.T, raw []byte) int {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

func TestWidgetSizeBudget(t *testing.T) {
	pub := static.Public()
	raw, err := fs.ReadFile(pub, "widget.js")
	if err != nil {
		t.Fatalf("read widget.js: %v", err)
	}
	core := gzipSize(t, raw)
	t.Logf("widget.js: %d bytes, %d gzipped", len(raw), core)
	packs, err := fs.Glob(pub, "widget-lang/*.js")
	if err != nil || len(packs) < 5 {
		t.Fatalf("language packs %v: %v", packs, err)
	}
	largest := 0
	for _, name := range packs {
		b, err := fs.ReadFile(pub, name)
		if err != nil {
			t.Fatal(err)
		}
		n := gzipSize(t, b)
		t.Logf("%s: %d bytes, %d gzipped", name, len(b), n)
		largest = max(largest, n)
	}
	total := core + largest
	t.Logf("widget total: %d bytes gzipped with the largest language pack (budget %d)", total, widgetBudget)
	if total > widgetBudget {
		t.Errorf("widget weighs %d bytes gzipped, over the %d byte budget", total, widgetBudget)
	}
	mail, err := fs.ReadFile(pub, "widget-mail.js")
	if err != nil {
		t.Fatal(err)
	}
	n := gzipSize(t, mail)
	t.Logf("widget-mail.js (lazy): %d bytes, %d gzipped (budget %d)", len(mail), n, mailBudget)
	if n > mailBudget {
		t.Errorf("widget-mail.js weighs %d bytes gzipped, over the %d byte budget", n, mailBudget)
	}
}
