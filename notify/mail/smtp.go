// Package mail sends chatd's e-mail: digests that alert agents to waiting
// visitors (Alerts), agents' replies and transcripts for visitors who left an
// address (Continuity), through an SMTP server (SMTP, built on
// github.com/wneessen/go-mail) behind a bounded, retrying queue (Mailer).
// Every mail is plain text (user text is never HTML), carries no visitor
// token, and its links only point at pages that ask for their own login.
package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/chatd/chatd/notify"
)

// TLS modes of SMTPConfig.TLS.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (RFC 3207), required
	TLSImplicit = "tls"      // TLS from the first byte (RFC 8314 §3.3, port 465)
	TLSNone     = "none"     // no encryption: only for a relay on the same host
)

// SMTPConfig says how to reach the SMTP server.
type SMTPConfig struct {
	Host string // required
	// Port defaults to 465 with TLSImplicit, else 587 (submission, RFC 6409).
	Port     int
	Username string // empty: no AUTH
	Password string
	// Auth is the SASL mechanism when Username is set: "plain" (default),
	// "login", "cram-md5" or "scram-sha-256". PLAIN and LOGIN are refused
	// over an unencrypted connection except to localhost (go-mail's rule).
	Auth string
	// TLS is TLSStartTLS (default), TLSImplicit or TLSNone.
	TLS string
	// From is the sender, "chatd <chat@example.com>" or a bare address.
	From string
	// Timeout bounds one attempt, the whole SMTP session from dial to QUIT,
	// however slowly the server answers (default 30s).
	Timeout time.Duration
	// RootCAs verifies the server's certificate (default: the system's).
	RootCAs *x509.CertPool
}

// Message is one e-mail to send.
type Message struct {
	To      []string // bare addresses
	Subject string
	Text    string // plain text body, UTF-8
	ReplyTo string // optional
	Kind    string // for logs and metrics only: "alert", "reply", "transcript"
}

// Transport sends one Message in one attempt. SMTP is the real one.
type Transport interface {
	Send(ctx context.Context, m Message) error
}

// SMTP is a Transport that opens one SMTP session per message.
type SMTP struct {
	cfg  SMTPConfig
	auth gomail.SMTPAuthType
	tls  *tls.Config
}

// NewSMTP checks cfg and returns the transport; it does not connect.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	var errs []error
	if cfg.Host == "" {
		errs = append(errs, errors.New("smtp host is empty"))
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		errs = append(errs, fmt.Errorf("smtp tls %q: want starttls, tls or none", cfg.TLS))
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("smtp port %d: want 1-65535", cfg.Port))
	}
	if _, err := ParseAddress(cfg.From); err != nil {
		errs = append(errs, fmt.Errorf("smtp from: %w", err))
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	s := &SMTP{cfg: cfg, auth: gomail.SMTPAuthNoAuth,
		tls: &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}}
	if cfg.Username != "" {
		switch strings.ToLower(cfg.Auth) {
		case "", "plain":
			s.auth = gomail.SMTPAuthPlain
		case "login":
			s.auth = gomail.SMTPAuthLogin
		case "cram-md5":
			s.auth = gomail.SMTPAuthCramMD5
		case "scram-sha-256":
			s.auth = gomail.SMTPAuthSCRAMSHA256
		default:
			errs = append(errs, fmt.Errorf("smtp auth %q: want plain, login, cram-md5 or scram-sha-256", cfg.Auth))
		}
		if (s.auth == gomail.SMTPAuthPlain || s.auth == gomail.SMTPAuthLogin) && cfg.TLS == TLSNone && !cleartextAuthOK(cfg.Host) {
			errs = append(errs, fmt.Errorf("smtp auth %s with tls none to %s: the password would cross the network in clear "+
				"(go-mail refuses PLAIN and LOGIN without TLS except to localhost, 127.0.0.1 or ::1): use starttls or tls, or cram-md5/scram-sha-256",
				strings.ToUpper(string(s.auth)), cfg.Host))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// cleartextAuthOK reports whether go-mail sends PLAIN or LOGIN credentials
// to host without TLS: only to the names its smtp package treats as local
// (smtp/auth.go isLocalhost: exactly "localhost", "127.0.0.1", "::1"); to
// any other host every attempt would fail at AUTH.
func cleartextAuthOK(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// Send delivers m in one SMTP session bounded by Timeout. A 5xx reply is
// wrapped with notify.Permanent (RFC 5321 §4.2.1: permanent negative
// completion); network errors, timeouts and 4xx replies are left retryable.
// Cancelling ctx closes the connection at once.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	msg, err := s.build(m)
	if err != nil {
		return notify.Permanent(err)
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSConfig(s.tls),
		gomail.WithDialContextFunc(s.dialer(ctx)),
	}
	switch s.cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default: // implicit TLS is done by the dialer; none is none
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.auth != gomail.SMTPAuthNoAuth {
		opts = append(opts, gomail.WithSMTPAuth(s.auth), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return notify.Permanent(fmt.Errorf("smtp client: %w", err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return notify.Permanent(fmt.Errorf("smtp %s:%d: %w", s.cfg.Host, s.cfg.Port, err))
		}
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (session deadline %v)", err, s.cfg.Timeout)
		}
		return fmt.Errorf("smtp %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
	}
	return nil
}

// dialer connects and closes the connection when ctx ends: at the
// session's deadline (Timeout) or when the caller cancels. go-mail only sets
// a per-phase deadline (when connecting, and again before each message), so
// a server answering each phase just in time could otherwise hold a session
// for about twice Timeout. For implicit TLS it does the handshake itself.
func (s *SMTP) dialer(ctx context.Context) gomail.DialContextFunc {
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		// Send cancels ctx when it returns, so this also closes a session
		// that go-mail left open after an error.
		context.AfterFunc(ctx, func() { conn.Close() })
		if s.cfg.TLS == TLSImplicit {
			tc := tls.Client(conn, s.tls)
			if err := tc.HandshakeContext(dctx); err != nil {
				conn.Close()
				return nil, err
			}
			return tc, nil
		}
		return conn, nil
	}
}

func (s *SMTP) build(m Message) (*gomail.Msg, error) {
	if len(m.To) == 0 {
		return nil, errors.New("mail without recipients")
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, fmt.Errorf("reply-to: %w", err)
		}
	}
	msg.Subject(oneLine(m.Subject))
	// RFC 3834 §5: machine-generated mail, so auto-responders stay quiet.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return msg, nil
}

// oneLine replaces control characters (CR, LF, TAB...) with spaces, so a
// name inside a subject can never start a header of its own.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}
