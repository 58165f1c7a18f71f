// Package notifytest holds the real receivers that notification tests send
// to, all on 127.0.0.1: an SMTP server (github.com/emersion/go-smtp), a Web
// Push service that checks VAPID and decrypts payloads as a browser would,
// and a webhook receiver that checks signatures independently of chatd's
// own code. Each can be made slow, failing or hanging, to test that nothing
// upstream waits for it. One helper per job: notify/mail, notify/push,
// notify/webhook, cmd/chatd and e2e all use these.
package notifytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Wait bounds how long Next waits for something to arrive.
const Wait = 10 * time.Second

// TLS modes of SMTPOptions.TLS (the values of notify/mail's SMTPConfig.TLS).
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// Mail is one mail as the SMTP server got it, decoded.
type Mail struct {
	From    string
	Rcpt    []string
	Header  netmail.Header
	Subject string
	Body    string // quoted-printable decoded, "\n" line ends
	Raw     string
	At      time.Time // when DATA was read
}

// SMTPOptions configures an SMTP server.
type SMTPOptions struct {
	TLS      string            // TLSNone (default), TLSStartTLS, TLSImplicit
	User     map[string]string // when set, AUTH PLAIN with these credentials is required
	DataCode []int             // replies to successive DATA (0 = accept), then accept
	RcptCode map[string]int    // refuse these recipients with this code
}

// SMTPServer is a real SMTP server on 127.0.0.1.
type SMTPServer struct {
	Addr string
	Port int
	// Pool trusts the server's certificate (TLS modes); CAFile holds it as
	// PEM, for SSL_CERT_FILE in a child process.
	Pool   *x509.CertPool
	CAFile string

	srv  *smtp.Server
	got  chan Mail
	held chan struct{} // one per DATA that started waiting on Hang

	mu       sync.Mutex
	dataCode []int
	rcptCode map[string]int
	slow     time.Duration
	hang     chan struct{}
	user     map[string]string
}

// NewSMTP starts an SMTP server; it stops when the test ends.
func NewSMTP(t testing.TB, o SMTPOptions) *SMTPServer {
	t.Helper()
	s := &SMTPServer{got: make(chan Mail, 1000), held: make(chan struct{}, 1000), dataCode: o.DataCode, rcptCode: o.RcptCode, user: o.User}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ss := &session{s: s}
		ss.wait()
		return ss, nil
	}))
	s.srv.Domain = "127.0.0.1"
	s.srv.ErrorLog = log.New(io.Discard, "", 0) // clients cut off by deadlines on purpose
	s.srv.AllowInsecureAuth = o.TLS == TLSNone || o.TLS == ""
	s.srv.ReadTimeout = Wait
	s.srv.WriteTimeout = Wait
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.TLS == TLSStartTLS || o.TLS == TLSImplicit {
		cert, pool, file := SelfSigned(t)
		s.Pool, s.CAFile = pool, file
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		if o.TLS == TLSImplicit {
			l = tls.NewListener(l, s.srv.TLSConfig)
		}
	}
	s.Addr = l.Addr().String()
	s.Port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() { defer close(done); s.srv.Serve(l) }()
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
		<-done
	})
	return s
}

// SelfSigned makes a certificate for 127.0.0.1, a pool that trusts it, and
// a PEM file of it in a temporary directory.
func SelfSigned(t testing.TB) (tls.Certificate, *x509.CertPool, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool, file
}

// SetSlow makes the server wait d before its greeting and before answering
// DATA (a slow server; the wait is the server's behaviour, not a sync).
func (s *SMTPServer) SetSlow(d time.Duration) {
	s.mu.Lock()
	s.slow = d
	s.mu.Unlock()
}

// FailNext answers the next DATA commands with codes (then accepts again).
func (s *SMTPServer) FailNext(codes ...int) {
	s.mu.Lock()
	s.dataCode = append([]int(nil), codes...)
	s.mu.Unlock()
}

// Hang makes every DATA wait until Release (or the end of the test).
func (s *SMTPServer) Hang() {
	s.mu.Lock()
	if s.hang == nil {
		s.hang = make(chan struct{})
	}
	s.mu.Unlock()
}

// Held receives once for each DATA that began to wait on Hang.
func (s *SMTPServer) Held() <-chan struct{} { return s.held }

// Release ends a Hang: waiting sessions go on.
func (s *SMTPServer) Release() {
	s.mu.Lock()
	if s.hang != nil {
		close(s.hang)
		s.hang = nil
	}
	s.mu.Unlock()
}

// Next returns the next mail received, failing the test after Wait.
func (s *SMTPServer) Next(t testing.TB) Mail {
	t.Helper()
	select {
	case r := <-s.got:
		return r
	case <-time.After(Wait):
		t.Fatalf("no mail within %v", Wait)
		return Mail{}
	}
}

// Received returns the channel of received mails, to select on.
func (s *SMTPServer) Received() <-chan Mail { return s.got }

// None checks that no mail is waiting right now (call it after the sender
// has reported every mail done).
func (s *SMTPServer) None(t testing.TB) {
	t.Helper()
	select {
	case r := <-s.got:
		t.Fatalf("unexpected mail to %v: %q", r.Rcpt, r.Subject)
	default:
	}
}

type session struct {
	s     *SMTPServer
	authd bool
	from  string
	rcpt  []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.user == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if p, ok := ss.s.user[username]; !ok || p != password {
			return errors.New("bad credentials")
		}
		ss.authd = true
		return nil
	}), nil
}

func (ss *session) wait() {
	ss.s.mu.Lock()
	d := ss.s.slow
	ss.s.mu.Unlock()
	if d > 0 {
		time.Sleep(d) // a slow server, not synchronisation
	}
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.user != nil && !ss.authd {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	code := ss.s.rcptCode[to]
	ss.s.mu.Unlock()
	if code != 0 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 1, 1}, Message: "no such user"}
	}
	ss.rcpt = append(ss.rcpt, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.wait()
	ss.s.mu.Lock()
	hang := ss.s.hang
	code := 0
	if len(ss.s.dataCode) > 0 {
		code, ss.s.dataCode = ss.s.dataCode[0], ss.s.dataCode[1:]
	}
	ss.s.mu.Unlock()
	if hang != nil {
		select {
		case ss.s.held <- struct{}{}:
		default:
		}
		<-hang
	}
	if code != 0 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 3, 0}, Message: "try later"}
	}
	at := time.Now()
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(m.Body)
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body, _ = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	ss.s.got <- Mail{From: ss.from, Rcpt: append([]string(nil), ss.rcpt...), Header: m.Header,
		Subject: subj, Body: strings.ReplaceAll(string(body), "\r\n", "\n"), Raw: string(raw), At: at}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.rcpt = "", nil }
func (ss *session) Logout() error { return nil }
