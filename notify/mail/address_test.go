package mail

import (
	"errors"
	"strings"
	"testing"
)

func TestValidAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ann@example.com", "ann@example.com"},
		{"Ann.Lee+chat@Example.COM", "Ann.Lee+chat@Example.COM"}, // as given: never rewritten
		{"o'brien@mail.example.co.uk", "o'brien@mail.example.co.uk"},
		{"jörg@bücher.example", "jörg@bücher.example"},
		{"x@xn--bcher-kva.example", "x@xn--bcher-kva.example"},
	} {
		got, err := ValidAddress(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ValidAddress(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "   ", "  Ann.Lee+chat@Example.COM ", " ann@example.com", "ann@example.com\n", "\tann@example.com", "ann@example.com\u00a0", "ann", "ann@", "@example.com", "ann@example", "ann@localhost", "ann@@example.com", "a@b@example.com",
		"Ann <ann@example.com>", "<ann@example.com>", `"ann"@example.com`, "ann (me)@example.com", "ann@[127.0.0.1]",
		"ann @example.com", "ann@exa mple.com", "ann@example.com\r\nBcc: x@example.com", "ann@example.com\nx", "ann\x00@example.com",
		"ann@example.com,bob@example.com", "ann@example.com;bob@example.com", ".ann@example.com", "ann.@example.com", "a..n@example.com",
		"ann@-example.com", "ann@example-.com", "ann@example..com", "ann@.example.com", "ann@example.com.", "ann@exa_mple.com",
		"ann@example.com\xff", strings.Repeat("a", 250) + "@example.com", "ann@" + strings.Repeat("a", 64) + ".com",
	} {
		if got, err := ValidAddress(in); err == nil || !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("ValidAddress(%q) = %q, %v; want ErrInvalidAddress", in, got, err)
		}
	}
}

func FuzzValidAddressIsHeaderSafe(f *testing.F) {
	for _, s := range []string{"ann@example.com", "a\r\nb@example.com", "\"x\"@example.com", "ann@exämple.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ValidAddress(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(a, " \t\r\n<>\",;()\\") || strings.Count(a, "@") != 1 || len(a) > MaxAddress {
			t.Fatalf("accepted %q as %q", s, a)
		}
		if _, err := ParseAddress(a); err != nil {
			t.Fatalf("accepted %q, which net/mail refuses: %v", a, err)
		}
	})
}
