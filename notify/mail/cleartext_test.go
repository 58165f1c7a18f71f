package mail

import (
	"strings"
	"testing"
)

// PLAIN and LOGIN without TLS are refused by NewSMTP (so at chatd's start)
// wherever go-mail would refuse them at AUTH; what go-mail allows starts.
func TestNewSMTPRefusesCleartextPasswords(t *testing.T) {
	for _, tc := range []struct {
		host, tls, auth string
		ok              bool
	}{
		{"mail.shop.test", TLSNone, "", false},
		{"mail.shop.test", TLSNone, "plain", false},
		{"mail.shop.test", TLSNone, "LOGIN", false},
		{"10.0.0.5", TLSNone, "plain", false},
		{"127.0.0.2", TLSNone, "plain", false}, // loopback, but go-mail's rule names three hosts
		{"Localhost", TLSNone, "plain", false},
		{"localhost", TLSNone, "plain", true},
		{"127.0.0.1", TLSNone, "login", true},
		{"::1", TLSNone, "plain", true},
		{"mail.shop.test", TLSNone, "cram-md5", true}, // the password never crosses the wire
		{"mail.shop.test", TLSNone, "scram-sha-256", true},
		{"mail.shop.test", TLSStartTLS, "plain", true},
		{"mail.shop.test", TLSImplicit, "login", true},
	} {
		_, err := NewSMTP(SMTPConfig{Host: tc.host, TLS: tc.tls, Auth: tc.auth, Username: "u", Password: "SeCrEt", From: "chat@shop.test"})
		if tc.ok && err != nil || !tc.ok && (err == nil || !strings.Contains(err.Error(), "tls none to "+tc.host)) {
			t.Errorf("%s %s %s: %v", tc.host, tc.tls, tc.auth, err)
		}
		if err != nil && strings.Contains(err.Error(), "SeCrEt") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	// Without a username there is no AUTH: a relay on another host is fine.
	if _, err := NewSMTP(SMTPConfig{Host: "mail.shop.test", TLS: TLSNone, From: "chat@shop.test"}); err != nil {
		t.Errorf("no auth: %v", err)
	}
}
