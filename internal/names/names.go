// Package names is the one rule for names people see: visitor names, agent
// names and agent display names. A name is shown to other people, so it must
// show something, and it must not change how the text around it is shown.
//
// The rule, checked by Check:
//   - valid UTF-8, trimmed of white space, 1 to max characters (runes);
//   - at least one visible character: a letter, digit, punctuation or
//     symbol (Unicode general categories L, N, P, S) that is not a blank
//     look-alike (U+2800 BRAILLE PATTERN BLANK);
//   - no control characters (Cc: C0, DEL, C1), line or paragraph separators
//     (Zl, Zp), private-use (Co) or surrogate code points (Cs),
//     noncharacters (U+FDD0..U+FDEF, U+xxFFFE/F), and no format characters
//     (Cf, which holds every bidirectional control of Unicode UAX #9 §2:
//     U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) nor default
//     ignorable code points (Unicode §5.21 and DerivedCoreProperties:
//     U+200B, U+FEFF, U+00AD, U+034F, the Hangul fillers U+115F, U+1160,
//     U+3164, U+FFA0, ...), with three exceptions where they are part of
//     visible text: ZERO WIDTH JOINER and NON-JOINER between two visible
//     characters (emoji sequences, Persian and Indic spelling), variation
//     selectors right after a visible character (U+FE0F emoji style), and
//     tag characters completing an emoji flag sequence (after U+1F3F4);
//   - combining marks (Mn, Mc, Me) only after a visible character, at most
//     MaxMarks of them in a row (no mark alone, no "Zalgo" stacks);
//   - no code point unassigned in Go's Unicode tables (unicode.Version),
//     except in the emoji blocks U+1F000..U+1FAFF, where new emoji appear.
//
// The tables are Go's unicode package (Unicode 15.0 in Go 1.26), so no
// dependency is needed.
package names

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxMarks is the most combining marks accepted in a row after one visible
// character. Real scripts stay well below it (Vietnamese uses two, Tibetan
// stacks a few); Unicode's stream-safe format (UAX #15 §13) allows 30.
const MaxMarks = 8

// Errors of Check, tested with errors.Is.
var (
	ErrEmpty     = errors.New("name is empty")
	ErrTooLong   = errors.New("name is too long")
	ErrNotUTF8   = errors.New("name is not valid UTF-8")
	ErrForbidden = errors.New("name contains a control, format, bidirectional or invisible character")
	ErrNoVisible = errors.New("name has no visible character")
	ErrMisplaced = errors.New("name has a combining mark, joiner or selector without a visible character before it")
)

// Check validates a name that the caller has already trimmed with
// strings.TrimSpace. max > 0 bounds its length in characters (runes).
// The error wraps one of the Err values and names the offending code point.
func Check(name string, max int) error {
	if name == "" {
		return ErrEmpty
	}
	if !utf8.ValidString(name) {
		return ErrNotUTF8
	}
	if max > 0 && utf8.RuneCountInString(name) > max {
		return fmt.Errorf("%w: more than %d characters", ErrTooLong, max)
	}
	const (
		none    = iota // start, or after a space or blank
		visible        // after a visible character, or a mark/selector on one
		tag            // inside an emoji tag sequence
	)
	state, marks, seen := none, 0, false
	var prev rune
	for i, r := range name {
		bad := func(err error) error { return fmt.Errorf("%w: U+%04X at byte %d", err, r, i) }
		switch {
		case forbidden(r):
			return bad(ErrForbidden)
		case r == zwj || r == zwnj:
			next, size := utf8.DecodeRuneInString(name[i+utf8.RuneLen(r):])
			if state != visible || size == 0 || !isVisible(next) {
				return bad(ErrMisplaced)
			}
			state, marks = none, 0 // the next character must be visible: checked above
		case unicode.Is(unicode.Variation_Selector, r):
			if state != visible {
				return bad(ErrMisplaced)
			}
		case r >= 0xE0020 && r <= 0xE007F: // tag characters (Cf, default ignorable)
			if prev != blackFlag && state != tag {
				return bad(ErrMisplaced)
			}
			state = tag
			if r == 0xE007F { // CANCEL TAG ends the sequence
				state = visible
			}
		case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r):
			return bad(ErrForbidden)
		case unicode.In(r, unicode.Mn, unicode.Mc, unicode.Me):
			if state != visible {
				return bad(ErrMisplaced)
			}
			if marks++; marks > MaxMarks {
				return fmt.Errorf("%w: more than %d combining marks in a row at byte %d", ErrForbidden, MaxMarks, i)
			}
		case unicode.Is(unicode.Zs, r) || r == brailleBlank:
			state, marks = none, 0
		case isVisible(r):
			state, marks, seen = visible, 0, true
		default: // unassigned in Go's tables
			return bad(ErrForbidden)
		}
		prev = r
	}
	if state == tag {
		return fmt.Errorf("%w: unterminated emoji tag sequence", ErrMisplaced)
	}
	if !seen {
		return ErrNoVisible
	}
	return nil
}

