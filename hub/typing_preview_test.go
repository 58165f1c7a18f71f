package hub

import "testing"

// client:id tells the visitor whether agents see a typing preview, so a
// client sends the text it has not sent only when they do.
func TestClientIDTellsTypingPreview(t *testing.T) {
	for _, on := range []bool{false, true} {
		ts := startServer(t, Config{TypingPreview: on})
		w := ts.dial("v", "/ws/client", nil)
		w.send(evClientAdd, map[string]any{"name": "Ann", "token": "", "after": 0})
		var id struct {
			ID            string `json:"id"`
			TypingPreview *bool  `json:"typing_preview"`
		}
		w.expect(evClientID, &id)
		if id.TypingPreview == nil || *id.TypingPreview != on {
			t.Fatalf("--typing-preview=%v: client:id typing_preview = %v", on, id.TypingPreview)
		}
		w.close()
	}
}
