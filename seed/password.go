package seed

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxPassword is the longest password chatd hashes, in bytes of UTF-8: bcrypt
// keys its cipher with at most 72 bytes, and golang.org/x/crypto/bcrypt's
// GenerateFromPassword refuses longer ones (ErrPasswordTooLong) rather than
// ignore the rest.
const MaxPassword = 72

// ErrBadPassword wraps every refusal of a new password; the message says why.
var ErrBadPassword = errors.New("invalid password")

// ValidPassword checks a new password, whoever sets it (chatd admin set,
// PUT /api/agents): 1 to MaxPassword bytes of valid UTF-8, not only white space, and no
// control character (a line break, a tab, NUL, DEL, U+0080-U+009F): it must be
// something an agent can type into the portal's sign-in field, and the admin
// command reads it as one line. Nothing is trimmed: the password is hashed as
// given. The API adds a minimum length of its own.
func ValidPassword(pw string) error {
	switch {
	case pw == "":
		return fmt.Errorf("%w: empty", ErrBadPassword)
	case len(pw) > MaxPassword:
		return fmt.Errorf("%w: %d bytes, at most %d (bcrypt's limit; a character outside ASCII takes 2 to 4 bytes)", ErrBadPassword, len(pw), MaxPassword)
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w: not valid UTF-8 (a terminal in another encoding? the portal sends UTF-8, so it could never match)", ErrBadPassword)
	case strings.TrimSpace(pw) == "":
		return fmt.Errorf("%w: only white space", ErrBadPassword)
	}
	if i := strings.IndexFunc(pw, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(pw[i:])
		return fmt.Errorf("%w: control character %U at byte %d (a line break, tab or other character that cannot be typed into the sign-in field)", ErrBadPassword, r, i)
	}
	return nil
}
