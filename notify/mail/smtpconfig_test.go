package mail

import (
	"time"

	"github.com/chatd/chatd/internal/notifytest"
)

// smtpConfig is an SMTPConfig that reaches s (a real SMTP server on
// 127.0.0.1, see internal/notifytest) in TLS mode tlsMode.
func smtpConfig(s *notifytest.SMTPServer, tlsMode string) SMTPConfig {
	return SMTPConfig{Host: "127.0.0.1", Port: s.Port, TLS: tlsMode, From: "chatd <chat@chatd.test>",
		Timeout: 5 * time.Second, RootCAs: s.Pool}
}
