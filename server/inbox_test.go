package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/store"
)

// inboxServer is the real server over a real hub and store, with agents
// ann (admin role) and bo (agent role), and their login tokens.
type inboxServer struct {
	url, ann, bo string
	st           *store.Store
	stop         func() // stops the server, the hub and the store (also at the test's end)
}

func newInboxServer(t *testing.T) inboxServer {
	t.Helper()
	return newInboxServerWith(t, t.TempDir(), hub.Config{})
}

// newInboxServerWith is newInboxServer over the store in dir with hub config hc.
func newInboxServerWith(t *testing.T, dir string, hc hub.Config) inboxServer {
	t.Helper()
	return newInboxServerOpts(t, dir, hc, db.Options{})
}

// newInboxServerOpts is newInboxServerWith with store options o (Faults).
func newInboxServerOpts(t *testing.T, dir string, hc hub.Config, o db.Options) inboxServer {
	t.Helper()
	st, err := store.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err := st.ReseedAdmins([]store.Admin{{Name: "ann", Hash: string(h), Role: store.RoleAdmin}, {Name: "bo", Hash: string(h), Role: store.RoleAgent}}); err != nil {
		t.Fatal(err)
	}
	au, err := auth.New(auth.Config{DummyCost: bcrypt.MinCost}, st)
	if err != nil {
		t.Fatal(err)
	}
	hb := hub.New(hc, st, au, zerolog.Nop())
	s := New(Config{
		Hub: hb, Store: st, Auth: au, Log: zerolog.Nop(), Inbox: hb,
	})
	ts := httptest.NewServer(s)
	stop := sync.OnceFunc(func() {
		ts.Close()
		hb.Shutdown(context.Background())
		if err := st.Close(); err != nil && (o.Faults == nil || !errors.Is(err, db.ErrFailed)) {
			t.Errorf("close store: %v", err)
		}
	})
	t.Cleanup(stop)
	login := func(name string) string {
		g, err := au.Login(auth.Attempt{Addr: "127.0.0.1", Name: name, Password: "pw"})
		if err != nil {
			t.Fatal(err)
		}
		return g.Token
	}
	return inboxServer{url: ts.URL, ann: login("ann"), bo: login("bo"), st: st, stop: stop}
}

// adminWS opens an admin socket and reads up to admin:replayed.
func (is inboxServer) adminWS(t *testing.T, token string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(is.url, "http")+"/ws/admin", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.WriteJSON(map[string]any{"type": "admin:add", "data": map[string]any{"token": token}})
	nextFrame(t, c, "admin:replayed")
	return c
}

// nextFrame reads frames until one of type typ and returns its data.
func nextFrame(t *testing.T, c *websocket.Conn, typ string) json.RawMessage {
	t.Helper()
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var f struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := c.ReadJSON(&f); err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f.Type == typ {
			return f.Data
		}
	}
}

func TestCannedRepliesAPI(t *testing.T) {
	is := newInboxServer(t)
	sock := is.adminWS(t, is.bo)
	if got := string(nextFrame(t, sock, "admin:canned")); got != "[]" {
		t.Fatalf("first admin:canned %s", got)
	}
	for _, tc := range []struct {
		name, method, path, body, token string
		code                            int
		has                             string
	}{
		{"no token", "GET", "/api/canned", "", "", 401, ""},
		{"bad token", "GET", "/api/canned", "", "forged", 401, ""},
		{"empty list", "GET", "/api/canned", "", is.bo, 200, "[]"},
		{"agent may not change", "PUT", "/api/canned/hi", `{"text":"Hello {{name}}"}`, is.bo, 403, ""},
		{"agent may not delete", "DELETE", "/api/canned/hi", "", is.bo, 403, ""},
		{"upper case shortcut", "PUT", "/api/canned/Hi", `{"text":"x"}`, is.ann, 400, "shortcut"},
		{"shortcut with a space", "PUT", "/api/canned/a%20b", `{"text":"x"}`, is.ann, 400, "shortcut"},
		{"shortcut too long", "PUT", "/api/canned/" + strings.Repeat("a", 33), `{"text":"x"}`, is.ann, 400, "shortcut"},
		{"blank text", "PUT", "/api/canned/hi", `{"text":"  "}`, is.ann, 400, "text"},
		{"no text", "PUT", "/api/canned/hi", `{}`, is.ann, 400, "text"},
		{"text not a string", "PUT", "/api/canned/hi", `{"text":5}`, is.ann, 400, ""},
		{"text too long", "PUT", "/api/canned/hi", `{"text":"` + strings.Repeat("x", 4097) + `"}`, is.ann, 400, "text"},
		{"lone surrogate", "PUT", "/api/canned/hi", `{"text":"\ud800"}`, is.ann, 400, ""},
		{"invalid UTF-8", "PUT", "/api/canned/hi", "{\"text\":\"\xff\"}", is.ann, 400, ""},
		{"created", "PUT", "/api/canned/hi", `{"text":"Hello {{name}}, I am {{agent}} <b>"}`, is.ann, 200, `"shortcut":"hi"`},
		{"unicode shortcut", "PUT", "/api/canned/d%C3%A9j%C3%A0-vu_2", `{"text":"déjà"}`, is.ann, 200, "déjà-vu_2"},
		{"listed, text as sent", "GET", "/api/canned", "", is.bo, 200, `"text":"Hello {{name}}, I am {{agent}} <b>","updated"`},
		{"unknown delete", "DELETE", "/api/canned/nope", "", is.ann, 404, ""},
		{"deleted", "DELETE", "/api/canned/d%C3%A9j%C3%A0-vu_2", "", is.ann, 204, ""},
	} {
		res, body := do(t, tc.method, is.url+tc.path, tc.body, tc.token)
		if res.StatusCode != tc.code || !strings.Contains(body, tc.has) {
			t.Errorf("%s: %s %s = %d %s, want %d with %q", tc.name, tc.method, tc.path, res.StatusCode, body, tc.code, tc.has)
		}
	}
	// Every change reached the admin socket, in order: created, unicode one, deleted.
	for _, want := range []string{
		`[{"shortcut":"hi","text":"Hello {{name}}, I am {{agent}} <b>"}]`,
		`[{"shortcut":"déjà-vu_2","text":"déjà"},{"shortcut":"hi","text":"Hello {{name}}, I am {{agent}} <b>"}]`,
		`[{"shortcut":"hi","text":"Hello {{name}}, I am {{agent}} <b>"}]`,
	} {
		if got := string(nextFrame(t, sock, "admin:canned")); got != want {
			t.Fatalf("admin:canned %s\nwant %s", got, want)
		}
	}
	if list, _ := is.st.CannedReplies(); len(list) != 1 || list[0].By != "ann" {
		t.Fatalf("stored %+v", list)
	}
}

