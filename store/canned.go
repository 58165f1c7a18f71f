package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chatd/chatd/db"
)

// Canned replies are snippets the agents share, inserted in the portal's
// reply box by typing /shortcut. Placeholders ({{name}}, {{email}},
// {{agent}}) are kept as written: the portal fills them in before sending.
// Collection "canned", id = the shortcut.

// Canned is one canned reply.
type Canned struct {
	Shortcut string    `json:"shortcut"`
	Text     string    `json:"text"`
	Updated  time.Time `json:"updated"`
	By       string    `json:"by"` // login of the agent who last changed it
}

// Limits of canned replies.
const (
	MaxShortcut = 32  // characters of a shortcut
	MaxCanned   = 500 // canned replies kept
)

// canned holds the collection and the lock of its writes.
type canned struct {
	mu   sync.Mutex
	docs *db.Collection[Canned]
}

// CheckShortcut reports why sc cannot be a shortcut: 1 to MaxShortcut
// characters, each a lower-case letter, another letter without case (CJK...),
// a digit, '-' or '_'.
func CheckShortcut(sc string) error {
	n := utf8.RuneCountInString(sc)
	if n == 0 || n > MaxShortcut || !utf8.ValidString(sc) {
		return fmt.Errorf("%w: shortcut must be 1 to %d characters", ErrInvalid, MaxShortcut)
	}
	for _, r := range sc {
		ok := r == '-' || r == '_' || unicode.IsDigit(r) || unicode.IsLower(r) || (unicode.IsLetter(r) && !unicode.IsUpper(r) && !unicode.IsTitle(r))
		if !ok {
			return fmt.Errorf("%w: shortcut may hold only lower-case letters, digits, - and _ (not %q)", ErrInvalid, r)
		}
	}
	return nil
}

// CannedReplies lists the canned replies by shortcut.
func (s *Store) CannedReplies() ([]Canned, error) {
	out, err := s.canned.docs.Find(db.Query{})
	if err != nil {
		return nil, fmt.Errorf("read canned replies: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Shortcut < out[j].Shortcut })
	return out, nil
}

// SetCanned creates or replaces the canned reply sc, as agent by. The text
// follows the message rules (non-blank UTF-8 within the text limit).
// It returns the reply as stored; changed is false when it already held
// that text (then the reply keeps its updated and by).
func (s *Store) SetCanned(ctx context.Context, sc, text, by string) (saved Canned, changed bool, err error) {
	if err := CheckShortcut(sc); err != nil {
		return Canned{}, false, err
	}
	if err := validText(text, s.Limits().Text); err != nil {
		return Canned{}, false, err
	}
	s.canned.mu.Lock()
	defer s.canned.mu.Unlock()
	cur, err := s.canned.docs.Get(sc)
	exists := err == nil
	switch {
	case exists && cur.Text == text:
		return cur, false, nil
	case err != nil && !errors.Is(err, db.ErrNotFound):
		return Canned{}, false, fmt.Errorf("read canned reply: %w", err)
	case !exists && s.canned.docs.Count() >= MaxCanned:
		return Canned{}, false, fmt.Errorf("%w: at most %d canned replies", ErrInvalid, MaxCanned)
	}
	doc := Canned{Shortcut: sc, Text: text, Updated: s.now(), By: by}
	if exists {
		err = s.canned.docs.Update(ctx, doc)
	} else {
		_, err = s.canned.docs.Insert(ctx, doc)
	}
	if err != nil {
		return Canned{}, false, fmt.Errorf("store canned reply: %w", err)
	}
	return doc, true, nil
}

// DeleteCanned removes the canned reply sc; ErrNotFound if there is none.
func (s *Store) DeleteCanned(ctx context.Context, sc string) error {
	s.canned.mu.Lock()
	defer s.canned.mu.Unlock()
	if err := s.canned.docs.Remove(ctx, sc); err != nil {
		return mapErr(err)
	}
	return nil
}
