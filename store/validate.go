package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Validate checks m against the model's rules (also used by other Store
// implementations, so every backend refuses the same messages): From is
// FromClient or FromAdmin, an admin message names its admin, the cid is 1 to
// MaxCIDLen bytes, the text is valid UTF-8 and not only white space.
// The error wraps ErrInvalid.
func (m NewMessage) Validate() error {
	switch {
	case m.From != FromClient && m.From != FromAdmin:
		return fmt.Errorf("%w: from must be client or admin", ErrInvalid)
	case m.From == FromAdmin && m.Admin == "":
		return fmt.Errorf("%w: admin name missing", ErrInvalid)
	case m.CID == "" || len(m.CID) > MaxCIDLen:
		return fmt.Errorf("%w: cid must be 1 to %d bytes", ErrInvalid, MaxCIDLen)
	case strings.TrimSpace(m.Text) == "" || !utf8.ValidString(m.Text):
		return fmt.Errorf("%w: text must be non-empty UTF-8", ErrInvalid)
	}
	return nil
}
