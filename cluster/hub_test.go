package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/store"
)

// hubOn serves a hub over cs on 127.0.0.1 and returns its base URL and an
// admin login token (alice, sessions in the cluster).
func hubOn(t *testing.T, cs *Store) (base, token string) {
	t.Helper()
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cs.ReseedAdmins(ctx, []store.Admin{{Name: "alice", Hash: string(hash)}}); err != nil {
		t.Fatal(err)
	}
	au, err := auth.New(auth.Config{DummyCost: 4, Sessions: cs}, cs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(au.Close)
	g, err := au.Login(auth.Attempt{Addr: "127.0.0.1", Name: "alice", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	token = g.Token
	h := hub.New(hub.Config{MsgRate: 1000, MsgBurst: 1000}, cs, au, zerolog.Nop())
	mux := http.NewServeMux()
	mux.HandleFunc("/ws/client", h.ServeClient)
	mux.HandleFunc("/ws/admin", h.ServeAdmin)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
	})
	return srv.URL, token
}

// sock reads a WebSocket on its own goroutine (a gorilla read that times
// out breaks the connection, so waits happen on the channel instead).
type sock struct {
	*chatdtest.WS
	in chan chatdtest.Frame
}

func dial(t *testing.T, base, path string) *sock {
	t.Helper()
	ws, err := chatdtest.DialWS(base, path)
	if err != nil {
		t.Fatal(err)
	}
	s := &sock{WS: ws, in: make(chan chatdtest.Frame, 64)}
	go func() {
		defer close(s.in)
		for {
			f, err := ws.Read(time.Minute)
			if err != nil {
				return
			}
			s.in <- f
		}
	}()
	t.Cleanup(func() { ws.Close() })
	return s
}

// frames reads until pred accepts a frame or 10 s pass, returning every frame read.
func frames(t *testing.T, s *sock, pred func(chatdtest.Frame) bool) []chatdtest.Frame {
	t.Helper()
	var got []chatdtest.Frame
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-s.in:
			if !ok {
				t.Fatalf("socket closed; got %v", got)
			}
			got = append(got, f)
			if pred(f) {
				return got
			}
		case <-timeout:
			t.Fatalf("no expected frame within 10s; got %v", got)
		}
	}
}

// quiet returns what arrives within d (nothing expected), leaving out the
// inbox's news of a conversation and its counts (issue 13), which a first
// message brings.
func quiet(s *sock, d time.Duration) []chatdtest.Frame {
	var got []chatdtest.Frame
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-s.in:
			if !ok {
				return got
			}
			if f.Type == "admin:conversation" || f.Type == "admin:counts" {
				continue
			}
			got = append(got, f)
		case <-timeout:
			return got
		}
	}
}

func msgOf(f chatdtest.Frame) chatdtest.Message {
	var m chatdtest.Message
	json.Unmarshal(f.Data, &m)
	return m
}

