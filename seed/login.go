package seed

import (
	"errors"
	"fmt"
	"strings"

	"github.com/chatd/chatd/store"
)

// The login rule. A login is what an agent types to sign in and what other
// agents see in assignments, mentions and logs, so two logins must never
// look alike: a NEW login is 1 to MaxName characters of [a-z0-9._-],
// starting with a letter or digit, and no other login may equal it ignoring
// case. That leaves out upper case (Alice next to alice), every non-ASCII
// letter (Cyrillic а next to Latin a, and every other homoglyph of Unicode
// TR #39), white space, slashes (paths of the agents API) and markup. The
// free-form name people read is the display name (ValidDisplay).
//
// Entries of an admins file written before this rule (ValidName: any name
// that package names accepts) still load, so nobody is locked out; Legacy
// names them for a warning. They can be changed and removed, but no new
// login is created outside the rule.

// ErrBadLogin wraps every refusal of a new login.
var ErrBadLogin = errors.New("invalid login")

// ValidLogin reports whether name can be a new login.
func ValidLogin(name string) error {
	if name == "" || len(name) > MaxName {
		return fmt.Errorf("%w %+q: 1 to %d characters", ErrBadLogin, name, MaxName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return fmt.Errorf("%w %+q: use lower-case letters a-z, digits and . _ - (starting with a letter or digit); put the name people read in the display name", ErrBadLogin, name)
		}
	}
	return nil
}

// Legacy lists the logins of admins outside the login rule, and those equal
// to an earlier one ignoring case: they work, but a warning should say so.
func Legacy(admins []store.Admin) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range admins {
		folded := strings.ToLower(a.Name)
		if ValidLogin(a.Name) != nil || seen[folded] {
			out = append(out, a.Name)
		}
		seen[folded] = true
	}
	return out
}

// newLogin checks name as a login to add to admins: the rule, and unique
// ignoring case.
func newLogin(admins []store.Admin, name string) error {
	if err := ValidLogin(name); err != nil {
		return err
	}
	for _, a := range admins {
		if strings.EqualFold(a.Name, name) {
			return fmt.Errorf("%w %q: the login %q exists (logins are unique ignoring case)", ErrBadLogin, name, a.Name)
		}
	}
	return nil
}
