package main

import (
	"strings"
	"testing"
)

// waitOffline reads the admin socket until visitor id is reported offline.
func waitOffline(adm *wsConn, id string) {
	for {
		var st struct {
			ID     string
			Status bool
		}
		adm.expect("admin:client_status", &st)
		if st.ID == id && !st.Status {
			return
		}
	}
}

// hooksUntil reads webhook deliveries until one holds want; it fails if any
// of them holds leak.
func (r *notifyRig) hooksUntil(t *testing.T, want, leak string) {
	t.Helper()
	for {
		h := r.hook.Next(t)
		if strings.Contains(string(h.Body), leak) {
			t.Fatalf("webhook %s holds %q: %s", h.Event, leak, h.Body)
		}
		if strings.Contains(string(h.Body), want) {
			return
		}
	}
}

// TestNotesNeverLeaveChatd: internal notes through chatd with every channel
// on real receivers. A note is never in a reply mail to the visitor (neither
// for a reply written while it is away, nor for replies it left unread and
// that are read back from the store), a transcript, or a webhook; a reply
// to a resolved conversation is mailed all the same.
func TestNotesNeverLeaveChatd(t *testing.T) {
	r := startNotifyRig(t, "--visitor-email-delay", "1ms", "--visitor-email-gap", "1ms", "--transcript-gap", "1ms")
	adm, _ := adminSocket(t, r.url(), r.token)
	vis := dialWS(t, r.url(), "/ws/client")
	vis.send("client:add", map[string]any{"name": "Ann", "token": "", "after": 0})
	var who struct{ ID, Token string }
	vis.expect("client:id", &who)
	vis.send("client:email", map[string]any{"email": "ann@example.com"})
	vis.expect("client:email", nil)
	vis.send("client:message", map[string]any{"cid": "c1", "text": "where is my order?"})
	vis.expect("client:message", nil)
	vis.c.Close()
	waitOffline(adm, who.ID)

	note := func(cid, text string) {
		t.Helper()
		adm.send("admin:note", map[string]any{"client": who.ID, "cid": cid, "text": text})
		for {
			var m message
			adm.expect("admin:message", &m)
			if m.CID == cid {
				return
			}
		}
	}
	reply := func(cid, text string) {
		t.Helper()
		adm.send("admin:message", map[string]any{"client": who.ID, "cid": cid, "text": text})
		for {
			var m message
			adm.expect("admin:message", &m)
			if m.CID == cid {
				return
			}
		}
	}

	// Away: a note, the conversation resolved, then a reply: the reply alone is mailed.
	note("n1", "NOTE-AWAY refund denied")
	adm.send("admin:resolve", map[string]any{"client": who.ID})
	adm.expect("admin:conversation", nil)
	reply("a1", "It left yesterday.")
	m := r.mailTo(t, "ann@example.com")
	if !strings.Contains(m.Body, "It left yesterday.") || strings.Contains(m.Raw, "NOTE-") {
		t.Fatalf("reply mail:\n%s", m.Raw)
	}
	r.hooksUntil(t, "It left yesterday.", "NOTE-")

	// Back, then gone again without reading a note and a reply: those left
	// unread are read from the store and mailed, without the note.
	back := dialWS(t, r.url(), "/ws/client")
	back.send("client:add", map[string]any{"token": who.Token, "after": 0})
	back.expect("client:replayed", nil)
	note("n2", "NOTE-STORED do not refund")
	reply("a2", "Anything else?")
	back.expect("client:message", nil) // the reply arrives; the visitor does not say it saw it
	back.c.Close()
	m = r.mailTo(t, "ann@example.com")
	if !strings.Contains(m.Body, "Anything else?") || strings.Contains(m.Raw, "NOTE-") || strings.Contains(m.Body, "It left yesterday.") {
		t.Fatalf("mail of the replies left unread:\n%s", m.Raw)
	}
	r.hooksUntil(t, "Anything else?", "NOTE-")

	// The transcript holds the conversation, not the notes.
	again := dialWS(t, r.url(), "/ws/client")
	again.send("client:add", map[string]any{"token": who.Token, "after": 0})
	again.expect("client:replayed", nil)
	again.send("client:transcript", map[string]any{})
	again.expect("client:transcript", nil)
	tr := r.mailTo(t, "ann@example.com")
	if !strings.Contains(tr.Body, "where is my order?") || !strings.Contains(tr.Body, "Anything else?") || strings.Contains(tr.Raw, "NOTE-") {
		t.Fatalf("transcript:\n%s", tr.Raw)
	}
}
