package hub

import (
	"strings"
	"testing"

	"github.com/chatd/chatd/store"
)

// TestEdgeScenarios: the issue-10 inputs and their siblings, over real
// sockets: cursors the store never reached, other epochs, invalid text,
// invisible names, limits from one source, pages, storage budgets.
func TestEdgeScenarios(t *testing.T) {
	add := func(name string) string {
		return `{"type":"client:add","data":{"name":"` + name + `","token":"","after":0}}`
	}
	cmsg := func(cid, text string) string {
		return `{"type":"client:message","data":{"cid":"` + cid + `","text":"` + text + `"}}`
	}
	ack := func(cid string) string {
		return `{"type":"client:message","data":{"cid":"` + cid + `","from":"client"}}`
	}
	amsg := func(cid string) string { return `{"type":"admin:message","data":{"cid":"` + cid + `"}}` }
	errf := func(code string) string { return `{"type":"error","data":{"code":"` + code + `"}}` }
	errCID := func(code, cid string) string {
		return `{"type":"error","data":{"code":"` + code + `","cid":"` + cid + `"}}`
	}
	adminAdd := func(extra string) string {
		return `{"type":"admin:add","data":{"token":"` + adminToken + `"` + extra + `}}`
	}
	admin := []step{{on: "adm", dial: "/ws/admin", send: adminAdd(`,"after":0`), want: []string{
		`{"type":"admin:list"}`, `{"type":"admin:messages","data":[]}`, `{"type":"admin:replayed","data":{"resync":false,"more":false,"list_more":false}}`}}}
	visitor := func(sock, name string) []step {
		return []step{
			{on: sock, dial: "/ws/client", send: add(name), want: []string{
				`{"type":"client:id","data":{"name":"` + name + `","resync":false,"max_text":4096}}`,
				`{"type":"client:messages","data":[]}`, `{"type":"client:replayed","data":{"resync":false,"more":false,"last":0}}`}},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$` + sock + `.id","status":true,"new":true}}`}},
		}
	}
	seq := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	// badName is a visitor socket whose client:add with name is refused as bad_request.
	badName := func(sock, name string) step {
		return step{on: sock, send: `{"type":"client:add","data":{"name":"` + name + `","token":""}}`, want: []string{errf("bad_request")}, note: name}
	}
	lim100 := &store.Limits{Name: 100, Text: 50}

	scenarios := []scenario{
		{name: "issue 1: after above the store's last offset is clamped, never a silent socket", steps: seq(admin, []step{
			{on: "v", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"Bob","token":"","after":1000000}}`, want: []string{
				`{"type":"client:id","data":{"name":"Bob","resync":true}}`, `{"type":"client:messages","data":[]}`,
				`{"type":"client:replayed","data":{"resync":true,"more":false,"epoch":"$v.epoch"}}`}},
			{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id","status":true}}`}},
			{on: "v", send: cmsg("b-1", "hi"), want: []string{ack("b-1")}},
			{on: "adm", want: []string{amsg("b-1")}},
			{on: "adm2", dial: "/ws/admin", send: adminAdd(`,"after":1000000`), want: []string{
				`{"type":"admin:list","data":[{"id":"$v.id"}]}`, `{"type":"admin:messages","data":[{"cid":"b-1"}]}`,
				`{"type":"admin:replayed","data":{"resync":true,"more":false}}`}},
			{on: "v", send: cmsg("b-2", "again"), want: []string{ack("b-2")}},
			{on: "adm", want: []string{amsg("b-2")}},
			{on: "adm2", want: []string{amsg("b-2")}, note: "the clamped admin gets live messages"},
			// A restored visitor with a cursor above the store: the whole conversation, resync.
			{on: "v2", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"x","token":"$v.token","after":99999999999}}`, want: []string{
				`{"type":"client:id","data":{"id":"$v.id","resync":true}}`, `{"type":"client:messages","data":[{"cid":"b-1"},{"cid":"b-2"}]}`,
				`{"type":"client:replayed","data":{"resync":true}}`}},
			{on: "v2", send: cmsg("b-3", "from tab 2"), want: []string{ack("b-3")}},
			{on: "v", want: []string{ack("b-3")}},
		})},
		{name: "epoch: another epoch resyncs, the same epoch replays after the cursor", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v", send: cmsg("m1", "one"), want: []string{ack("m1")}},
			{on: "v", send: cmsg("m2", "two"), want: []string{ack("m2")}},
			{on: "same", dial: "/ws/client", send: `{"type":"client:add","data":{"token":"$v.token","after":$off.m1,"epoch":"$v.epoch"}}`, want: []string{
				`{"type":"client:id","data":{"id":"$v.id","epoch":"$v.epoch","resync":false}}`, `{"type":"client:messages","data":[{"cid":"m2"}]}`,
				`{"type":"client:replayed","data":{"epoch":"$v.epoch","resync":false,"more":false}}`}},
			{on: "other", dial: "/ws/client", send: `{"type":"client:add","data":{"token":"$v.token","after":$off.m2,"epoch":"0123456789abcdef"}}`, want: []string{
				`{"type":"client:id","data":{"id":"$v.id","epoch":"$v.epoch","resync":true}}`, `{"type":"client:messages","data":[{"cid":"m1"},{"cid":"m2"}]}`,
				`{"type":"client:replayed","data":{"resync":true,"more":false}}`}},
			{on: "none", dial: "/ws/client", send: `{"type":"client:add","data":{"token":"$v.token","after":$off.m2}}`, want: []string{
				`{"type":"client:id","data":{"resync":false}}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed","data":{"resync":false}}`}},
			{on: "adm2", dial: "/ws/admin", send: adminAdd(`,"after":$off.m2,"epoch":"stale"`), want: []string{
				`{"type":"admin:list"}`, `{"type":"admin:messages","data":[{"cid":"m1"},{"cid":"m2"}]}`, `{"type":"admin:replayed","data":{"resync":true,"epoch":"$v.epoch"}}`}},
			{on: "adm3", dial: "/ws/admin", send: adminAdd(`,"after":$off.m1,"epoch":"$v.epoch"`), want: []string{
				`{"type":"admin:list"}`, `{"type":"admin:messages","data":[{"cid":"m2"}]}`, `{"type":"admin:replayed","data":{"resync":false}}`}},
			{on: "v", send: `{"type":"client:add","data":{"token":"$v.token","epoch":"` + big(65) + `"}}`, want: []string{errf("bad_request")}},
		})},
		{name: "issue 9: invalid UTF-8 is bad_json then close 1007, never U+FFFD", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v", send: "{\"type\":\"client:message\",\"data\":{\"cid\":\"k\xff\",\"text\":\"first\"}}", want: []string{errf("bad_json")}, closed: CloseInvalidData},
			{on: "v2", dial: "/ws/client", send: `{"type":"client:add","data":{"token":"$v.token"}}`, want: []string{`{"type":"client:id"}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
			{on: "v2", send: "{\"type\":\"client:message\",\"data\":{\"cid\":\"k\xfe\",\"text\":\"second\"}}", want: []string{errf("bad_json")}, closed: CloseInvalidData},
			{on: "v3", dial: "/ws/client", send: "{\"type\":\"client:add\",\"data\":{\"name\":\"An\xc3\"}}", want: []string{errf("bad_json")}, closed: CloseInvalidData},
			{on: "v4", dial: "/ws/client", send: "{\"type\":\"client:message\",\"data\":{\"cid\":\"ok\",\"text\":\"\xed\xa0\x80\"}}", want: []string{errf("bad_json")}, closed: CloseInvalidData, note: "UTF-8-encoded surrogate"},
			{on: "v5", dial: "/ws/client", send: "{\"type\":\"client:message\",\"data\":{\"cid\":\"ok\",\"text\":\"\xc0\xbc\"}}", want: []string{errf("bad_json")}, closed: CloseInvalidData, note: "overlong <"},
			{note: "no visitor socket is left: v2's going offline reached the admins before the next one joins"},
			{on: "bad", dial: "/ws/admin", send: adminAdd(``), want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages","data":[]}`, `{"type":"admin:replayed"}`}},
			{on: "bad", send: "{\"type\":\"admin:message\",\"data\":{\"client\":\"$v.id\",\"cid\":\"r\xff\",\"text\":\"x\"}}", want: []string{errf("bad_json")}, closed: CloseInvalidData},
			{on: "adm2", dial: "/ws/admin", send: adminAdd(``), want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages","data":[]}`, `{"type":"admin:replayed"}`}, note: "nothing was stored"},
		})},
		{name: "issue 9: escapes that decode to no text are bad_json, the socket stays open", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v", send: cmsg(`k\ud800`, "x"), want: []string{errf("bad_json")}},
			{on: "v", send: cmsg(`k\udfff`, "x"), want: []string{errf("bad_json")}},
			{on: "v", send: cmsg("t1", `\ud800`), want: []string{errf("bad_json")}},
			{on: "v", send: cmsg("t2", `a\ude00\ud83d`), want: []string{errf("bad_json")}},
			{on: "v", send: cmsg("t3", `\ud83d\ud83d`), want: []string{errf("bad_json")}},
			{on: "v", send: `{"type":"client:message","data":{"cid":"t4","text":"x","\udc00":1}}`, want: []string{errf("bad_json")}},
			{on: "v", send: cmsg("t5", `\ud83d\ude00 \\ud800`), want: []string{`{"type":"client:message","data":{"cid":"t5","text":"😀 \\ud800"}}`}},
			{on: "adm", want: []string{amsg("t5")}},
			{on: "w", dial: "/ws/client", send: add(`\ud800`), want: []string{errf("bad_json")}},
			{on: "w", send: add(`Bo\u0062`), want: []string{`{"type":"client:id","data":{"name":"Bob"}}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
		})},
		{name: "issue 9: cids are compared exactly as sent", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v", send: cmsg("kÿ", "first"), want: []string{`{"type":"client:message","data":{"cid":"kÿ","text":"first"}}`}},
			{on: "v", send: cmsg("kþ", "second"), want: []string{`{"type":"client:message","data":{"cid":"kþ","text":"second"}}`}},
			{on: "v", send: cmsg("é", "precomposed"), want: []string{`{"type":"client:message","data":{"cid":"é","text":"precomposed"}}`}},
			{on: "v", send: cmsg("e\u0301", "decomposed"), want: []string{`{"type":"client:message","data":{"cid":"e\u0301","text":"decomposed"}}`}},
			{on: "v", send: cmsg("K", "upper"), want: []string{`{"type":"client:message","data":{"cid":"K","text":"upper"}}`}},
			{on: "v", send: cmsg("k", "lower"), want: []string{`{"type":"client:message","data":{"cid":"k","text":"lower"}}`}},
			{on: "v", send: cmsg(`k\u00ff`, "retry of kÿ"), want: []string{`{"type":"client:message","data":{"cid":"kÿ","text":"first","offset":$off.kÿ}}`}, note: "the same cid escaped is the same cid"},
			{on: "adm", want: []string{amsg("kÿ"), amsg("kþ"), amsg("é"), amsg("e\u0301"), amsg("K"), amsg("k")}},
		})},
		{name: "issue 10: invisible and reordering names are refused", steps: []step{
			{on: "v", dial: "/ws/client", send: add(`\u202Eevil.exe`), want: []string{errf("bad_request")}},
			badName("v", `\u200B`), badName("v", `\uFEFF`), badName("v", `\u3164`), badName("v", `\u3164\u3164`),
			badName("v", `\u115F`), badName("v", `\uFFA0`), badName("v", `\u2800`), badName("v", `\u00AD`),
			badName("v", `\u034F`), badName("v", `\u2066Ann\u2069`), badName("v", `Ann\u200F`), badName("v", `\u061C`),
			badName("v", `\u180E`), badName("v", `\u2060`), badName("v", `\uFE0F`), badName("v", `\u0301`),
			badName("v", `\u200D`), badName("v", `\uDB40\uDC41`), badName("v", `\u2028`), badName("v", `a\u0000b`),
			badName("v", `\uE000`), badName("v", `\uDB40\uDC20`), badName("v", ` \u00A0 \u3000 `),
			badName("v", `a`+strings.Repeat(`\u0301`, 9)),
			{on: "v", send: add(`Zoë 👨\u200d👩\u200d👧 ❤️`), want: []string{`{"type":"client:id","data":{"name":"Zoë 👨‍👩‍👧 ❤️"}}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "w", dial: "/ws/client", send: add(`  محمد  `), want: []string{`{"type":"client:id","data":{"name":"محمد"}}`}},
		}},
		{name: "issue 11: --max-name above 64 works (one source of limits), max_text told", limits: lim100, steps: []step{
			{on: "v", dial: "/ws/client", send: add(strings.Repeat("é", 101)), want: []string{errf("bad_request")}},
			{on: "v", send: add(strings.Repeat("é", 100)), want: []string{`{"type":"client:id","data":{"name":"` + strings.Repeat("é", 100) + `","max_text":50}}`, `{"type":"client:messages"}`, `{"type":"client:replayed"}`}},
			{on: "v", send: cmsg("fits", big(50)), want: []string{ack("fits")}},
			{on: "v", send: cmsg("over", big(51)), want: []string{errCID("too_large", "over")}},
			{on: "v", send: cmsg("over2", strings.Repeat("é", 26)), want: []string{errCID("too_large", "over2")}},
		}},
		{name: "issue 12: text is stored and echoed as sent", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v", send: cmsg("lt", `<b>&amp;</b> \u003c \u2028`), want: []string{`{"type":"client:message","data":{"cid":"lt","text":"<b>&amp;</b> < \u2028"}}`}},
			{on: "adm", want: []string{amsg("lt")}},
			{do: func(s *tstate) {
				ms, _ := s.ts.st.MessagesOf(s.vars["v.id"], 0, 0)
				if len(ms) != 1 || ms[0].Text != "<b>&amp;</b> < \u2028" {
					s.t.Fatalf("stored %+v", ms)
				}
			}},
		})},
		{name: "client:page: current page, admin:client_page, page in admin:list", steps: seq(admin, visitor("v", "Ann"), []step{
			{on: "v", send: `{"type":"client:page","data":{"url":"https://shop.example/cart","title":"Cart <3"}}`},
			{on: "adm", want: []string{`{"type":"admin:client_page","data":{"id":"$v.id","url":"https://shop.example/cart","title":"Cart <3"}}`}},
			{on: "v", send: `{"type":"client:page","data":{"url":"https://shop.example/cart","title":"Cart <3"}}`, note: "the same page: nothing"},
			{on: "v", send: `{"type":"client:page","data":{"url":""}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:page","data":{"url":"` + big(1025) + `"}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:page","data":{"url":"https://x","title":"` + big(257) + `"}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:page","data":{"url":"https://x\n"}}`, want: []string{errf("bad_request")}},
			{on: "v", send: `{"type":"client:page","data":"https://x"}`, want: []string{errf("bad_request")}},
			{on: "v", send: cmsg("m1", "hi"), want: []string{ack("m1")}},
			{on: "adm", want: []string{amsg("m1")}, note: "no second admin:client_page for the same page"},
			{on: "v2", dial: "/ws/client", send: `{"type":"client:add","data":{"token":"$v.token","after":$off.m1,"meta":{"page":"https://shop.example/pay","title":"Pay"}}}`,
				want: []string{`{"type":"client:id","data":{"id":"$v.id"}}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
			{on: "adm", want: []string{`{"type":"admin:client_page","data":{"id":"$v.id","url":"https://shop.example/pay","title":"Pay"}}`}, note: "a restored visitor's full load updates the page"},
			{on: "adm2", dial: "/ws/admin", send: adminAdd(``), want: []string{
				`{"type":"admin:list","data":[{"id":"$v.id","page":{"url":"https://shop.example/pay","title":"Pay"}}]}`, `{"type":"admin:messages"}`, `{"type":"admin:replayed"}`}},
			{on: "early", dial: "/ws/client", send: `{"type":"client:page","data":{"url":"https://x"}}`, want: []string{errf("not_identified")}},
			{on: "adm", send: `{"type":"client:page","data":{"url":"https://x"}}`, want: []string{errf("unknown_type")}},
			{on: "v", send: `{"type":"admin:visitors","data":{}}`, want: []string{errf("unknown_type")}},
		})},
		{name: "issue 18: storage budgets per visitor and per address", cfg: Config{QuotaVisitor: 3000, QuotaAddress: 5500}, steps: seq(admin, visitor("v", "Ann"), visitor("w", "Bob"), []step{
			{on: "v", send: cmsg("v1", big(1000)), want: []string{ack("v1")}},
			{on: "v", send: cmsg("v2", big(1000)), want: []string{ack("v2")}},
			{on: "v", send: cmsg("v3", big(1000)), want: []string{errCID("quota_exceeded", "v3")}},
			{on: "v", send: cmsg("v1", big(1000)), want: []string{`{"type":"client:message","data":{"cid":"v1","offset":$off.v1}}`}, note: "a retry is still answered"},
			{on: "w", send: cmsg("w1", big(1000)), want: []string{ack("w1")}},
			{on: "w", send: cmsg("w2", big(1000)), want: []string{errCID("quota_exceeded", "w2")}, note: "the address budget"},
			{on: "x", dial: "/ws/client", send: add("Cy"), want: []string{errf("quota_exceeded")}, note: "new visitors are charged to the address"},
			{on: "adm", send: `{"type":"admin:message","data":{"client":"$v.id","cid":"r1","text":"admins are not budgeted"}}`, want: []string{amsg("v1"), amsg("v2"), amsg("w1"), amsg("r1")}},
			{do: func(s *tstate) {
				if n := s.ts.st.MessageCount(); n != 4 {
					s.t.Fatalf("%d messages stored, want 4", n)
				}
			}},
		})},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}
