package names

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		want error
	}{
		{"Ann", nil},
		{"Zoë Ångström", nil},
		{"Zoe\u0308", nil}, // e + combining diaeresis
		{"José María", nil},
		{"李小龍", nil},
		{"محمد", nil},
		{"שלום", nil},
		{"नमस्ते", nil},        // Devanagari with virama and vowel signs
		{"می\u200cخواهم", nil}, // Persian with ZWNJ between letters
		{"Ann ❤️", nil},        // heart + VS16
		{"👨\u200d👩\u200d👧", nil},
		{"👍🏽", nil}, // skin tone modifier
		{"🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", nil}, // flag of Scotland
		{"Tiếng Việt", nil},
		{"a.b", nil},
		{"1", nil},
		{"-", nil},
		{"\U0001FAE9 new emoji", nil}, // unassigned in Unicode 15, an emoji of Unicode 16

		{"", ErrEmpty},
		{"\u202Eevil.exe", ErrForbidden},
		{"evil\u202E", ErrForbidden},
		{"a\u2066b\u2069", ErrForbidden},
		{"\u200Fa", ErrForbidden},
		{"a\u061Cb", ErrForbidden},
		{"\u200B", ErrForbidden},
		{"a\u200Bb", ErrForbidden},
		{"\uFEFF", ErrForbidden},
		{"Ann\uFEFF", ErrForbidden},
		{"\u3164", ErrForbidden},
		{"\u3164\u3164", ErrForbidden},
		{"\u115F", ErrForbidden},
		{"\u1160", ErrForbidden},
		{"\uFFA0", ErrForbidden},
		{"\u00AD", ErrForbidden},
		{"a\u00ADb", ErrForbidden},
		{"\u034F", ErrForbidden},
		{"\u2060", ErrForbidden},
		{"\u2061x", ErrForbidden},
		{"\u180E", ErrForbidden},
		{"\u17B4", ErrForbidden},
		{"\U0001D173", ErrForbidden},
		{"\U000E0001", ErrForbidden},
		{"\uFFF9", ErrForbidden},
		{"a\u2028b", ErrForbidden},
		{"a\u2029b", ErrForbidden},
		{"a\x00b", ErrForbidden},
		{"a\tb", ErrForbidden},
		{"a\u0085b", ErrForbidden},
		{"\uE000", ErrForbidden},
		{"\uFDD0", ErrForbidden},
		{"a\uFFFF", ErrForbidden},
		{"\u0378", ErrForbidden}, // unassigned
		{"\u2800", ErrNoVisible},
		{"\u2800\u2800", ErrNoVisible},
		{"\u00A0", ErrNoVisible}, // callers trim; untrimmed it is still nothing visible
		{"\u3000", ErrNoVisible},
		{"\u0301", ErrMisplaced},
		{"\u0301\u0301", ErrMisplaced},
		{"a \u0301", ErrMisplaced},
		{"\u20DD", ErrMisplaced}, // enclosing mark alone
		{"\uFE0F", ErrMisplaced},
		{"\uFE0F\uFE0F", ErrMisplaced},
		{"\U000E0100", ErrMisplaced},
		{"\u200D", ErrMisplaced},
		{"\u200C", ErrMisplaced},
		{"a\u200D", ErrMisplaced},
		{"\u200Da", ErrMisplaced},
		{"a\u200D\u200Db", ErrMisplaced},
		{"a\u200D b", ErrMisplaced},
		{"\U000E0067\U000E007F", ErrMisplaced},
		{"🏴\U000E0067", ErrMisplaced},
		{"a" + strings.Repeat("\u0301", MaxMarks+1), ErrForbidden},
		{"k\xff", ErrNotUTF8},
	} {
		err := Check(tc.name, 64)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Check(%+q) = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := Check(strings.Repeat("é", 64), 64); err != nil {
		t.Errorf("64 characters refused: %v", err)
	}
	if err := Check(strings.Repeat("é", 65), 64); !errors.Is(err, ErrTooLong) {
		t.Errorf("65 characters: %v", err)
	}
	if n, err := CheckTrimmed("  Ann \n", 0); n != "Ann" || err != nil {
		t.Errorf("CheckTrimmed = %q, %v", n, err)
	}
}

// FuzzCheck: an accepted name has a visible character and nothing forbidden.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"Ann", "\u202Eevil", "👨\u200d👩", "a\u0301", "\u3164"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Check(s, 0) != nil {
			return
		}
		visible := false
		for _, r := range s {
			if forbidden(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) ||
				r == 0x200B || r == 0xFEFF || r == 0x3164 || r == 0x200E || r == 0x200F {
				t.Fatalf("accepted %+q with U+%04X", s, r)
			}
			visible = visible || isVisible(r)
		}
		if !visible {
			t.Fatalf("accepted %+q without a visible character", s)
		}
	})
}
