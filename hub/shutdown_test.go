package hub

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/store"
	"github.com/rs/zerolog"
)

// TestShutdownDoesNotWaitOnASocketThatNeverReads: a visitor socket whose TCP
// window is full (it never reads) cannot take its close frame; Shutdown
// drops it after CloseWait instead of waiting out the write timeout, the
// other sockets get 1012, and the store then closes cleanly.
func TestShutdownDoesNotWaitOnASocketThatNeverReads(t *testing.T) {
	st, err := store.Open(t.TempDir(), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetLimits(store.Limits{Name: 64, Text: 60000}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, token, _ := st.CreateVisitor(ctx, "Ann", nil)
	text := strings.Repeat("z", 60000)
	for i := range 200 { // a 12 MB replay: far more than kernel buffers hold
		if _, _, err := st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: fmt.Sprint("c", i), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	h := New(Config{MaxFrame: 1 << 17}, st, &testAuth{m: map[string]string{}}, zerolog.Nop())
	mux := http.NewServeMux()
	mux.HandleFunc("/ws/client", h.ServeClient)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ts := &testServer{t: t, hub: h, st: st, url: "ws" + strings.TrimPrefix(srv.URL, "http")}

	other, _, _ := ts.visitor("other", "Bob", "", 0)
	stuck := &ws{t: t, name: "stuck", c: slowDial(t, ts.url+"/ws/client")}
	stuck.send(evClientAdd, map[string]any{"token": token, "after": 0})
	// The replay (one frame of 12 MB) is queued behind client:id and cannot
	// be written whole: the socket's writer blocks on the full TCP window.
	// Reading and encoding 12 MB under -race on a loaded machine is slow: a
	// longer deadline than one frame's, still a deadline, not an assertion.
	waitWithin(t, 6*wait, "the replay queued", func() bool {
		h.idx.mu.RLock()
		defer h.idx.mu.RUnlock()
		for c := range h.idx.all {
			if id := c.who(); id != nil && id.visitor == v.ID && c.queued.Load() >= 2 && c.backlog() >= 1 {
				return true
			}
		}
		return false
	})

	// Well below the 10 s write timeout: the old Shutdown ran out of it.
	sctx, cancel := context.WithTimeout(ctx, 4*DefaultCloseWait)
	defer cancel()
	if err := h.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown with a socket that never reads: %v", err)
	}
	other.expectClose(CloseRestart)
	if err := st.Close(); err != nil {
		t.Fatalf("store close after shutdown: %v", err)
	}
}
