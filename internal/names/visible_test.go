package names

import "testing"

// TestHasVisible: text that shows nothing (white space, controls, format and
// zero-width characters, fillers, lone marks, private use, noncharacters) is
// told apart from text with something to read, whatever invisible characters
// surround it.
func TestHasVisible(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"", false},
		{" \t\r\n", false},
		{"\u00a0\u2003\u3000\u205f", false},
		{"\u2028\u2029", false},
		{"\x00", false},
		{"\x00\x01\x7f\u0085\u009b", false},
		{"\u200b", false},
		{"\ufeff", false},
		{"\u2060\u2061\u2064", false},
		{"\u00ad", false},
		{"\u034f", false},
		{"\u180e", false},
		{"\u200c\u200d", false},
		{"\u200e\u200f\u202a\u202e\u2066\u2069\u061c", false},
		{"\u2800\u2800", false},
		{"\u3164", false},
		{"\u115f\u1160\uffa0", false},
		{"\u0301\u0301", false},
		{"\ufe0f", false},
		{"\U000e0020\U000e007f", false},
		{"\U000e0080", false}, // unassigned but default ignorable
		{"\u2065", false},     // unassigned but default ignorable
		{"\ue000\U000f0000", false},
		{"\ufdd0\uffff\ufffe\U0010ffff", false},
		{"\xff\xfe", false},
		{"\ufffc", true}, // OBJECT REPLACEMENT CHARACTER is a symbol
		{"a", true},
		{"\u200bhi\u200b", true},
		{"a\x00b", true},
		{"\x00.", true},
		{"❤️", true},
		{"👨‍👩‍👧", true},
		{"\u2800x", true},
		{"e\u0301", true},
		{"日本", true},
		{"\u0627\u200f", true},
		{"\U0001FAE9", true}, // an emoji newer than some tables
		{"\u0378", true},     // unassigned in the tables: maybe a newer script, shown
		{"\U0003134b", true}, // CJK: a letter, or newer than the tables
	} {
		if got := HasVisible(tc.text); got != tc.want {
			t.Errorf("HasVisible(%+q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
