package mail

import (
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/names"
)

// MaxAddress is the longest accepted address, in bytes (RFC 5321 §4.5.3.1.3:
// a path is at most 256 octets including its angle brackets).
const MaxAddress = 254

// ErrInvalidAddress is wrapped by every refusal of ValidAddress.
var ErrInvalidAddress = errors.New("invalid e-mail address")

// ValidAddress checks an address a visitor typed (offline capture, "email me
// the transcript") and returns it exactly as given: the server never rewrites
// what a user sent (no trimming, no case folding; compare addresses with
// SameAddress or key them by AddressKey). It wants a bare local@domain: no
// display name, no comments, no quoted or bracketed parts, no spaces (any
// Unicode White_Space, around it too) and no control, format or other
// invisible characters (names.Hidden), at most MaxAddress bytes, a domain of
// dot-separated labels with at least one dot (compared case-insensitively:
// "Example.COM" is a valid domain, kept as written). This is stricter than
// RFC 5322 on purpose: an address chatd mails unasked must be plain to read
// in the portal and safe in a header.
func ValidAddress(s string) (string, error) {
	switch {
	case strings.TrimSpace(s) == "":
		return "", fmt.Errorf("%w: empty", ErrInvalidAddress)
	case strings.TrimSpace(s) != s:
		return "", fmt.Errorf("%w: white space around the address", ErrInvalidAddress)
	case len(s) > MaxAddress:
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidAddress, len(s), MaxAddress)
	case !utf8.ValidString(s):
		return "", fmt.Errorf("%w: not valid UTF-8", ErrInvalidAddress)
	case strings.ContainsAny(s, " \t\r\n\"()<>[],;:\\"):
		return "", fmt.Errorf("%w: want a plain address like ann@example.com", ErrInvalidAddress)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || names.Hidden(r) {
			return "", fmt.Errorf("%w: a space, control, format or invisible character (U+%04X)", ErrInvalidAddress, r)
		}
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.Contains(domain, "@") {
		return "", fmt.Errorf("%w: want one @ between a name and a domain", ErrInvalidAddress)
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", fmt.Errorf("%w: misplaced dot before the @", ErrInvalidAddress)
	}
	labels := strings.Split(strings.ToLower(domain), ".") // checked folded, kept as written
	if len(labels) < 2 {
		return "", fmt.Errorf("%w: the domain needs a dot (example.com)", ErrInvalidAddress)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("%w: bad domain %q", ErrInvalidAddress, domain)
		}
		for _, r := range l {
			if r < 0x80 && !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
				return "", fmt.Errorf("%w: bad domain %q", ErrInvalidAddress, domain)
			}
		}
	}
	if _, err := netmail.ParseAddress(s); err != nil { // and what the mail library will parse
		return "", fmt.Errorf("%w: %v", ErrInvalidAddress, err)
	}
	return s, nil
}

// AddressKey is the form of a valid address under which chatd compares and
// keys addresses (the per-address gaps between reply mails and transcripts):
// the whole address in lower case. Domains are case-insensitive (RFC 5321
// §2.4); local parts may in theory not be, but every mail provider treats
// them so, and folding them too errs on the side of fewer mails to one inbox.
func AddressKey(addr string) string { return strings.ToLower(addr) }

// SameAddress reports whether a and b name the same mailbox (AddressKey).
func SameAddress(a, b string) bool { return AddressKey(a) == AddressKey(b) }

// ParseAddress reads a sender such as "chatd <chat@example.com>" or a bare
// address (RFC 5322 §3.4).
func ParseAddress(s string) (*netmail.Address, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty address")
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", s, err)
	}
	return a, nil
}
