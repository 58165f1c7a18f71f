package hub

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/chatd/chatd/store"
)

// TestMessageFramesMatchEncodeFrame: the frames built from one encoding of a
// message are the same JSON as encoding each frame whole; the visitor's frame
// carries the message's public form (display name, never the login).
func TestMessageFramesMatchEncodeFrame(t *testing.T) {
	m := store.Message{Offset: 42, Client: "9f2c1a7e5b3d4c21", From: store.FromAdmin, Admin: "al\"ice",
		CID: "k1x9", Text: "<b>hi</b> \u2028 \"quoted\"", At: time.Date(2026, 11, 22, 10, 0, 0, 123e6, time.UTC)}
	for _, m := range []store.Message{m, {Offset: 43, Client: m.Client, From: store.FromClient, CID: "v\"1", Text: m.Text, At: m.At}} {
		testMessageFrames(t, m)
	}
}

func testMessageFrames(t *testing.T, m store.Message) {
	client, admin := messageFrames(m)
	for _, tc := range []struct {
		typ string
		got []byte
		m   store.Message
	}{{evClientMessage, client, m.Public()}, {evAdminMessage, admin, m}} {
		want := encodeFrame(tc.typ, tc.m)
		if !bytes.Equal(tc.got, want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.typ, tc.got, want)
		}
		var back struct {
			Type string        `json:"type"`
			Data store.Message `json:"data"`
		}
		if err := json.Unmarshal(tc.got, &back); err != nil || back.Type != tc.typ || back.Data != tc.m {
			t.Errorf("%s does not decode back: %+v %v", tc.typ, back, err)
		}
	}
}
