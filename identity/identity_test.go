package identity

import (
	"errors"
	"strings"
	"testing"
)

// The example of docs/identity.md; every snippet there prints this hash.
const (
	docSecret = "8c1f7e0b3a5d4c2e9f6a1b0d7e3c5a8f2b4d6e9c1a3f5b7d"
	docUser   = "user-42"
	docHash   = "f18ec53c512331a1820685831a28b87f34b88809c70d7a6c873ea7d7572b746c"
)

func TestSignMatchesTheDocumentedExample(t *testing.T) {
	if got := Sign(docSecret, docUser); got != docHash {
		t.Fatalf("Sign = %s, want %s (docs/identity.md)", got, docHash)
	}
}

func TestVerify(t *testing.T) {
	v, err := New(docSecret)
	if err != nil {
		t.Fatal(err)
	}
	other := Sign(strings.Repeat("x", 40), docUser)
	flip := []byte(docHash)
	flip[63] ^= 1 // 'c' -> 'b': still hex, one bit off
	for _, tc := range []struct {
		name, id, hash string
		want           error
	}{
		{"valid", docUser, docHash, nil},
		{"valid upper-case hex", docUser, strings.ToUpper(docHash), nil},
		{"valid unicode id", "usér-✓", Sign(docSecret, "usér-✓"), nil},
		{"hash of another id", "user-43", docHash, ErrMismatch},
		{"hash made with another secret", docUser, other, ErrMismatch},
		{"one bit off", docUser, string(flip), ErrMismatch},
		{"id with a trailing space", docUser + " ", docHash, ErrMismatch},
		{"missing hash", docUser, "", ErrMissingHash},
		{"short hash", docUser, docHash[:63], ErrMalformedHash},
		{"long hash", docUser, docHash + "0", ErrMalformedHash},
		{"not hex", docUser, strings.Repeat("zz", 32), ErrMalformedHash},
		{"base64 of the mac", docUser, "8Y7FPFEjMaGCBoWDGiuLfzS4iAnHDX1tbIc+p9dXK3Rs", ErrMalformedHash},
		{"empty id", "", docHash, ErrBadUserID},
		{"id too long", strings.Repeat("a", MaxUserID+1), Sign(docSecret, strings.Repeat("a", MaxUserID+1)), ErrBadUserID},
		{"id with newline", "user\n42", Sign(docSecret, "user\n42"), ErrBadUserID},
		{"id with NUL", "user\x0042", Sign(docSecret, "user\x0042"), ErrBadUserID},
		{"id with C1 control", "user\u008542", Sign(docSecret, "user\u008542"), ErrBadUserID},
		{"id not UTF-8", "user\xff", Sign(docSecret, "user\xff"), ErrBadUserID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Verify(tc.id, tc.hash)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify(%q, %q) = %v, want %v", tc.id, tc.hash, err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), docSecret) || strings.Contains(err.Error(), docHash[:16])) {
				t.Fatalf("error leaks secret material: %v", err)
			}
		})
	}
}

func TestNotConfiguredRefusesEverything(t *testing.T) {
	v, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	for _, verifier := range []*Verifier{v, {}, nil} {
		if verifier.Enabled() {
			t.Fatal("Enabled without a secret")
		}
		// Even the hash of the empty secret is refused: no secret means no identity.
		if err := verifier.Verify(docUser, Sign("", docUser)); !errors.Is(err, ErrNotConfigured) {
			t.Fatalf("Verify without secret = %v, want ErrNotConfigured", err)
		}
	}
}

func TestNewRefusesShortSecrets(t *testing.T) {
	for _, s := range []string{"Q7", "password", strings.Repeat("k", MinSecret-1)} {
		if _, err := New(s); err == nil {
			t.Errorf("New(%d bytes) accepted", len(s))
		} else if strings.Contains(err.Error(), s) {
			t.Errorf("error quotes the secret: %v", err)
		}
	}
	if _, err := New(strings.Repeat("k", MinSecret)); err != nil {
		t.Fatal(err)
	}
}

func FuzzVerifyNeverAcceptsAForgery(f *testing.F) {
	f.Add(docUser, docHash)
	f.Add("", "")
	f.Add("user-43", strings.ToUpper(docHash))
	v, _ := New(docSecret)
	f.Fuzz(func(t *testing.T, id, hash string) {
		err := v.Verify(id, hash)
		if err == nil && Sign(docSecret, id) != strings.ToLower(hash) {
			t.Fatalf("accepted %q for %q", hash, id)
		}
	})
}
