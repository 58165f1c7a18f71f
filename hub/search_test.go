package hub

import (
	"testing"
)

func TestAdminSearch(t *testing.T) {
	add := func(name string) string {
		return `{"type":"client:add","data":{"name":"` + name + `","token":"","after":0}}`
	}
	ack := func(typ, cid string) string { return `{"type":"` + typ + `","data":{"cid":"` + cid + `"}}` }
	sc := scenario{name: "search", setup: seedAgents, steps: []step{
		{on: "adm", dial: "/ws/admin", send: `{"type":"admin:add","data":{"token":"` + adminToken + `","after":0}}`, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
		{on: "v", dial: "/ws/client", send: add("Norbert"), want: []string{`{"type":"client:id"}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
		{on: "adm", want: []string{`{"type":"admin:client_status"}`}},
		{on: "v", send: `{"type":"client:message","data":{"cid":"a1","text":"Do you ship to Norway?"}}`, want: []string{ack("client:message", "a1")}},
		{on: "adm", want: []string{ack("admin:message", "a1")}},
		{on: "adm", send: `{"type":"admin:note","data":{"client":"$v.id","cid":"n1","text":"norway needs customs forms"}}`, want: []string{ack("admin:message", "n1")}},
		{on: "adm", send: `{"type":"admin:search","data":{"q":"NORWAY","cid":"s1"}}`, want: []string{
			`{"type":"admin:search","data":{"q":"NORWAY","cid":"s1","more":false,"results":[{"client":"$v.id","name":"Norbert","offset":$off.n1,"field":"text","snippet":"norway needs customs forms"},{"client":"$v.id","offset":$off.a1,"field":"text"}]}}`}},
		{on: "adm", send: `{"type":"admin:search","data":{"q":"nor","limit":1}}`, want: []string{
			`{"type":"admin:search","data":{"results":[{"client":"$v.id","offset":0,"field":"name","snippet":"Norbert"}],"more":false}}`}},
		{on: "adm", send: `{"type":"admin:search","data":{"q":"ship norway","limit":1}}`, want: []string{
			`{"type":"admin:search","data":{"results":[{"offset":$off.a1}],"more":false}}`}},
		{on: "adm", send: `{"type":"admin:search","data":{"q":"  ","cid":"s2"}}`, want: []string{`{"type":"error","data":{"code":"bad_request","cid":"s2"}}`}},
		{on: "adm", send: `{"type":"admin:search","data":{"q":"` + big(257) + `","cid":"s3"}}`, want: []string{`{"type":"error","data":{"code":"bad_request","cid":"s3"}}`}},
		{on: "adm", send: `{"type":"admin:search","data":{"q":"x","limit":-1,"cid":"s4"}}`, want: []string{`{"type":"error","data":{"code":"bad_request","cid":"s4"}}`}},
		{on: "adm", send: `{"type":"admin:search","data":{"q":5}}`, want: []string{`{"type":"error","data":{"code":"bad_request"}}`}},
		{on: "v", send: `{"type":"admin:search","data":{"q":"norway"}}`, want: []string{`{"type":"error","data":{"code":"unknown_type"}}`}},
	}}
	// A query without a word (emoji, punctuation, symbols alone) is refused with
	// a message saying what search matches, never answered with no results.
	for i, q := range []string{"🚚", "👍🏽", "!!", "😀😃", "🏳️‍🌈", "--", "…", "© ®", "+", "🇩🇪"} {
		cid := "w" + string(rune('a'+i))
		sc.steps = append(sc.steps, step{on: "adm", send: `{"type":"admin:search","data":{"q":"` + q + `","cid":"` + cid + `"}}`,
			want: []string{`{"type":"error","data":{"code":"bad_request","message":"` + msgNoWord + `","cid":"` + cid + `"}}`}, note: "no word in " + q})
	}
	// A word beside them is searched as usual.
	for _, q := range []string{"norway 🚚", "!!ship!!", "nor"} {
		sc.steps = append(sc.steps, step{on: "adm", send: `{"type":"admin:search","data":{"q":"` + q + `","limit":1}}`,
			want: []string{`{"type":"admin:search"}`}, note: "a word in " + q})
	}
	runScenario(t, sc)
}
