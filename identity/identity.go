// Package identity verifies the identity a site vouches for: the site's
// server computes identity_hash = hex(HMAC-SHA256(secret, user id)) with the
// secret from chatd's configuration (RFC 2104 HMAC, SHA-256 from FIPS 180-4)
// and hands it to the widget with the user id. Only a verified id is ever
// trusted as identity; the name and e-mail that come with it are claims of
// that user, not bound by the hash. Snippets for the site's side are in
// docs/identity.md.
package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Limits on the inputs.
const (
	// MinSecret is the shortest accepted secret, in bytes: 32 bytes is the
	// HMAC-SHA256 output size, the key length RFC 2104 §3 recommends at least.
	MinSecret = 32
	// MaxUserID is the longest accepted user id, in bytes.
	MaxUserID = 256
	// HashLen is the length of identity_hash: 64 hex digits (32 bytes).
	HashLen = 2 * sha256.Size
)

// Errors of Verify, checked with errors.Is. Their messages are safe to show
// to the site owner (they never contain the secret or the expected hash).
var (
	// ErrNotConfigured: chatd has no identity secret, so no identity is verified.
	ErrNotConfigured = errors.New("identity verification is not configured on this server")
	// ErrBadUserID: the user id is empty, too long, not UTF-8 or has control characters.
	ErrBadUserID = errors.New("bad user id")
	// ErrMissingHash: a user id came without identity_hash.
	ErrMissingHash = errors.New("identity_hash is missing")
	// ErrMalformedHash: identity_hash is not 64 hex digits.
	ErrMalformedHash = errors.New("identity_hash must be 64 hex digits (HMAC-SHA256 of the user id)")
	// ErrMismatch: the hash is well-formed but not the HMAC of this user id
	// with this server's secret (forged, or computed with another secret).
	ErrMismatch = errors.New("identity_hash does not match the user id")
)

// Verifier checks identity hashes with one secret. The zero value has no
// secret and refuses everything with ErrNotConfigured. Safe for concurrent use.
type Verifier struct {
	secret []byte
}

// New returns a Verifier for secret, which must be at least MinSecret bytes.
// An empty secret returns a Verifier that refuses with ErrNotConfigured.
func New(secret string) (*Verifier, error) {
	if secret == "" {
		return &Verifier{}, nil
	}
	if len(secret) < MinSecret {
		return nil, fmt.Errorf("identity secret: %d bytes, want at least %d (e.g. openssl rand -hex 32)", len(secret), MinSecret)
	}
	return &Verifier{secret: []byte(secret)}, nil
}

// Enabled reports whether a secret is configured.
func (v *Verifier) Enabled() bool { return v != nil && len(v.secret) > 0 }

// Verify checks that hash is hex(HMAC-SHA256(secret, userID)). Hex digits of
// either case are accepted; the comparison is in constant time (hmac.Equal).
// It returns nil or one of the errors above, wrapped with no secret material.
func (v *Verifier) Verify(userID, hash string) error {
	if !v.Enabled() {
		return ErrNotConfigured
	}
	if err := CheckUserID(userID); err != nil {
		return err
	}
	if hash == "" {
		return ErrMissingHash
	}
	if len(hash) != HashLen {
		return fmt.Errorf("%w (got %d characters)", ErrMalformedHash, len(hash))
	}
	got, err := hex.DecodeString(hash)
	if err != nil {
		return ErrMalformedHash
	}
	if !hmac.Equal(got, v.mac(userID)) {
		return ErrMismatch
	}
	return nil
}

func (v *Verifier) mac(userID string) []byte {
	m := hmac.New(sha256.New, v.secret)
	m.Write([]byte(userID))
	return m.Sum(nil)
}

// Sign returns hex(HMAC-SHA256(secret, userID)), what a site's server
// computes; for Go sites and tests.
func Sign(secret, userID string) string {
	return hex.EncodeToString((&Verifier{secret: []byte(secret)}).mac(userID))
}

// CheckUserID accepts 1 to MaxUserID bytes of UTF-8 without control characters.
func CheckUserID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrBadUserID)
	case len(id) > MaxUserID:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrBadUserID, len(id), MaxUserID)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not valid UTF-8", ErrBadUserID)
	}
	for _, r := range id {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return fmt.Errorf("%w: control characters", ErrBadUserID)
		}
	}
	return nil
}
