package mail

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/notify"
)

func TestSMTPSendsInEveryTLSMode(t *testing.T) {
	for _, tc := range []struct {
		mode string
		auth bool
	}{
		{TLSNone, false},
		{TLSNone, true}, // PLAIN without TLS: allowed to localhost only
		{TLSStartTLS, true},
		{TLSImplicit, true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			o := notifytest.SMTPOptions{TLS: tc.mode}
			if tc.auth {
				o.User = map[string]string{"chatd": "s3cret pass"}
			}
			srv := notifytest.NewSMTP(t, o)
			cfg := smtpConfig(srv, tc.mode)
			if tc.auth {
				cfg.Username, cfg.Password = "chatd", "s3cret pass"
			}
			s, err := NewSMTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			text := "Hello Ann,\n\nÀ bientôt: <b>not html</b> & a long line " + strings.Repeat("x", 1200) + "\n.\nend\n"
			err = s.Send(context.Background(), Message{To: []string{"ann@example.com"}, Subject: "Ünïcode subject ✓", Text: text, ReplyTo: "help@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			r := srv.Next(t)
			if r.From != "chat@chatd.test" || len(r.Rcpt) != 1 || r.Rcpt[0] != "ann@example.com" {
				t.Fatalf("envelope from %q rcpt %v", r.From, r.Rcpt)
			}
			if r.Subject != "Ünïcode subject ✓" || r.Body != text {
				t.Fatalf("subject %q body %q", r.Subject, r.Body)
			}
			if r.Header.Get("Auto-Submitted") != "auto-generated" || !strings.Contains(r.Header.Get("Reply-To"), "help@example.com") ||
				!strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
				t.Fatalf("headers %v", r.Header)
			}
			srv.None(t)
		})
	}
}

func TestSMTPRefusesWrongCredentialsAndUntrustedCertificates(t *testing.T) {
	srv := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: TLSStartTLS, User: map[string]string{"chatd": "right"}})
	cfg := smtpConfig(srv, TLSStartTLS)
	cfg.Username, cfg.Password = "chatd", "wrong"
	s, _ := NewSMTP(cfg)
	if err := s.Send(context.Background(), Message{To: []string{"a@example.com"}, Subject: "x", Text: "x"}); err == nil {
		t.Fatal("sent with a wrong password")
	}
	cfg = smtpConfig(srv, TLSStartTLS)
	cfg.RootCAs = nil // the system pool does not trust the test certificate
	s, _ = NewSMTP(cfg)
	if err := s.Send(context.Background(), Message{To: []string{"a@example.com"}, Subject: "x", Text: "x"}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	srv.None(t)
}

func TestSubjectCannotInjectHeaders(t *testing.T) {
	srv := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: TLSNone})
	s, _ := NewSMTP(smtpConfig(srv, TLSNone))
	for _, subject := range []string{
		"Ann\r\nBcc: victim@example.com",
		"Ann\nBcc: victim@example.com",
		"Ann\rBcc: victim@example.com",
		"Ann\u2028Bcc: victim@example.com",
		"Ann\u0085Bcc: victim@example.com",
	} {
		if err := s.Send(context.Background(), Message{To: []string{"agent@example.com"}, Subject: subject, Text: "x"}); err != nil {
			t.Fatal(err)
		}
		r := srv.Next(t)
		if len(r.Rcpt) != 1 || r.Rcpt[0] != "agent@example.com" || r.Header.Get("Bcc") != "" || strings.Contains(r.Subject, "\n") {
			t.Fatalf("subject %q: rcpt %v, headers %v", subject, r.Rcpt, r.Header)
		}
	}
}

func TestNewSMTPChecksConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  SMTPConfig
		want string
	}{
		{SMTPConfig{From: "a@example.com"}, "host is empty"},
		{SMTPConfig{Host: "mx", From: "a@example.com", TLS: "ssl"}, `tls "ssl"`},
		{SMTPConfig{Host: "mx", From: "a@example.com", Port: 70000}, "port 70000"},
		{SMTPConfig{Host: "mx"}, "from"},
		{SMTPConfig{Host: "mx", From: "not an address"}, "from"},
		{SMTPConfig{Host: "mx", From: "a@example.com", Username: "u", Auth: "ntlm"}, `auth "ntlm"`},
	} {
		if _, err := NewSMTP(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSMTP(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	s, err := NewSMTP(SMTPConfig{Host: "mx", From: "a@example.com", TLS: TLSImplicit})
	if err != nil || s.cfg.Port != 465 || s.cfg.Timeout != 30*time.Second {
		t.Fatalf("defaults: %+v %v", s, err)
	}
}

// mailer runs a Mailer over srv and reports each mail's end on done.
type doneMail struct {
	m        Message
	attempts int
	err      error
}

func runMailer(t testing.TB, tr Transport, cfg MailerConfig) (*Mailer, chan doneMail, *notify.Counters) {
	t.Helper()
	var c notify.Counters
	done := make(chan doneMail, 1000)
	cfg.Metrics = &c
	cfg.OnDone = func(m Message, attempts int, err error) { done <- doneMail{m, attempts, err} }
	if cfg.Backoff == (notify.Backoff{}) {
		cfg.Backoff = notify.Backoff{Attempts: 4, Initial: time.Millisecond, Max: 5 * time.Millisecond}
	}
	m := NewMailer(tr, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return m, done, &c
}

func waitDone(t testing.TB, done chan doneMail) doneMail {
	t.Helper()
	return notifytest.Recv(t, done, 20*time.Second, "mail finished")
}

func TestMailerRetriesTemporaryFailures(t *testing.T) {
	srv := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: TLSNone, DataCode: []int{451, 421}})
	s, _ := NewSMTP(smtpConfig(srv, TLSNone))
	m, done, c := runMailer(t, s, MailerConfig{Workers: 1})
	if !m.Send(Message{To: []string{"a@example.com"}, Subject: "s", Text: "t"}) {
		t.Fatal("Send refused")
	}
	if d := waitDone(t, done); d.err != nil || d.attempts != 3 {
		t.Fatalf("done %+v", d)
	}
	srv.Next(t)
	srv.None(t)
	if c.Get(Channel, notify.Sent) != 1 || c.Get(Channel, notify.Retried) != 2 {
		t.Fatalf("counts %v", c.Snapshot())
	}
}

func TestMailerGivesUpOnPermanentRefusal(t *testing.T) {
	srv := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: TLSNone, RcptCode: map[string]int{"gone@example.com": 550}})
	s, _ := NewSMTP(smtpConfig(srv, TLSNone))
	m, done, c := runMailer(t, s, MailerConfig{})
	m.Send(Message{To: []string{"gone@example.com"}, Subject: "s", Text: "t"})
	if d := waitDone(t, done); d.err == nil || !notify.IsPermanent(d.err) || d.attempts != 1 {
		t.Fatalf("done %+v", d)
	}
	if c.Get(Channel, notify.Failed) != 1 || c.Get(Channel, notify.Retried) != 0 {
		t.Fatalf("counts %v", c.Snapshot())
	}
	srv.None(t)
}

func TestSMTPDownNeverBlocksTheCaller(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	s, _ := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, TLS: TLSNone, From: "c@example.com"})
	m, done, c := runMailer(t, s, MailerConfig{Workers: 1, QueueSize: 3,
		Backoff: notify.Backoff{Attempts: 2, Initial: time.Hour, Max: time.Hour}})
	m.Send(Message{To: []string{"a@example.com"}, Kind: "alert"})
	// The worker now waits an hour before its retry; three more fill the
	// queue and the rest are dropped, all without blocking.
	for {
		if c.Get(Channel, notify.Retried) == 1 {
			break
		}
		time.Sleep(time.Millisecond) // polling a counter, bounded by the test timeout
	}
	accepted := 0
	for range 10 {
		if m.Send(Message{To: []string{"a@example.com"}}) {
			accepted++
		}
	}
	if accepted != 3 || c.Get(Channel, notify.Dropped) != 7 {
		t.Fatalf("accepted %d, counts %v", accepted, c.Snapshot())
	}
	for range 7 {
		if d := waitDone(t, done); !errors.Is(d.err, notify.ErrDropped) {
			t.Fatalf("done %+v", d)
		}
	}
}

func TestSlowServerIsCutAtTheSessionDeadline(t *testing.T) {
	// The greeting and the DATA reply each come within Timeout, but the
	// session as a whole takes longer: the attempt must fail. (go-mail alone
	// renews its deadline before sending a message, which would let this
	// session run to about twice Timeout.)
	srv := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: TLSNone})
	srv.SetSlow(200 * time.Millisecond)
	cfg := smtpConfig(srv, TLSNone)
	cfg.Timeout = 300 * time.Millisecond
	s, _ := NewSMTP(cfg)
	err := s.Send(context.Background(), Message{To: []string{"a@example.com"}, Subject: "s", Text: "t"})
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("a session longer than its deadline: %v, want a retryable error", err)
	}

	// A server that hangs in DATA: the attempt ends at the deadline too.
	srv2 := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: TLSNone})
	srv2.Hang()
	cfg = smtpConfig(srv2, TLSNone)
	cfg.Timeout = 200 * time.Millisecond
	s, _ = NewSMTP(cfg)
	if err := s.Send(context.Background(), Message{To: []string{"a@example.com"}, Subject: "s", Text: "t"}); err == nil {
		t.Fatal("a hanging server: no error")
	}

	// Cancelling the context (chatd stopping) ends a hanging session at once.
	cfg.Timeout = time.Hour
	s, _ = NewSMTP(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Send(ctx, Message{To: []string{"a@example.com"}, Subject: "s", Text: "t"}) }()
	time.AfterFunc(50*time.Millisecond, cancel)
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("cancelled send: no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not end the session")
	}
}
