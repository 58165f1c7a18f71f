package hub

import (
	"testing"
)

// TestDuplicateNamesRefused: a frame whose objects name one field twice
// (exactly, escaped, or in another case, which encoding/json matches to the
// same field) is bad_json on every socket and event, nothing of it is
// applied, the socket stays open and the next frame works.
func TestDuplicateNamesRefused(t *testing.T) {
	errf := func(code string) string { return `{"type":"error","data":{"code":"` + code + `"}}` }
	badJSON := []string{errf("bad_json")}
	adminAdd := `{"type":"admin:add","data":{"token":"` + adminToken + `"}}`
	steps := []step{
		{on: "adm", dial: "/ws/admin", send: adminAdd, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages","data":[]}`, `{"type":"admin:replayed"}`}},
		{on: "v", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"Ann","name":"Bob","token":""}}`, want: badJSON, note: "name twice"},
		{on: "v", send: `{"type":"client:add","type":"admin:add","data":{"name":"Ann","token":""}}`, want: badJSON, note: "type twice"},
		{on: "v", send: `{"type":"client:add","data":{"name":"Ann","token":""},"Data":{"name":"Eve"}}`, want: badJSON, note: "data in two cases"},
		{on: "v", send: `{"type":"client:add","data":{"name":"Ann","token":"","meta":{"page":"https://a.example/","PAGE":"https://b.example/"}}}`, want: badJSON, note: "meta keys in two cases"},
		{on: "v", send: `{"type":"client:add","data":{"name":"Ann","token":""}}`, want: []string{`{"type":"client:id","data":{"name":"Ann"}}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
		{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id","new":true}}`}},
		{on: "v", send: `{"type":"client:message","data":{"cid":"m1","text":"hi","text":"bye"}}`, want: badJSON},
		{on: "v", send: `{"type":"client:message","data":{"cid":"m1","text":"hi","Text":"bye"}}`, want: badJSON},
		{on: "v", send: `{"type":"client:message","data":{"cid":"m1","cid":"m2","text":"hi"}}`, want: badJSON},
		{on: "v", send: `{"type":"client:message","data":{"cid":"m1","te\u0078t":"hi","text":"bye"}}`, want: badJSON},
		{on: "v", send: `{"type":"client:message","data":{"cid":"m1","text":"hi","client":"a","CLIENT":"b"}}`, want: badJSON},
		{on: "v", send: `{"type":"client:attributes","data":{"attributes":{"plan":"free","plan":"pro"}}}`, want: badJSON},
		{on: "v", send: `{"type":"client:email","data":{"email":"a@example.com","Email":"b@example.com"}}`, want: badJSON},
		{on: "v", send: `{"type":"client:seen","data":{"offset":1,"offset":2}}`, want: badJSON},
		{on: "v", send: `{"type":"client:typing","data":{"typing":true,"typing":false}}`, want: badJSON},
		{on: "v", send: `{"type":"client:page","data":{"url":"https://a.example/","url":"https://b.example/"}}`, want: badJSON},
		{on: "adm", send: `{"type":"admin:message","data":{"client":"$v.id","client":"someone","cid":"r1","text":"x"}}`, want: badJSON},
		{on: "adm", send: `{"type":"admin:assign","data":{"client":"$v.id","to":"alice","To":""}}`, want: badJSON},
		{on: "adm", send: `{"type":"admin:note","data":{"client":"$v.id","cid":"n1","text":"a","text":"b"}}`, want: badJSON},
		{on: "adm", send: `{"type":"admin:snooze","data":{"client":"$v.id","until":"2099-01-01T00:00:00Z","until":"2000-01-01T00:00:00Z"}}`, want: badJSON},
		// One name per object, in nested objects and arrays alike, is fine.
		{on: "v", send: `{"type":"client:message","data":{"cid":"m1","text":"{\"text\":1,\"text\":2}"}}`, want: []string{`{"type":"client:message","data":{"cid":"m1","text":"{\"text\":1,\"text\":2}"}}`}},
		{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"m1"}}`}, note: "the only message stored"},
		{do: func(s *tstate) {
			if n := s.ts.st.MessageCount(); n != 1 {
				s.t.Fatalf("%d messages stored, want 1", n)
			}
			if p, err := s.ts.st.Profile(s.vars["v.id"]); err != nil || p.Email != "" || len(p.Attributes) != 0 {
				s.t.Fatalf("profile %+v (%v): a refused frame changed it", p, err)
			}
		}},
	}
	runScenario(t, scenario{name: "duplicate names", steps: steps})
}
