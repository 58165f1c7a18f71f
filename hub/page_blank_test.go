package hub

import "testing"

// TestBlankPageRefused: a page URL of white space only (ASCII or Unicode
// spaces) is no page: client:page and client:add's meta.page answer
// bad_request and store nothing; the socket keeps working.
func TestBlankPageRefused(t *testing.T) {
	bad := []string{`{"type":"error","data":{"code":"bad_request"}}`}
	page := func(url string) string { return `{"type":"client:page","data":{"url":"` + url + `","title":"t"}}` }
	steps := []step{
		{on: "adm", dial: "/ws/admin", send: `{"type":"admin:add","data":{"token":"` + adminToken + `"}}`, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages","data":[]}`, `{"type":"admin:replayed"}`}},
		{on: "v", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"Ann","token":"","meta":{"page":"   "}}}`, want: bad},
		{on: "v", send: `{"type":"client:add","data":{"name":"Ann","token":"","meta":{"page":"\u00a0\u3000"}}}`, want: bad},
		{on: "v", send: `{"type":"client:add","data":{"name":"Ann","token":""}}`, want: []string{`{"type":"client:id"}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
		{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id","new":true}}`}},
		{on: "v", send: page(" "), want: bad},
		{on: "v", send: page("    "), want: bad},
		{on: "v", send: page(`\u00a0`), want: bad},
		{on: "v", send: page(`\u2003\u3000`), want: bad},
		{on: "v", send: page(" https://shop.example/a "), note: "a URL with spaces around is a page, stored as sent"},
		{on: "adm", want: []string{`{"type":"admin:client_page","data":{"id":"$v.id","url":" https://shop.example/a "}}`}},
	}
	runScenario(t, scenario{name: "blank pages", steps: steps})
}
