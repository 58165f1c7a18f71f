package jsontext

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestMarshalKeepsTextAsSent(t *testing.T) {
	for _, s := range []string{"<", "a<b>&c", strings.Repeat("<", 4096), "é \u2028 \"q\" \\"} {
		b, err := Marshal(map[string]string{"text": s})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `\u003c`) || strings.Contains(string(b), `\u0026`) || strings.HasSuffix(string(b), "\n") {
			t.Errorf("%q encoded as %s", s, b)
		}
		var back map[string]string
		if err := json.Unmarshal(b, &back); err != nil || back["text"] != s {
			t.Errorf("%q does not decode back: %q %v", s, back["text"], err)
		}
	}
	b, _ := Marshal(map[string]string{"text": strings.Repeat("<", 4096)})
	if len(b) > 4096+20 {
		t.Errorf("4096 '<' cost %d bytes", len(b))
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{`{"cid":"k1","text":"hi"}`, nil},
		{`{"text":"\ud83d\ude00"}`, nil},                   // a surrogate pair: 😀
		{`{"text":"\uD83D\uDE00 and \u00e9 \u0000"}`, nil}, // upper-case hex, NUL is a character
		{`{"text":"\\ud800"}`, nil},                        // an escaped backslash, then the letters ud800
		{`{"text":"\\\\ud800"}`, nil},
		{`{"text":"\u12"}`, nil}, // not an escape at all: the JSON parser refuses it
		{"{\"cid\":\"k\xff\"}", ErrInvalidUTF8},
		{"{\"cid\":\"k\xfe\"}", ErrInvalidUTF8},
		{"{\"text\":\"\xed\xa0\x80\"}", ErrInvalidUTF8}, // a surrogate encoded in UTF-8 (CESU)
		{"{\"text\":\"\xc0\xaf\"}", ErrInvalidUTF8},     // overlong
		{`{"text":"\ud800"}`, ErrSurrogate},
		{`{"text":"\udfff"}`, ErrSurrogate},
		{`{"text":"a\ud800b"}`, ErrSurrogate},
		{`{"text":"\ud800\u0041"}`, ErrSurrogate},
		{`{"text":"\ude00\ud83d"}`, ErrSurrogate}, // pair in the wrong order
		{`{"text":"\\\ud800"}`, ErrSurrogate},     // escaped backslash, then a real escape
		{`{"\ud800":"x"}`, ErrSurrogate},          // keys too
		{`{"text":"\ud83d\ude00\udc00"}`, ErrSurrogate},
	} {
		err := Check([]byte(tc.in))
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Check(%q) = %v, want %v", tc.in, err, tc.want)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{`"\ud800"`, `"\ud83d\ude00"`, `"a\\u"`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if Check(b) != nil {
			return
		}
		// Whatever Check accepts decodes without replacement: re-encoding
		// the decoded string gives back the same text.
		var s string
		if json.Unmarshal(b, &s) != nil {
			return
		}
		if strings.ContainsRune(s, '\uFFFD') && !strings.Contains(string(b), "\uFFFD") &&
			!strings.Contains(strings.ToLower(string(b)), `\ufffd`) {
			t.Fatalf("%q accepted but decoded with U+FFFD: %q", b, s)
		}
	})
}
