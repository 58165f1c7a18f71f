package store

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Roles of an admin (see Admin.Role).
const (
	// RoleAdmin may use the management endpoints (GET /api/backup) as well as chat.
	RoleAdmin = "admin"
	// RoleAgent answers visitors and nothing else.
	RoleAgent = "agent"
)

// DefaultDisplay is what visitors see as the sender of a reply from an agent
// without a display name: never the login, which is a credential's half.
const DefaultDisplay = "Support"

// MaxDisplayLen is the longest display name, in characters.
const MaxDisplayLen = 64

// EffectiveRole is a.Role, with "" (an entry written before roles existed)
// read as RoleAdmin so that no one loses access by upgrading.
func (a Admin) EffectiveRole() string {
	if a.Role == "" {
		return RoleAdmin
	}
	return a.Role
}

// DisplayName is the name visitors see for a: its display name or DefaultDisplay.
func (a Admin) DisplayName() string {
	if a.Display == "" {
		return DefaultDisplay
	}
	return a.Display
}

// ValidRole reports whether r can be written in the admins file.
func ValidRole(r string) error {
	if r != RoleAdmin && r != RoleAgent {
		return fmt.Errorf("role %q: want %q or %q", r, RoleAdmin, RoleAgent)
	}
	return nil
}

// Public is m as a visitor may see it: an agent's reply carries the agent's
// display name in Admin (and Display), never the login. Every message sent
// to a visitor socket goes through it.
func (m Message) Public() Message {
	if m.From != FromAdmin {
		m.Admin, m.Display = "", ""
		return m
	}
	if m.Display == "" { // stored before display names existed
		m.Display = DefaultDisplay
	}
	m.Admin = m.Display
	return m
}

// PublicMessages applies Public to each of ms, in a new slice.
func PublicMessages(ms []Message) []Message {
	if ms == nil {
		return nil
	}
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = m.Public()
	}
	return out
}

// Errors of CheckName.
var (
	errNameEmpty     = errors.New("is empty")
	errNameInvisible = errors.New("has no visible character")
)

// CheckName reports why s cannot be shown to people as a name: it must be
// valid UTF-8 of 1 to max characters, hold at least one visible character
// (a letter, digit, punctuation or symbol other than a filler such as
// U+3164), and no control or format character: Unicode categories Cc, Cf
// (bidi overrides like U+202E, zero-width spaces, U+FEFF), Co, Cs, Cn and the
// line and paragraph separators, which hide or reorder the text around them
// (Unicode TR #9, TR #36 §2.3).
func CheckName(s string, max int) error {
	switch {
	case s == "":
		return errNameEmpty
	case !utf8.ValidString(s):
		return errors.New("is not valid UTF-8")
	case max > 0 && utf8.RuneCountInString(s) > max:
		return fmt.Errorf("is longer than %d characters", max)
	}
	visible := false
	for _, r := range s {
		if !unicode.IsGraphic(r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return fmt.Errorf("has the invisible or control character U+%04X", r)
		}
		if fillers[r] {
			continue
		}
		if unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) {
			visible = true
		}
	}
	if !visible {
		return errNameInvisible
	}
	return nil
}

// fillers are letters that render as nothing (Hangul fillers, the braille
// blank, Mongolian vowel separator).
var fillers = map[rune]bool{0x115F: true, 0x1160: true, 0x3164: true, 0xFFA0: true, 0x2800: true, 0x180E: true}

// displayOf is the display name of admin login name as of now.
func (s *Store) displayOf(name string) string {
	a, err := s.admins.Get(name)
	if err != nil {
		return DefaultDisplay
	}
	return a.DisplayName()
}
