package hub

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/store"
)

// recorder is an Observer that keeps what it is told, in order.
type recorder struct {
	mu      sync.Mutex
	events  []string
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) MessageStored(m store.Message, name string) {
	r.add(fmt.Sprintf("message %d %s %s %s (%s)", m.Offset, m.From, m.CID, m.Text, name))
}
func (r *recorder) VisitorPresence(v string, online bool) {
	r.add(fmt.Sprintf("presence %s %v", v, online))
}
func (r *recorder) AgentsOnline(n int)      { r.add(fmt.Sprintf("agents %d", n)) }
func (r *recorder) VisitorDeleted(v string) { r.add("deleted " + v) }

// waitFor waits until the recorder holds n events and returns them.
func (r *recorder) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(wait)
	for {
		r.mu.Lock()
		got := append([]string(nil), r.events...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("observer got %d events within %v, want %d: %q", len(got), wait, n, got)
		}
	}
}

func TestObserverSeesMessagesAndPresence(t *testing.T) {
	rec := newRecorder()
	ts := startServer(t, Config{Observer: rec})
	admin, _, _ := ts.admin("admin", 0)
	tab1, id, _ := ts.visitor("tab1", "Ann", "", 0)
	admin.expectStatus(id.ID, true)
	tab2, _, _ := ts.visitor("tab2", "", id.Token, 0) // a second tab: no new presence event
	tab1.send(evClientMessage, msg("c1", "hello"))
	m1 := tab1.expectMessage(evClientMessage, "c1")
	admin.expectMessage(evAdminMessage, "c1")
	if !ts.hub.VisitorOnline(id.ID) {
		t.Fatal("VisitorOnline false with two tabs open")
	}
	admin.send(evAdminMessage, map[string]any{"client": id.ID, "cid": "a1", "text": "hi Ann"})
	m2 := admin.expectMessage(evAdminMessage, "a1")
	tab1.expectMessage(evClientMessage, "a1")
	tab1.send(evClientMessage, msg("c1", "hello")) // a retry: not a new message
	tab1.expectMessage(evClientMessage, "c1")
	tab1.close()
	tab2.close()
	got := rec.waitFor(t, 5)
	want := []string{
		"agents 1", // the admin connected, online
		"presence " + id.ID + " true",
		fmt.Sprintf("message %d client c1 hello (Ann)", m1.Offset),
		fmt.Sprintf("message %d admin a1 hi Ann (Ann)", m2.Offset), // Ann is online: the hub knows her name
		"presence " + id.ID + " false",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("observer got\n%q\nwant\n%q", got, want)
	}
	if ts.hub.VisitorOnline(id.ID) {
		t.Fatal("VisitorOnline after the last socket closed")
	}
}

func TestObserverSeesAgentsOnline(t *testing.T) {
	rec := newRecorder()
	ts := startServer(t, Config{Observer: rec})
	alice, _, _ := ts.admin("alice", 0)
	rec.waitFor(t, 1)
	alice.send(evAdminSetStatus, map[string]any{"status": "away"})
	rec.waitFor(t, 2)
	alice.send(evAdminSetStatus, map[string]any{"status": "online"})
	rec.waitFor(t, 3)
	alice.close()
	got := rec.waitFor(t, 4)
	if want := []string{"agents 1", "agents 0", "agents 1", "agents 0"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("observer got %q, want %q", got, want)
	}
}
