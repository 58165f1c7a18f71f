package hub

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/jsontext"
	"github.com/chatd/chatd/internal/names"
	"github.com/chatd/chatd/store"
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
		`{"type":"client:add","data":{"name":"Ann","token":"t","after":12,"epoch":"9f2c1a7e5b3d4c21"}}`,
		`{"type":"client:add","data":{"name":"\u202Eevil.exe"}}`,
		`{"type":"client:add","data":{"name":"\u3164"}}`,
		`{"type":"client:message","data":{"cid":"k\ud800","text":"x"}}`,
		`{"type":"client:message","data":{"cid":"k","text":"\ud83d\ude00"}}`,
		"{\"type\":\"client:message\",\"data\":{\"cid\":\"k\xff\",\"text\":\"x\"}}",
		`{"type":"client:history","data":{"before":40,"limit":20}}`,
		`{"type":"client:page","data":{"url":"https://x/a","title":"A"}}`,
		`{"type":"admin:visitors","data":{"before":"abc","limit":20}}`,
		`{"type":"admin:add","data":{"token":"t","after":5,"epoch":"e"}}`,
		`{"type":"client:add","data":{"name":"Ann","identity":{"id":"u-1","hash":"ab","name":"A","email":"a@b.co"}}}`,
		`{"type":"client:email","data":{"email":"ann@example.com"}}`,
		`{"type":"client:attributes","data":{"attributes":{"plan":"pro","":"x"}}}`,
		`{"type":"client:seen","data":{"offset":42}}`,
		`{"type":"client:transcript","data":{}}`,
		`{"type":"admin:status","data":{"status":"away"}}`,
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
		if fe == nil && (!utf8.Valid(b) || jsontext.Check(b) != nil) {
			t.Fatalf("accepted %q, which is not text as sent", b)
		}
		if fe != nil && !utf8.Valid(b) && fe.Code != codeBadJSON {
			t.Fatalf("invalid UTF-8 refused as %s, want %s", fe.Code, codeBadJSON)
		}
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
			if n := fr.ClientAdd.Name; n != "" && names.Check(n, lim.maxName) != nil {
				t.Fatalf("client:add with a name the name rule refuses: %+q", n)
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
			if h := fr.AdminHistory; h.Limit < 1 || h.Limit > historyMax || (h.Client == "") != (fr.Type == evClientHistory) {
				t.Fatalf("history out of range: %+v", h)
			}
		case fr.ClientPage != nil:
			set++
			if p := fr.ClientPage; p.URL == "" || len(p.URL) > maxPageURL || len(p.Title) > maxPageTitle {
				t.Fatalf("page out of range: %+v", p)
			}
		case fr.AdminVisitors != nil:
			set++
			if p := fr.AdminVisitors; p.Limit < 1 || p.Limit > listMax || len(p.Before) > maxCursor {
				t.Fatalf("visitors page out of range: %+v", p)
			}
		case fr.Info != nil:
			set++
			switch p := fr.Info.(type) {
			case *clientEmail:
				if p.Email == "" {
					t.Fatalf("client:email without an address")
				}
			case *clientAttributes:
				if p.Attributes == nil || store.CheckAttributes(p.Attributes) != nil {
					t.Fatalf("attributes over limits: %+q", p.Attributes)
				}
			case *clientSeen:
				if p.Offset == nil {
					t.Fatalf("client:seen without an offset")
				}
			case *adminStatusEvent:
				if p.Status != StatusOnline && p.Status != StatusAway {
					t.Fatalf("admin:status %q", p.Status)
				}
			case *clientTranscript:
			default:
				t.Fatalf("unknown payload %T", p)
			}
		}
		if set != 1 {
			t.Fatalf("accepted %q with no payload", b)
		}
	})
}
