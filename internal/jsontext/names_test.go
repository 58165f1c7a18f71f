package jsontext

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestCheckNames: an object naming one field twice, as encoding/json
// matches names (exactly, through escapes, or ignoring case), is refused;
// the same name in different objects, in arrays, or inside string values
// is not a duplicate.
func TestCheckNames(t *testing.T) {
	many := func(n int, last string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, `"k%d":1,`, i)
		}
		b.WriteString(last + "}")
		return b.String()
	}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{`{"type":"client:message","data":{"cid":"a","text":"b"}}`, nil},
		{`{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]}`, nil}, // one name per object
		{`{"text":"\"text\":1, \"text\":2"}`, nil},               // names inside a value
		{`{"a":["a","a",{"a":1}]}`, nil},                         // array strings are values
		{`{"k\"":1,"k":2}`, nil},                                 // k" and k differ
		{`{"ſ":1,"s":2}`, ErrDuplicateName},                      // long s folds to s (bytes.EqualFold)
		{`{"K":1,"k":2}`, ErrDuplicateName},                      // Kelvin sign folds to k
		{many(40, `"k40":1`), nil},
		{many(40, `"K7":1`), ErrDuplicateName}, // found through the folded map too
		{many(10, `"k3":1`), ErrDuplicateName},
		{`{"text":"a","text":"b"}`, ErrDuplicateName},
		{`{"type":"x","data":{"cid":"a","cid":"b"}}`, ErrDuplicateName},
		{`{"data":{},"type":"a","type":"b"}`, ErrDuplicateName},
		{`{"text":"a","Text":"b"}`, ErrDuplicateName},
		{`{"text":"a","TEXT":"b"}`, ErrDuplicateName},
		{`{"text":"a","t\u0065xt":"b"}`, ErrDuplicateName},
		{`{"a":[{"b":{"c":1,"c":2}}]}`, ErrDuplicateName},
		{`{"a":1 , "a" :2}`, ErrDuplicateName},
		{`{"a":1,"a"`, ErrDuplicateName}, // enough to know, malformed or not
		{`{"a":1,}`, nil},                // malformed: for the decoder
		{`}}]]{"a"`, nil},
		{`"unterminated`, nil},
	} {
		err := Check([]byte(tc.in))
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Check(%.80q) = %v, want %v", tc.in, err, tc.want)
		}
	}
}

// TestCheckNamesAgreesWithDecoder: whatever CheckNames refuses, encoding/json
// would indeed have merged into one struct field (so the refusal names a
// real ambiguity, not a style rule).
func TestCheckNamesAgreesWithDecoder(t *testing.T) {
	for _, name := range []string{"text", "Text", "TEXT", "t\\u0065xt", "tExT"} {
		in := `{"text":"first","` + name + `":"second"}`
		var v struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(in), &v); err != nil || v.Text != "second" {
			t.Fatalf("decoder on %s: %q, %v (the premise changed)", in, v.Text, err)
		}
		if err := CheckNames([]byte(in)); !errors.Is(err, ErrDuplicateName) {
			t.Errorf("CheckNames(%s) = %v, want ErrDuplicateName", in, err)
		}
	}
}
