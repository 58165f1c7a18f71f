package store

import (
	"fmt"
	"unicode/utf8"
)

// Validate checks m against the model's rules with limits l, so every Store
// implementation refuses the same messages: From is FromClient or FromAdmin,
// an admin message names its admin, only agents write notes, the cid is 1 to MaxCIDLen bytes of
// UTF-8, the text is valid UTF-8, shows something (names.HasVisible) and at most l.Text
// bytes. The error wraps ErrInvalid.
func (m NewMessage) Validate(l Limits) error {
	switch {
	case m.From != FromClient && m.From != FromAdmin:
		return fmt.Errorf("%w: from must be client or admin", ErrInvalid)
	case m.From == FromAdmin && m.Admin == "":
		return fmt.Errorf("%w: admin name missing", ErrInvalid)
	case m.Note && m.From != FromAdmin:
		return fmt.Errorf("%w: only agents write notes", ErrInvalid)
	case m.CID == "" || len(m.CID) > MaxCIDLen:
		return fmt.Errorf("%w: cid must be 1 to %d bytes", ErrInvalid, MaxCIDLen)
	case !utf8.ValidString(m.CID):
		return fmt.Errorf("%w: cid must be UTF-8", ErrInvalid)
	}
	return validText(m.Text, l.Text)
}
