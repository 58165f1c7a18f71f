package hub

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeFrame: the decoder never panics, refuses with a known code, and
// what it accepts respects every limit.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"client:add","data":{"name":"Ann","token":"","after":0}}`,
		`{"type":"client:add","data":{"name":"Ann","token":"t","after":12,"meta":{"url":"https://x"}}}`,
		`{"type":"client:message","data":{"cid":"k1","text":"hi"}}`,
		`{"type":"admin:add","data":{"token":"t","after":0,"limit":50}}`,
		`{"type":"admin:message","data":{"client":"9f2c","cid":"r1","text":"hello"}}`,
		`{"type":"admin:history","data":{"client":"9f2c","before":40,"limit":20}}`,
		`{"type":"client:message","data":{"cid":7,"text":"x"}}`,
		`{"type":5}`, `[]`, `null`, `"x"`, `{`, ``, `{"data":{}}`,
	} {
		f.Add([]byte(s))
	}
	lim := limits{maxFrame: 1 << 10, maxText: 64, maxName: 8}
	codes := map[string]bool{}
	for _, c := range errorCodes {
		codes[c] = true
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, fe := decodeFrame(b, lim)
		if fe != nil {
			if !codes[fe.Code] || fe.Message == "" || len(fe.CID) > maxCID {
				t.Fatalf("bad refusal %+v", fe)
			}
			if !json.Valid(b) && fe.Code != codeBadJSON && fe.Code != codeTooLarge {
				t.Fatalf("invalid JSON refused as %s, want %s", fe.Code, codeBadJSON)
			}
			if _, err := json.Marshal(fe); err != nil {
				t.Fatalf("refusal does not encode: %v", err)
			}
			return
		}
		if len(b) > lim.maxFrame {
			t.Fatalf("accepted a frame of %d bytes", len(b))
		}
		set := 0
		switch {
		case fr.ClientAdd != nil:
			set++
			if utf8.RuneCountInString(fr.ClientAdd.Name) > lim.maxName || len(fr.ClientAdd.Token) > maxToken {
				t.Fatalf("client:add over limits: %+v", fr.ClientAdd)
			}
		case fr.Message != nil:
			set++
			m := fr.Message
			if m.CID == "" || len(m.CID) > maxCID || len(m.Text) > lim.maxText || m.Text == "" {
				t.Fatalf("message over limits: %+v", m)
			}
			if fr.Type == evAdminMessage && m.Client == "" {
				t.Fatalf("admin:message without client")
			}
		case fr.AdminAdd != nil:
			set++
			if fr.AdminAdd.Limit < 0 {
				t.Fatalf("negative limit")
			}
		case fr.AdminHistory != nil:
			set++
			if h := fr.AdminHistory; h.Limit < 1 || h.Limit > historyMax || h.Client == "" {
				t.Fatalf("history out of range: %+v", h)
			}
		}
		if set != 1 {
			t.Fatalf("accepted %q with no payload", b)
		}
	})
}
