package hub

import (
	"testing"
)

// hiddenChars are code points that show nothing of their own and change how
// the text around them shows (names.Hidden), as JSON escapes.
var hiddenChars = []string{
	`\u0085`, `\u009b`, `\u2028`, `\u2029`, `\u200b`, `\ufeff`, `\u2060`, `\u00ad`,
	`\u200e`, `\u202e`, `\u2066`, `\u061c`, `\u180e`, `\u034f`, `\u3164`, `\u115f`,
	`\ue000`, `\ufdd0`, `\uffff`, `\udb40\udc41`,
}

// TestHiddenCharactersRefused: an e-mail address, a page URL, a referrer, a
// meta key or an attribute name holding a hidden character anywhere gets
// bad_request and nothing is stored or told to the agents, even with
// visible text around it (the check was ASCII-only or C0/C1-only: U+202E
// made "ann@example.com" of another address in the portal, a URL with
// U+2066 showed another page). The same fields with visible non-ASCII text
// are stored as sent.
func TestHiddenCharactersRefused(t *testing.T) {
	bad := []string{`{"type":"error","data":{"code":"bad_request","cid":""}}`}
	steps := []step{
		{on: "adm", dial: "/ws/admin", send: `{"type":"admin:add","data":{"token":"` + adminToken + `"}}`, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages","data":[]}`, `{"type":"admin:replayed"}`}},
		{on: "v", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"Ann","token":""}}`, want: []string{`{"type":"client:id"}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
		{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id","new":true}}`}},
	}
	for i, x := range hiddenChars {
		steps = append(steps,
			step{on: "v", send: `{"type":"client:email","data":{"email":"ann` + x + `@example.com"}}`, want: bad, note: "e-mail " + x},
			step{on: "v", send: `{"type":"client:email","data":{"email":"ann@exa` + x + `mple.com"}}`, want: bad, note: "e-mail domain " + x},
			step{on: "v", send: `{"type":"client:page","data":{"url":"https://shop.example/` + x + `cart","title":"t"}}`, want: bad, note: "page url " + x},
			step{on: "v", send: `{"type":"client:attributes","data":{"attributes":{"plan` + x + `":"pro"}}}`, want: bad, note: "attribute name " + x},
			step{on: "v2", dial: dialOnce(i), send: `{"type":"client:add","data":{"name":"Bo","token":"","meta":{"page":"https://shop.example/` + x + `"}}}`, want: bad, note: "meta.page " + x},
			step{on: "v2", send: `{"type":"client:add","data":{"name":"Bo","token":"","meta":{"referrer":"https://` + x + `search.example/"}}}`, want: bad, note: "meta.referrer " + x},
			step{on: "v2", send: `{"type":"client:add","data":{"name":"Bo","token":"","meta":{"k` + x + `":"v"}}}`, want: bad, note: "meta key " + x},
		)
	}
	steps = append(steps,
		step{on: "v", send: `{"type":"client:email","data":{"email":"jörg@bücher.example"}}`, want: []string{`{"type":"client:email","data":{"email":"jörg@bücher.example"}}`}},
		step{on: "adm", want: []string{`{"type":"admin:client","data":{"id":"$v.id","email":"jörg@bücher.example"}}`}, note: "the first change the agents hear of"},
		step{on: "v", send: `{"type":"client:attributes","data":{"attributes":{"tarif éco":"pro \u202e ok"}}}`, want: []string{`{"type":"client:attributes","data":{"attributes":{"tarif éco":"pro \u202e ok"}}}`}, note: "values are free text"},
		step{on: "adm", want: []string{`{"type":"admin:client","data":{"id":"$v.id","attributes":{"tarif éco":"pro \u202e ok"}}}`}},
		step{on: "v", send: `{"type":"client:page","data":{"url":"https://shop.example/caf%C3%A9?q=é","title":"\u200fשלום\u200f"}}`},
		step{on: "adm", want: []string{`{"type":"admin:client_page","data":{"id":"$v.id","url":"https://shop.example/caf%C3%A9?q=é","title":"\u200fשלום\u200f"}}`}, note: "titles keep their bidi marks"},
	)
	runScenario(t, scenario{name: "hidden characters", steps: steps, cfg: infoConfig(nil)})
}
