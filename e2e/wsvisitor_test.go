package e2e

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsFrame is one frame as read from a socket.
type wsFrame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// wsMessage is the protocol's message object, as the tests need it.
type wsMessage struct {
	Offset int64  `json:"offset"`
	Client string `json:"client"`
	From   string `json:"from"`
	CID    string `json:"cid"`
	Text   string `json:"text"`
	At     string `json:"at"`
}

// wsVisitor is a visitor over a plain WebSocket, as another widget or a tool
// would connect: the tests use it to script visitors without a browser tab each.
type wsVisitor struct {
	t     *testing.T
	conn  *websocket.Conn
	ID    string
	Token string
}

// cidSeq makes cids unique across every socket of a test run: a cid re-sent
// by a visitor's new socket would be taken as a retry of the old message.
var cidSeq atomic.Int64

func nextCID() string { return fmt.Sprintf("e2e-%d", cidSeq.Add(1)) }

// dialVisitor connects a visitor to s and identifies it with client:add (name,
// token or "" for a new visitor, meta or nil). It returns once client:id and the
// first replay frame have arrived. The socket is closed when the test ends.
func dialVisitor(t *testing.T, s *server, name, token string, meta map[string]string) *wsVisitor {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr+"/ws/client", nil)
	if err != nil {
		t.Fatalf("dial the visitor socket: %v", err)
	}
	v := &wsVisitor{t: t, conn: conn}
	t.Cleanup(func() { conn.Close() })
	add := map[string]any{"name": name, "token": token, "after": 0}
	if meta != nil {
		add["meta"] = meta
	}
	v.write("client:add", add)
	f := v.readUntil("client:id")
	var id struct{ ID, Token string }
	if err := json.Unmarshal(f.Data, &id); err != nil {
		t.Fatalf("decode client:id %s: %v", f.Data, err)
	}
	v.ID, v.Token = id.ID, id.Token
	v.readUntil("client:messages")
	return v
}

// write sends one frame.
func (v *wsVisitor) write(typ string, data any) {
	v.t.Helper()
	v.conn.SetWriteDeadline(time.Now().Add(stepTimeout))
	if err := v.conn.WriteJSON(map[string]any{"type": typ, "data": data}); err != nil {
		v.t.Fatalf("write %s: %v", typ, err)
	}
}

// read returns the next frame, waiting at most stepTimeout.
func (v *wsVisitor) read() wsFrame {
	v.t.Helper()
	v.conn.SetReadDeadline(time.Now().Add(stepTimeout))
	var f wsFrame
	if err := v.conn.ReadJSON(&f); err != nil {
		v.t.Fatalf("read a frame: %v", err)
	}
	return f
}

// readUntil skips frames until one of type typ; an error frame fails the test.
func (v *wsVisitor) readUntil(typ string) wsFrame {
	v.t.Helper()
	for {
		f := v.read()
		if f.Type == typ {
			return f
		}
		if f.Type == "error" {
			v.t.Fatalf("waiting for %s the server answered error %s", typ, f.Data)
		}
	}
}

// send stores a message and returns it as acknowledged.
func (v *wsVisitor) send(text string) wsMessage {
	v.t.Helper()
	cid := nextCID()
	v.write("client:message", map[string]any{"cid": cid, "text": text})
	for {
		f := v.readUntil("client:message")
		var m wsMessage
		if err := json.Unmarshal(f.Data, &m); err != nil {
			v.t.Fatalf("decode client:message %s: %v", f.Data, err)
		}
		if m.CID == cid {
			return m
		}
	}
}

// supports sends frame typ and reports whether the server knows it: it sends a
// message after it and watches for an unknown_type error before that message's ack.
func (v *wsVisitor) supports(typ string, data any) bool {
	v.t.Helper()
	v.write(typ, data)
	cid := nextCID()
	v.write("client:message", map[string]any{"cid": cid, "text": "probe after " + typ})
	known := true
	for {
		f := v.read()
		switch f.Type {
		case "error":
			var e struct{ Code string }
			json.Unmarshal(f.Data, &e)
			if e.Code == "unknown_type" {
				known = false
			}
		case "client:message":
			var m wsMessage
			json.Unmarshal(f.Data, &m)
			if m.CID == cid {
				return known
			}
		}
	}
}

// leave closes the socket cleanly.
func (v *wsVisitor) leave() {
	v.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	v.conn.Close()
}
