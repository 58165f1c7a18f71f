package store

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// wordsReference is words as first written (a builder and a map for every
// text): the allocation-light words must split every text the same way.
func wordsReference(text string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(w string) {
		if len(w) > maxWordBytes {
			w = w[:maxWordBytes]
			for len(w) > 0 && !utf8.ValidString(w) {
				w = w[:len(w)-1]
			}
		}
		if w != "" && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	var cur strings.Builder
	flush := func() {
		add(cur.String())
		cur.Reset()
	}
	for _, r := range text {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana):
			flush()
			add(string(unicode.ToLower(r)))
		case unicode.IsLetter(r) || unicode.IsDigit(r) || cur.Len() > 0 && unicode.Is(unicode.Mn, r):
			cur.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	return out
}

// A combining mark belongs to the word before it; alone, or on an emoji or
// a symbol (variation selectors are marks too), it makes no word: a query of
// emoji would otherwise find every message holding any emoji with a selector.
func TestWordsMarks(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		{"cafe\u0301 CAFE\u0301", []string{"cafe\u0301"}},
		{"🏳️‍🌈", nil},
		{"❤️ ☺️ ✔︎", nil},
		{"e+◌́", []string{"e"}},
		{"\u0301\u0308", nil},
		{"日\u0301本", []string{"日", "本"}},
		{"x\u0301y 👍🏽", []string{"x\u0301y"}},
	} {
		if got := words(c.text); !slices.Equal(got, c.want) {
			t.Errorf("words(%+q) = %+q, want %+q", c.text, got, c.want)
		}
	}
}

func TestWordsMatchesReference(t *testing.T) {
	texts := []string{
		"", " ", "hello", "Hello World hello", "lg 1700000000000000 42", "ship to ZANZIBAR, please!",
		"İstanbul KELVIN \u212a straße STRASSE", "日本語のテキスト カタカナ", "naïve cafe\u0301 CAFE\u0301",
		"bad \xff utf8 \xe2\x82 here", "\xffA\xfeB", "x" + strings.Repeat("é", 40) + " y", strings.Repeat("A", 70),
		strings.Repeat("ab ", 100) + strings.Repeat("w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 W1 ", 3),
		"\u2028line\u2029sep\ttab\r\nnl", "emoji 🙂 smile🙂SMILE", "123abc ABC123 abc123", "🏳️‍🌈 ❤️ \u0301a a\u0301 ◌́",
	}
	alphabet := []rune("aAbBzZ09 \t.,-éÉİıßẞΣσςДд日本カナ\u0301\u212a🙂\ufe0f")
	r := rand.New(rand.NewPCG(7, 9))
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		for n := r.IntN(120); n > 0; n-- {
			if r.IntN(40) == 0 {
				b.WriteByte(byte(0x80 + r.IntN(0x80))) // a stray byte: invalid UTF-8
				continue
			}
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	for _, text := range texts {
		if got, want := words(text), wordsReference(text); !slices.Equal(got, want) {
			t.Fatalf("words(%q)\n got %q\nwant %q", text, got, want)
		}
	}
}

// TestWordsAllocations: a lower-case text is split without copying its words.
func TestWordsAllocations(t *testing.T) {
	text := "lg 1700000000000000 42 hello there, how are you doing today"
	if n := testing.AllocsPerRun(100, func() { words(text) }); n > 6 {
		t.Fatalf("%v allocations for a lower-case text of 10 words", n)
	}
}
