package chatdtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Frame is one chatd WebSocket frame.
type Frame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// Message is chatd's message object.
type Message struct {
	Offset uint64 `json:"offset"`
	Client string `json:"client"`
	From   string `json:"from"`
	Admin  string `json:"admin"`
	CID    string `json:"cid"`
	Text   string `json:"text"`
}

// WS is a minimal chatd WebSocket client for tests; one goroutine uses it.
type WS struct {
	c *websocket.Conn
}

// DialWS opens base+path (base http://host:port, path /ws/client or /ws/admin).
func DialWS(base, path string) (*WS, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + path
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, res, err := d.Dial(u, http.Header{})
	if err != nil {
		status := ""
		if res != nil {
			status = res.Status
		}
		return nil, fmt.Errorf("dial %s: %v %s", u, err, status)
	}
	return &WS{c: c}, nil
}

// Send writes {"type": typ, "data": data}.
func (w *WS) Send(typ string, data any) error {
	w.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return w.c.WriteJSON(map[string]any{"type": typ, "data": data})
}

// Read returns the next frame, waiting at most timeout.
func (w *WS) Read(timeout time.Duration) (Frame, error) {
	w.c.SetReadDeadline(time.Now().Add(timeout))
	var f Frame
	_, b, err := w.c.ReadMessage()
	if err != nil {
		return f, err
	}
	err = json.Unmarshal(b, &f)
	return f, err
}

// Close closes the connection without a close handshake.
func (w *WS) Close() error { return w.c.Close() }
