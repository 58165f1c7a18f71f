package mail

import (
	"errors"
	"testing"
)

// TestValidAddressRefusesHiddenCharacters: the address rule's "no spaces or
// control characters" holds for all of Unicode, not only ASCII: C1 controls,
// Unicode spaces and separators, format (bidi, zero-width) and other
// invisible characters anywhere in the address are refused. An address
// holding one is no mailbox anyone typed, and shows in the portal as
// another address (U+202E reverses what follows).
func TestValidAddressRefusesHiddenCharacters(t *testing.T) {
	for _, in := range []string{
		"ann\u0085@example.com", "ann\u009b@example.com", "ann@exam\u0080ple.com",
		"ann\u00a0lee@example.com", "ann@example\u3000.com", "ann\u2003@example.com",
		"ann\u2028@example.com", "ann@example.com\u2029x",
		"ann\u200b@example.com", "\u200bann@example.com", "ann@exa\u200bmple.com",
		"ann\ufeff@example.com", "ann@example.com\ufeffx", "ann\u2060@example.com",
		"ann\u00ad@example.com", "ann\u200e@example.com", "moc.elpmaxe@\u202enna@example.com",
		"ann\u2066@example.com", "ann@exam\u061cple.com", "ann\u180e@example.com",
		"ann\u034f@example.com", "ann\u3164@example.com", "ann@exam\u115fple.com",
		"ann\ue000@example.com", "ann\ufdd0@example.com", "ann\uffff@example.com",
		"ann\U000e0041@example.com",
	} {
		if got, err := ValidAddress(in); err == nil || !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("ValidAddress(%+q) = %q, %v; want ErrInvalidAddress", in, got, err)
		}
	}
	// Visible non-ASCII stays allowed (RFC 6531), emoji with its selector too.
	for _, in := range []string{"jörg@bücher.example", "用户@例子.广告", "δοκιμή@παράδειγμα.δοκιμή", "i\u2764\ufe0fu@example.com"} {
		if got, err := ValidAddress(in); err != nil || got != in {
			t.Errorf("ValidAddress(%+q) = %q, %v; want it as sent", in, got, err)
		}
	}
}