// TestHubOverFeed drives the hub over a real (one-node) cluster store: a
// message reaches every socket once, from the feed (the sender's ack
// included); a re-sent cid answers the sender alone; presence is announced
// from the cluster's aggregate: once for two tabs, offline only when both
// have closed.
func TestHubOverFeed(t *testing.T) {
	cs := oneNode(t)
	base, token := hubOn(t, cs)

	admin := dial(t, base, "/ws/admin")
	admin.Send("admin:add", map[string]any{"token": token, "after": 0})
	frames(t, admin, func(f chatdtest.Frame) bool { return f.Type == "admin:messages" })

	tab1 := dial(t, base, "/ws/client")
	tab1.Send("client:add", map[string]any{"name": "Ann", "token": "", "after": 0})
	got := frames(t, tab1, func(f chatdtest.Frame) bool { return f.Type == "client:messages" })
	var id struct{ ID, Token string }
	json.Unmarshal(got[0].Data, &id)
	st := frames(t, admin, func(f chatdtest.Frame) bool { return f.Type == "admin:client_status" })
	if s := string(st[len(st)-1].Data); !strings.Contains(s, `"status":true`) || !strings.Contains(s, `"new":true`) {
		t.Fatalf("first status %s", s)
	}
	tab2 := dial(t, base, "/ws/client")
	tab2.Send("client:add", map[string]any{"name": "Ann", "token": id.Token, "after": 0})
	frames(t, tab2, func(f chatdtest.Frame) bool { return f.Type == "client:messages" })

	tab1.Send("client:message", map[string]any{"cid": "c1", "text": "hi"})
	for name, ws := range map[string]*sock{"tab1": tab1, "tab2": tab2, "admin": admin} {
		fs := frames(t, ws, func(f chatdtest.Frame) bool { return msgOf(f).CID == "c1" })
		if m := msgOf(fs[len(fs)-1]); m.Offset != 1 || m.Text != "hi" {
			t.Errorf("%s got %+v", name, m)
		}
	}
	// Exactly once: nothing more for anyone, and no status for the second tab.
	for name, ws := range map[string]*sock{"tab1": tab1, "tab2": tab2, "admin": admin} {
		if extra := quiet(ws, 300*time.Millisecond); len(extra) > 0 {
			t.Errorf("%s got more: %v", name, extra)
		}
	}
	// A re-sent cid: the stored message to the sender alone.
	tab2.Send("client:message", map[string]any{"cid": "c1", "text": "hi again"})
	fs := frames(t, tab2, func(f chatdtest.Frame) bool { return msgOf(f).CID == "c1" })
	if m := msgOf(fs[len(fs)-1]); m.Offset != 1 || m.Text != "hi" {
		t.Errorf("re-sent cid answered %+v", m)
	}
	for name, ws := range map[string]*sock{"tab1": tab1, "admin": admin} {
		if extra := quiet(ws, 300*time.Millisecond); len(extra) > 0 {
			t.Errorf("%s told of a re-sent cid: %v", name, extra)
		}
	}
	// A page change reaches the admins once, from the pages bucket.
	tab2.Send("client:page", map[string]any{"url": "https://shop.example/cart", "title": "Cart"})
	pg := frames(t, admin, func(f chatdtest.Frame) bool { return f.Type == "admin:client_page" })
	if s := string(pg[len(pg)-1].Data); !strings.Contains(s, `"url":"https://shop.example/cart"`) || !strings.Contains(s, id.ID) {
		t.Errorf("admin:client_page %s", s)
	}
	if extra := quiet(admin, 300*time.Millisecond); len(extra) > 0 {
		t.Errorf("after one page change: %v", extra)
	}
	if vs, _, _, err := cs.VisitorsPage("", 10); err != nil || len(vs) != 1 || vs[0].Page == nil || vs[0].Page.Title != "Cart" {
		t.Errorf("VisitorsPage = %+v, %v", vs, err)
	}

	// Presence: closing one tab says nothing, closing both says offline.
	tab1.Close()
	if extra := quiet(admin, 500*time.Millisecond); len(extra) > 0 {
		t.Errorf("closing one of two tabs: %v", extra)
	}
	if on := cs.Online(); on[id.ID] != "Ann" {
		t.Errorf("Online() = %v with one tab open", on)
	}
	tab2.Close()
	st = frames(t, admin, func(f chatdtest.Frame) bool { return f.Type == "admin:client_status" })
	if s := string(st[len(st)-1].Data); !strings.Contains(s, `"status":false`) {
		t.Errorf("last tab closed: %s", s)
	}
	// A cursor beyond the whole log (a client of another store) replays what
	// there is, at once, instead of waiting for offsets that will never come.
	tab3 := dial(t, base, "/ws/client")
	tab3.Send("client:add", map[string]any{"name": "Ann", "token": id.Token, "after": 1000})
	got = frames(t, tab3, func(f chatdtest.Frame) bool { return f.Type == "client:messages" || f.Type == "error" })
	if f := got[len(got)-1]; f.Type != "client:messages" {
		t.Errorf("cursor beyond the log: %s %s", f.Type, f.Data)
	}
}