// CheckTrimmed trims name of white space, checks it and returns the trimmed name.
func CheckTrimmed(name string, max int) (string, error) {
	name = strings.TrimSpace(name)
	return name, Check(name, max)
}

const (
	zwnj         = '\u200C'
	zwj          = '\u200D'
	blackFlag    = '\U0001F3F4'
	brailleBlank = '\u2800'
)

// forbidden reports code points no name may hold, wherever they are.
func forbidden(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs) ||
		(r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE
}

// Hidden reports a code point that shows nothing of its own and can change
// how the text around it is shown, split or compared: controls (Cc: C0, DEL
// and C1 such as U+0085), line and paragraph separators (Zl, Zp), format
// characters (Cf: every bidi control, U+200B, U+FEFF, U+00AD, U+2060...),
// other default-ignorable code points (U+034F, the Hangul fillers U+3164,
// U+115F, U+1160, U+FFA0...), private use (Co), surrogates (Cs) and
// noncharacters. Names take a few of them inside visible text (Check); an
// address, a URL or a key takes none (a browser's location.href never holds
// one raw: it percent-encodes them, WHATWG URL §4.4).
func Hidden(r rune) bool {
	return forbidden(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// HiddenIn returns the first Hidden code point of s and true, or 0 and false.
func HiddenIn(s string) (rune, bool) {
	for _, r := range s {
		if Hidden(r) {
			return r, true
		}
	}
	return 0, false
}

// HasVisible reports whether text shows anything: whether it holds at least
// one visible character as the name rule counts them (a letter, digit,
// punctuation or symbol that is not a blank look-alike such as U+2800 nor
// default ignorable such as U+3164), or a code point Go's Unicode tables do
// not know yet (text may be in a script newer than the tables; only names
// refuse those). Text of white space, controls, format and zero-width
// characters (U+200B, U+FEFF, U+2060, bidi controls), combining marks alone,
// private-use code points or noncharacters shows nothing. Bytes that are not
// UTF-8 show nothing. It is the "not blank" rule of every text people read
// and chatd stores as sent (messages, notes, canned replies, page URLs).
func HasVisible(text string) bool {
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if r == utf8.RuneError && size == 1 {
			continue
		}
		if isVisible(r) || (!assigned(r) && !forbidden(r) && !unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)) {
			return true
		}
	}
	return false
}

// assigned reports a code point in one of Go's Unicode category tables
// (unicode.C also holds the unassigned Cn: the C categories are named).
func assigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z,
		unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isVisible reports a character that shows a glyph of its own.
func isVisible(r rune) bool {
	if r == brailleBlank || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) {
		return false
	}
	if unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) {
		return true
	}
	// Unassigned in Go's tables but in the emoji blocks: a newer emoji.
	return r >= 0x1F000 && r <= 0x1FAFF && !unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.M, unicode.Z)
}
