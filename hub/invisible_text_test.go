package hub

import (
	"fmt"
	"testing"
)

// invisibleTexts show nothing, as JSON string contents: each is refused
// wherever chatd asks for text with something in it. (Plain white space was
// refused before; these passed the old "not only white space" test.)
var invisibleTexts = []string{
	`\u200b`, `\ufeff`, `\u2060`, `\u00ad`, `\u180e`, `\u034f`,
	`\u200c\u200d`, `\u200e\u202e\u2066`, `\u2800`, `\u3164`, `\u115f\u1160`,
	`\u0000`, `\u0001\u007f`, `\u0085`, `\u2028`, `\u0301`, `\ufe0f`,
	`\ue000`, `\ufdd0`, `\uffff`, `\udb40\udc20`, ` \u200b\t\ufeff `,
}

func dialOnce(i int) string {
	if i == 0 {
		return "/ws/client"
	}
	return ""
}

// TestInvisibleTextRefused: a message, a note, a page URL and a search
// query that show nothing get bad_request (with the cid where there is one)
// and nothing is stored or told to anyone; text with something visible in it
// is stored and echoed as sent, invisible characters included.
func TestInvisibleTextRefused(t *testing.T) {
	bad := func(cid string) []string {
		return []string{`{"type":"error","data":{"code":"bad_request","cid":"` + cid + `"}}`}
	}
	steps := []step{
		{on: "adm", dial: "/ws/admin", send: `{"type":"admin:add","data":{"token":"` + adminToken + `"}}`, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages","data":[]}`, `{"type":"admin:replayed"}`}},
		{on: "v", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"Ann","token":""}}`, want: []string{`{"type":"client:id"}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
		{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id","new":true}}`}},
	}
	for i, x := range invisibleTexts {
		cid := fmt.Sprintf("i%d", i)
		steps = append(steps,
			step{on: "v", send: `{"type":"client:message","data":{"cid":"` + cid + `","text":"` + x + `"}}`, want: bad(cid), note: "visitor message " + x},
			step{on: "adm", send: `{"type":"admin:message","data":{"client":"$v.id","cid":"` + cid + `","text":"` + x + `"}}`, want: bad(cid), note: "agent reply " + x},
			step{on: "adm", send: `{"type":"admin:note","data":{"client":"$v.id","cid":"n` + cid + `","text":"` + x + `"}}`, want: bad("n" + cid), note: "note " + x},
			step{on: "adm", send: `{"type":"admin:search","data":{"q":"` + x + `","cid":"s` + cid + `"}}`, want: bad("s" + cid), note: "search " + x},
			step{on: "v", send: `{"type":"client:page","data":{"url":"` + x + `","title":"t"}}`, want: bad(""), note: "page " + x},
			step{on: "v2", dial: dialOnce(i), send: `{"type":"client:add","data":{"name":"Bo","token":"","meta":{"page":"` + x + `"}}}`, want: bad(""), note: "meta.page " + x},
		)
	}
	for i, x := range []string{`\u200bhi\u200b`, `a\u0000b`, `\u2800x`, `e\u0301`, `\u2764\ufe0f`, `\u202eabc`} {
		cid := fmt.Sprintf("ok%d", i)
		steps = append(steps,
			step{on: "v", send: `{"type":"client:message","data":{"cid":"` + cid + `","text":"` + x + `"}}`,
				want: []string{`{"type":"client:message","data":{"cid":"` + cid + `","text":"` + x + `"}}`}, note: "stored as sent: " + x},
			step{on: "adm", want: []string{`{"type":"admin:message","data":{"cid":"` + cid + `","text":"` + x + `"}}`}},
		)
	}
	runScenario(t, scenario{name: "invisible text", steps: steps, cfg: Config{MsgRate: 1000, MsgBurst: 1000}})
}
