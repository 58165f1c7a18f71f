package store

import (
	"fmt"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/names"
)

// Limits are the model's limits on what a sender may store. They are the one
// source of these numbers: the hub reads them from the store to answer early
// (and to tell clients max_text), cmd/chatd sets them from --max-name and
// --max-text, and the store enforces them on every write whatever the caller
// checked before.
type Limits struct {
	Name int // characters (runes) of a visitor name; DefaultMaxName
	Text int // bytes (UTF-8) of a message text; DefaultMaxText
}

// Defaults and bounds of Limits. The ceilings keep a record and a frame
// carrying it within sizes the rest of chatd is built for (names are shown
// in lists; a text travels in one WebSocket frame).
const (
	DefaultMaxName = 64
	DefaultMaxText = 4096
	CeilMaxName    = 256
	CeilMaxText    = 1 << 20
	// MaxCIDLen is the longest cid, in bytes; it is part of the protocol, not configurable.
	MaxCIDLen = 64
)

// DefaultLimits are the limits of a store until SetLimits.
func DefaultLimits() Limits { return Limits{Name: DefaultMaxName, Text: DefaultMaxText} }

// Check reports a limit outside its bounds (1..Ceil).
func (l Limits) Check() error {
	if l.Name < 1 || l.Name > CeilMaxName {
		return fmt.Errorf("name limit %d: must be between 1 and %d characters", l.Name, CeilMaxName)
	}
	if l.Text < 1 || l.Text > CeilMaxText {
		return fmt.Errorf("text limit %d: must be between 1 and %d bytes", l.Text, CeilMaxText)
	}
	return nil
}

// SetLimits replaces the store's limits; call it before serving. Values
// outside the bounds are refused and nothing changes.
func (s *Store) SetLimits(l Limits) error {
	if err := l.Check(); err != nil {
		return err
	}
	s.lim.Store(&l)
	return nil
}

// Limits returns the limits the store enforces.
func (s *Store) Limits() Limits { return *s.lim.Load() }

// checkName trims a visitor name and checks it against the name rule of
// package names and the name limit.
func (s *Store) checkName(name string) (string, error) {
	name, err := names.CheckTrimmed(name, s.Limits().Name)
	if err != nil {
		return "", fmt.Errorf("%w: visitor name: %v", ErrInvalid, err)
	}
	return name, nil
}

// validText checks text against the text rule and a limit of max bytes.
func validText(text string, max int) error {
	switch {
	case !utf8.ValidString(text) || !names.HasVisible(text):
		return fmt.Errorf("%w: text must be UTF-8 with a visible character", ErrInvalid)
	case len(text) > max:
		return fmt.Errorf("%w: text longer than %d bytes", ErrInvalid, max)
	}
	return nil
}
