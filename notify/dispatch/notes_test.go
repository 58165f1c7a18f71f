package dispatch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/notify/mail"
	"github.com/chatd/chatd/store"
)

// note stores an internal note and reports it, as a hub that did not filter
// notes would.
func (r *rig) note(t *testing.T, visitor, admin, text string) store.Message {
	t.Helper()
	m, _, err := r.st.AddMessage(context.Background(), store.NewMessage{Client: visitor, From: store.FromAdmin, Admin: admin,
		CID: fmt.Sprintf("note-%d", time.Now().UnixNano()), Text: text, Note: true})
	if err != nil {
		t.Fatal(err)
	}
	r.d.MessageStored(m, "")
	r.sync(t)
	return m
}

// TestNotesAreNeverMailedNorPosted: a note reported live or read back from
// the store (a visitor who left with replies unread) is never in a reply
// mail nor a webhook, and does not count as an answer for the alerts.
func TestNotesAreNeverMailedNorPosted(t *testing.T) {
	r := newRig(t, nil)
	ann := r.visitor(t, "Ann", "ann@example.com")
	r.say(t, ann, "", "where is my order?")
	if h := r.hook.Next(t); h.Event != "conversation.created" {
		t.Fatalf("webhook %s", h.Event)
	}
	if h := r.hook.Next(t); h.Event != "message.created" {
		t.Fatalf("webhook %s", h.Event)
	}
	// Offline: a note alone, then a reply. Only the reply is mailed and posted.
	r.note(t, ann, "alice", "NOTE-LIVE customer was rude")
	r.say(t, ann, "alice", "It left yesterday.")
	m := r.mailTo(t, "ann@example.com")
	if !strings.Contains(m.Body, "It left yesterday.") || strings.Contains(m.Raw, "NOTE-") {
		t.Fatalf("reply mail:\n%s", m.Raw)
	}
	if h := r.hook.Next(t); h.Event != "message.created" || strings.Contains(string(h.Body), "NOTE-") ||
		!strings.Contains(string(h.Body), "It left yesterday.") {
		t.Fatalf("webhook after the note: %s %s", h.Event, h.Body)
	}

	// Online: a note and a reply, then the visitor leaves without reading:
	// the replies left unread are read back from the store, without the note.
	r.setOnline(t, ann, true)
	r.note(t, ann, "alice", "NOTE-STORED do not refund")
	r.say(t, ann, "alice", "Anything else?")
	r.setOnline(t, ann, false)
	m = r.mailTo(t, "ann@example.com")
	if !strings.Contains(m.Body, "Anything else?") || strings.Contains(m.Raw, "NOTE-") {
		t.Fatalf("mail of the replies left unread:\n%s", m.Raw)
	}
	if h := r.hook.Next(t); strings.Contains(string(h.Body), "NOTE-") || !strings.Contains(string(h.Body), "Anything else?") {
		t.Fatalf("webhook: %s", h.Body)
	}
	r.smtp.None(t)
}

// TestDeletedVisitorsRepliesAreNotMailed: a reply waiting to be mailed is
// dropped when the visitor's data is deleted; a later visitor's is mailed.
func TestDeletedVisitorsRepliesAreNotMailed(t *testing.T) {
	r := newRig(t, func(c *Config) {
		// Replies wait a second before they are mailed: the deletion comes first.
		var err error
		if c.Replies, err = mail.NewContinuity(mail.ContinuityConfig{Delay: time.Second, MinGap: time.Millisecond, SiteName: "Shop"}, c.Mailer); err != nil {
			t.Fatal(err)
		}
	})
	bob := r.visitor(t, "Bob", "bob@example.com")
	r.say(t, bob, "alice", "BOB-REPLY to a visitor who is then deleted")
	r.d.VisitorDeleted(bob)
	r.sync(t)
	cat := r.visitor(t, "Cat", "cat@example.com")
	r.say(t, cat, "alice", "a reply to Cat")
	// Bob's reply fell due first: had it been kept, it would come first.
	for {
		m := r.smtp.Next(t)
		if strings.Contains(m.Raw, "BOB-REPLY") {
			t.Fatalf("a deleted visitor's reply was mailed to %v", m.Rcpt)
		}
		if len(m.Rcpt) == 1 && m.Rcpt[0] == "cat@example.com" {
			break
		}
	}
	r.sync(t) // the dispatcher's maps are its own goroutine's: read them while it waits
	if _, ok := r.d.handed[bob]; ok {
		t.Fatal("the dispatcher still remembers the deleted visitor")
	}
}
