package hub

import (
	"strings"
	"testing"
)

// TestIntegerFieldsExplainRefusedNumbers: a JSON number an integer field
// cannot take (a fraction or exponent, minus zero or a negative number in an
// unsigned field, beyond 64 bits, 1e400) gets bad_request saying the field's
// range and echoing the number, on every socket and event, and the socket
// keeps working. Before, all of them read "field after has the wrong type",
// also for a 20-digit whole number.
func TestIntegerFieldsExplainRefusedNumbers(t *testing.T) {
	numbers := []string{"1e400", "-1e400", "1.0", "1e2", "1E+2", "0.5", "-0", "-1", "18446744073709551616", "99999999999999999999", "-9223372036854775809", "1" + strings.Repeat("0", 400)}
	whole := func(field, n string) []string {
		want := n
		if len(want) > 32 {
			want = want[:32] + "..."
		}
		return []string{`{"type":"error","data":{"code":"bad_request","message":"field ` + field + ` must be a whole number from 0 to 18446744073709551615 written in digits, without fraction or exponent (got ` + want + `)"}}`}
	}
	steps := []step{
		{on: "adm", dial: "/ws/admin", send: `{"type":"admin:add","data":{"token":"` + adminToken + `"}}`, want: []string{`{"type":"admin:list"}`, `{"type":"admin:messages","data":[]}`, `{"type":"admin:replayed"}`}},
		{on: "v", dial: "/ws/client", send: `{"type":"client:add","data":{"name":"Ann","token":""}}`, want: []string{`{"type":"client:id"}`, `{"type":"client:messages","data":[]}`, `{"type":"client:replayed"}`}},
		{on: "adm", want: []string{`{"type":"admin:client_status","data":{"id":"$v.id","new":true}}`}},
	}
	for i, n := range numbers {
		steps = append(steps,
			step{on: "v2", dial: dialOnce(i), send: `{"type":"client:add","data":{"name":"Bo","token":"","after":` + n + `}}`, want: whole("after", n), note: "client:add after " + n},
			step{on: "v", send: `{"type":"client:history","data":{"before":` + n + `}}`, want: whole("before", n), note: "client:history before " + n},
			step{on: "v", send: `{"type":"client:seen","data":{"offset":` + n + `}}`, want: whole("offset", n), note: "client:seen offset " + n},
			step{on: "a2", dial: map[bool]string{true: "/ws/admin"}[i == 0], send: `{"type":"admin:add","data":{"token":"` + adminToken + `","after":` + n + `}}`, want: whole("after", n), note: "admin:add after " + n},
			step{on: "adm", send: `{"type":"admin:history","data":{"client":"$v.id","before":` + n + `}}`, want: whole("before", n), note: "admin:history before " + n},
			step{on: "adm", send: `{"type":"admin:seen","data":{"client":"$v.id","offset":` + n + `}}`, want: whole("offset", n), note: "admin:seen offset " + n},
		)
	}
	steps = append(steps,
		step{on: "v", send: `{"type":"client:message","data":{"cid":"c1","text":"still here"}}`, want: []string{`{"type":"client:message","data":{"cid":"c1","text":"still here"}}`}},
		step{on: "v", send: `{"type":"client:history","data":{"before":18446744073709551615,"limit":1}}`, want: []string{`{"type":"client:history","data":{"messages":[{"cid":"c1"}]}}`}, note: "the largest offset is a cursor"},
	)
	runScenario(t, scenario{name: "numbers", steps: steps})
}
