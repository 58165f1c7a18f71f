package auth

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Two-factor login: an agent whose admins-file entry holds a TOTP secret
// (store.Admin.TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps, base32 as
// authenticator apps take it) must give the current code (Attempt.OTP) with
// the password. A code is accepted for the step before and after the
// current one (clock skew), once: a code already used to sign in is refused
// (replay), as RFC 6238 §5.2 asks.

// Errors of Login for two-factor agents; both are failed attempts.
var (
	// ErrOTPRequired means the password was right and the agent needs a code.
	ErrOTPRequired = errors.New("a two-factor code is required")
	// ErrBadOTP means the code was wrong, expired or already used.
	ErrBadOTP = errors.New("invalid two-factor code")
)

// totpPeriod is the TOTP time step, in seconds (RFC 6238 §4.1 default).
const totpPeriod = 30

// usedSteps remembers the last time step each agent signed in with.
type usedSteps struct {
	mu   sync.Mutex
	last map[string]int64
}

// NewTOTP draws a new secret for agent name and returns it with its
// otpauth:// URI (what authenticator apps scan).
func NewTOTP(issuer, name string) (secret, uri string, err error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: name, Period: totpPeriod, SecretSize: 20,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", err
	}
	return k.Secret(), k.URL(), nil
}

// checkOTP accepts code for agent name with secret at now, at most once per step.
func (a *Auth) checkOTP(name, secret, code string, now time.Time) error {
	code = strings.TrimSpace(code)
	if code == "" {
		return ErrOTPRequired
	}
	step := now.Unix() / totpPeriod
	for _, d := range []int64{0, -1, 1} {
		t := time.Unix((step+d)*totpPeriod, 0)
		want, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return ErrBadOTP
		}
		if want != code {
			continue
		}
		a.steps.mu.Lock()
		defer a.steps.mu.Unlock()
		if a.steps.last == nil {
			a.steps.last = map[string]int64{}
		}
		if step+d <= a.steps.last[name] {
			return ErrBadOTP // already used
		}
		a.steps.last[name] = step + d
		return nil
	}
	return ErrBadOTP
}
