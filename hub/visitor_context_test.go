package hub

import (
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/store"
)

const firefoxUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"

func TestVisitorContext(t *testing.T) {
	ts := startServer(t, Config{})
	alice, _ := ts.adminAs("alice", adminToken, "")
	hdr := http.Header{"User-Agent": {firefoxUA}}
	v := ts.dial("v", "/ws/client", hdr)
	v.send(evClientAdd, map[string]any{"name": "Ann", "token": "", "after": 0, "meta": map[string]string{
		"page": "https://shop.example/pricing", "title": "Pricing", "lang": "fr-CA", "tz": "America/Montreal", "referrer": "https://search.example/?q=shop",
	}})
	var id visitorID
	v.expect(evClientID, &id)
	v.replayAll(evClientMessages, evClientReplayed)
	v.send(evClientPage, map[string]any{"url": "https://shop.example/cart", "title": "Cart"})
	v.send(evClientMessage, msg("a1", "hi"))
	v.expectMessage(evClientMessage, "a1")
	alice.send("admin:resolve", map[string]any{"client": id.ID})
	nextOf(alice, evAdminMessage, func(store.Message) bool { return true })
	waitFor(t, "resolved", func() bool { c, _ := ts.st.Conversation(id.ID); return c.Status == store.StatusResolved })
	v.send(evClientMessage, msg("a2", "me again"))
	v.expectMessage(evClientMessage, "a2")
	waitFor(t, "reopened", func() bool { c, _ := ts.st.Conversation(id.ID); return c.Status == store.StatusOpen })

	alice.send(evAdminVisitor, map[string]any{"client": id.ID})
	r := nextOf(alice, evAdminVisitor, func(visitorReply) bool { return true })
	if r.Client != id.ID || r.Name != "Ann" || r.Visits != 1 || r.Lang != "fr-CA" || r.TZ != "America/Montreal" ||
		r.Referrer != "https://search.example/?q=shop" || r.Browser != "Firefox 121.0" || r.OS != "Windows 10.0" || r.Device != "desktop" {
		t.Fatalf("context %+v", r)
	}
	if r.Page == nil || r.Page.URL != "https://shop.example/cart" || len(r.Pages) != 2 || r.Pages[0].Title != "Pricing" {
		t.Fatalf("pages %+v %+v", r.Page, r.Pages)
	}
	if len(r.Conversations) != 2 || r.Conversations[0].Status != store.StatusResolved || r.Conversations[1].Status != store.StatusOpen ||
		r.Conversations[1].From != r.Conversations[0].To+1 || r.Created == "" || r.Seen == "" {
		t.Fatalf("conversations %+v", r.Conversations)
	}
	for _, p := range r.Conversations {
		if p.Messages != 1 || p.Started == "" {
			t.Fatalf("each part has one message and a start: %+v", r.Conversations)
		}
	}
	// Resolved again, then reopened by an agent without a message: no empty part (from > to).
	for _, typ := range []string{"admin:resolve", "admin:reopen"} {
		alice.send(typ, map[string]any{"client": id.ID})
		want := map[string]string{"admin:resolve": store.StatusResolved, "admin:reopen": store.StatusOpen}[typ]
		waitFor(t, want, func() bool { c, _ := ts.st.Conversation(id.ID); return c.Status == want })
	}
	alice.send(evAdminVisitor, map[string]any{"client": id.ID})
	r = nextOf(alice, evAdminVisitor, func(visitorReply) bool { return true })
	for _, p := range r.Conversations {
		if p.From > p.To {
			t.Fatalf("an empty part: %+v", r.Conversations)
		}
	}
	if len(r.Conversations) != 2 || r.Conversation == nil || r.Conversation.Status != store.StatusOpen {
		t.Fatalf("after a reopen without a message: %+v, conversation %+v", r.Conversations, r.Conversation)
	}
	// A second tab is the same visit; coming back after visitGap is another.
	ts.dial("v2", "/ws/client", hdr).send(evClientAdd, map[string]any{"name": "x", "token": id.Token, "after": 0})
	v.close()
	waitFor(t, "two sockets", func() bool { return ts.hub.Stats().VisitorSockets == 1 })
	if vi, _ := ts.st.Visits(id.ID); vi.Visits != 1 {
		t.Fatalf("a second tab counted as a visit: %+v", vi)
	}
	ts.st.TouchVisitor(t.Context(), id.ID, time.Now().Add(-time.Hour))
	ts.hub.recordVisit(store.Visitor{ID: id.ID, LastSeen: time.Now().Add(-time.Hour)}, "", false, map[string]string{"referrer": "https://mail.example/"})
	if vi, _ := ts.st.Visits(id.ID); vi.Visits != 2 || vi.Referrer != "https://mail.example/" || vi.Browser != "Firefox 121.0" {
		t.Fatalf("second visit: %+v", vi)
	}
	alice.send(evAdminVisitor, map[string]any{"client": "nobody"})
	if e := nextOf(alice, evError, func(errData) bool { return true }); e.Code != codeNotFound {
		t.Fatal(e)
	}
	alice.send(evAdminVisitor, map[string]any{})
	if e := nextOf(alice, evError, func(errData) bool { return true }); e.Code != codeBadRequest {
		t.Fatal(e)
	}
}

func TestVisitMetaRefused(t *testing.T) {
	ts := startServer(t, Config{})
	for _, meta := range []map[string]string{
		{"lang": "fr_CA<script>"},
		{"lang": ""},
		{"tz": "Europe/Paris; rm -rf"},
		{"tz": string(make([]byte, 65))},
		{"referrer": "https://x.example/\n"},
	} {
		v := ts.dial("v", "/ws/client", nil)
		v.send(evClientAdd, map[string]any{"name": "Ann", "token": "", "after": 0, "meta": meta})
		v.expectError(codeBadRequest)
	}
}
