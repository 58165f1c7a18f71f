package logcheck

import (
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"level":"info","component":"db","message":"x"}`, true},
		{`{"a":{"b":1,"c":[{"d":1},{"d":2}]}}`, true},
		{`{"component":"db","level":"info","component":"db"}`, false},
		{`{"a":{"b":1,"b":2}}`, false},
		{`{"a":[{"b":1,"b":2}]}`, false},
		{`{"a":1} {"b":2}`, false},
		{`[1]`, false},
		{`not json`, false},
	} {
		if err := Line([]byte(tc.in)); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.in, err)
		}
	}
	if n, err := Lines(strings.NewReader("{\"a\":1}\n\n{\"b\":1,\"b\":1}\n")); err == nil || n != 2 {
		t.Errorf("Lines: %d %v", n, err)
	}
}
