package hub

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/chatd/chatd/store"
)

// TestMessageFramesMatchEncodeFrame: the frames built from one encoding of a
// message are the same JSON as encoding each frame whole.
func TestMessageFramesMatchEncodeFrame(t *testing.T) {
	m := store.Message{Offset: 42, Client: "9f2c1a7e5b3d4c21", From: store.FromAdmin, Admin: "al\"ice",
		CID: "k1x9", Text: "<b>hi</b> \u2028 \"quoted\"", At: time.Date(2026, 11, 22, 10, 0, 0, 123e6, time.UTC)}
	client, admin := messageFrames(m)
	for _, tc := range []struct {
		typ string
		got []byte
	}{{evClientMessage, client}, {evAdminMessage, admin}} {
		want := encodeFrame(tc.typ, m)
		if !bytes.Equal(tc.got, want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.typ, tc.got, want)
		}
		var back struct {
			Type string        `json:"type"`
			Data store.Message `json:"data"`
		}
		if err := json.Unmarshal(tc.got, &back); err != nil || back.Type != tc.typ || back.Data != m {
			t.Errorf("%s does not decode back: %+v %v", tc.typ, back, err)
		}
	}
}
