package hub

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestObserverNeverToldOfNotes: internal notes are stored and acknowledged
// to the admins, but the Observer (the notification channels: reply mails,
// webhooks, pushes) hears of the messages around them only; a deletion is
// told, so nothing still waiting about that visitor goes out.
func TestObserverNeverToldOfNotes(t *testing.T) {
	rec := newRecorder()
	ts := startServer(t, Config{Observer: rec})
	admin, _, _ := ts.admin("admin", 0)
	tab, id, _ := ts.visitor("tab", "Ann", "", 0)
	admin.expectStatus(id.ID, true)
	tab.send(evClientMessage, msg("c1", "hello"))
	m1 := tab.expectMessage(evClientMessage, "c1")
	admin.expectMessage(evAdminMessage, "c1")
	for i, text := range []string{"NOTE-1 refund denied", "NOTE-2 ≠ a reply"} {
		cid := fmt.Sprintf("n%d", i)
		admin.send(evAdminNote, map[string]any{"client": id.ID, "cid": cid, "text": text})
		if n := admin.expectMessage(evAdminMessage, cid); !n.Note {
			t.Fatalf("note acknowledged without note: true: %+v", n)
		}
		admin.send(evAdminNote, map[string]any{"client": id.ID, "cid": cid, "text": text}) // a retry
		admin.expectMessage(evAdminMessage, cid)
	}
	admin.send(evAdminMessage, map[string]any{"client": id.ID, "cid": "a1", "text": "hi Ann"})
	m2 := admin.expectMessage(evAdminMessage, "a1")
	tab.expectMessage(evClientMessage, "a1")
	if _, err := ts.hub.DeleteVisitor(context.Background(), id.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	got := rec.waitFor(t, 6)
	want := []string{
		"agents 1",
		"presence " + id.ID + " true",
		fmt.Sprintf("message %d client c1 hello (Ann)", m1.Offset),
		fmt.Sprintf("message %d admin a1 hi Ann (Ann)", m2.Offset), // the notes in between: not told
	}
	if fmt.Sprint(got[:4]) != fmt.Sprint(want) {
		t.Fatalf("observer got\n%q\nwant first\n%q", got, want)
	}
	// The deletion closes the visitor's socket: its departure and the
	// deletion are told, in either order.
	rest := got[4:]
	if !(fmt.Sprint(rest) == fmt.Sprint([]string{"presence " + id.ID + " false", "deleted " + id.ID}) ||
		fmt.Sprint(rest) == fmt.Sprint([]string{"deleted " + id.ID, "presence " + id.ID + " false"})) {
		t.Fatalf("after the deletion the observer got %q", rest)
	}
	for _, e := range got {
		if strings.Contains(e, "NOTE-") {
			t.Fatalf("observer told of a note: %q", e)
		}
	}
}
