package main

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The stick answers what chatbench flood needs: a visitor's message is
// acknowledged to it with its cid and an offset, and copied to the admin.
func TestCeilingAcksAndCopies(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	dial := func(path, hello string, want ...string) *websocket.Conn {
		t.Helper()
		c, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		send(t, c, hello)
		for _, w := range want {
			expect(t, c, w)
		}
		return c
	}
	admin := dial("/ws/admin", `{"type":"admin:add","data":{}}`, `"admin:list"`, `"admin:messages"`)
	visitor := dial("/ws/client", `{"type":"client:add","data":{}}`, `"client:id"`, `"client:messages"`)
	send(t, visitor, `{"type":"client:message","data":{"cid":"c-1","text":"hi"}}`)
	expect(t, visitor, `"type":"client:message","data":{"offset":1,`, `"cid":"c-1"`)
	expect(t, admin, `"type":"admin:message","data":{"offset":1,`, `"cid":"c-1"`)
}

func send(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
}

// expect reads one frame and checks that it holds every part.
func expect(t *testing.T, c *websocket.Conn, parts ...string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if !bytes.Contains(b, []byte(p)) {
			t.Fatalf("frame %s lacks %s", b, p)
		}
	}
}