func TestExportAndDeleteVisitorAPI(t *testing.T) {
	is := newInboxServer(t)
	adm := is.adminWS(t, is.bo)
	// A visitor with a message, online.
	vc, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(is.url, "http")+"/ws/client", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	vc.WriteJSON(map[string]any{"type": "client:add", "data": map[string]any{"name": "Ann", "token": "", "after": 0}})
	var id struct{ ID, Token string }
	json.Unmarshal(nextFrame(t, vc, "client:id"), &id)
	vc.WriteJSON(map[string]any{"type": "client:message", "data": map[string]any{"cid": "a1", "text": "my address is 1 Main St"}})
	nextFrame(t, vc, "client:message")

	for _, tc := range []struct {
		name, method, path, token string
		code                      int
		has, hasNot               string
	}{
		{"no token", "GET", "/api/visitors/" + id.ID + "/export", "", 401, "", ""},
		{"agent role", "GET", "/api/visitors/" + id.ID + "/export", is.bo, 403, "", ""},
		{"unknown", "GET", "/api/visitors/nobody/export", is.ann, 404, "", ""},
		{"export", "GET", "/api/visitors/" + id.ID + "/export", is.ann, 200, `"text":"my address is 1 Main St"`, "token_hash"},
		{"agent may not delete", "DELETE", "/api/visitors/" + id.ID, is.bo, 403, "", ""},
		{"delete", "DELETE", "/api/visitors/" + id.ID, is.ann, 200, `"messages":1`, ""},
		{"deleted: no export", "GET", "/api/visitors/" + id.ID + "/export", is.ann, 404, "", ""},
		{"deleted: no second delete", "DELETE", "/api/visitors/" + id.ID, is.ann, 404, "", ""},
	} {
		res, body := do(t, tc.method, is.url+tc.path, "", tc.token)
		if res.StatusCode != tc.code || !strings.Contains(body, tc.has) || (tc.hasNot != "" && strings.Contains(body, tc.hasNot)) {
			t.Errorf("%s: %s %s = %d %s, want %d with %q", tc.name, tc.method, tc.path, res.StatusCode, body, tc.code, tc.has)
		}
		if tc.name == "export" && !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("export not an attachment: %q", res.Header.Get("Content-Disposition"))
		}
	}
	// The admin socket was told; the visitor's socket was closed with a reason.
	var d struct{ ID string }
	json.Unmarshal(nextFrame(t, adm, "admin:client_deleted"), &d)
	if d.ID != id.ID {
		t.Fatalf("admin:client_deleted %+v", d)
	}
	if got := string(nextFrame(t, vc, "error")); !strings.Contains(got, `"code":"visitor_deleted"`) {
		t.Fatalf("visitor got %s", got)
	}
	vc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := vc.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 1008 {
				t.Fatalf("visitor socket ended with %v, want close 1008", err)
			}
			break
		}
	}
	// Its token now opens a new visitor.
	v2, _, _ := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(is.url, "http")+"/ws/client", nil)
	defer v2.Close()
	v2.WriteJSON(map[string]any{"type": "client:add", "data": map[string]any{"name": "Ann", "token": id.Token, "after": 0}})
	var again struct{ ID string }
	json.Unmarshal(nextFrame(t, v2, "client:id"), &again)
	if again.ID == id.ID {
		t.Fatal("the deleted visitor's token restored it")
	}
}
