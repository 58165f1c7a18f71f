package mail

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one mail as the SMTP server got it, decoded.
type received struct {
	from    string
	rcpt    []string
	header  netmail.Header
	subject string
	body    string
	raw     string
	at      time.Time // when DATA was read
}

// smtpServer is a real SMTP server (github.com/emersion/go-smtp) on 127.0.0.1.
type smtpServer struct {
	addr string
	port int
	srv  *smtp.Server
	got  chan received

	mu       sync.Mutex
	dataCode []int             // replies to successive DATA (0 = accept), then accept
	rcptCode map[string]int    // refuse these recipients with this code
	slow     time.Duration     // wait this long before the greeting and in DATA (a slow server)
	hang     chan struct{}     // when set, DATA waits until it closes
	user     map[string]string // when set, AUTH PLAIN with these credentials is required
	pool     *x509.CertPool    // trusts the server's certificate (TLS modes)
}

type serverOpts struct {
	tls      string // TLSNone, TLSStartTLS, TLSImplicit
	user     map[string]string
	dataCode []int
	rcptCode map[string]int
}

func newSMTPServer(t testing.TB, o serverOpts) *smtpServer {
	t.Helper()
	s := &smtpServer{got: make(chan received, 1000), dataCode: o.dataCode, rcptCode: o.rcptCode, user: o.user}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ss := &session{s: s}
		ss.wait()
		return ss, nil
	}))
	s.srv.Domain = "127.0.0.1"
	s.srv.ErrorLog = log.New(io.Discard, "", 0) // clients cut off by deadlines on purpose
	s.srv.AllowInsecureAuth = o.tls == TLSNone
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	var l net.Listener
	var err error
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.tls != TLSNone && o.tls != "" {
		cert, pool := selfSigned(t)
		s.pool = pool
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		if o.tls == TLSImplicit {
			l = tls.NewListener(l, s.srv.TLSConfig)
		}
	}
	s.addr = l.Addr().String()
	s.port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() { defer close(done); s.srv.Serve(l) }()
	t.Cleanup(func() {
		s.mu.Lock()
		if s.hang != nil {
			select {
			case <-s.hang:
			default:
				close(s.hang)
			}
		}
		s.mu.Unlock()
		s.srv.Close()
		<-done
	})
	return s
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func (s *smtpServer) config(tlsMode string) SMTPConfig {
	return SMTPConfig{Host: "127.0.0.1", Port: s.port, TLS: tlsMode, From: "chatd <chat@chatd.test>",
		Timeout: 5 * time.Second, RootCAs: s.pool}
}

func (s *smtpServer) next(t testing.TB) received {
	t.Helper()
	select {
	case r := <-s.got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no mail within 10s")
		return received{}
	}
}

// none checks that no mail is waiting right now (call it after the sender
// has reported every mail done).
func (s *smtpServer) none(t testing.TB) {
	t.Helper()
	select {
	case r := <-s.got:
		t.Fatalf("unexpected mail to %v: %q", r.rcpt, r.subject)
	default:
	}
}

type session struct {
	s     *smtpServer
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
	ss.s.got <- received{from: ss.from, rcpt: append([]string(nil), ss.rcpt...), header: m.Header,
		subject: subj, body: strings.ReplaceAll(string(body), "\r\n", "\n"), raw: string(raw), at: at}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.rcpt = "", nil }
func (ss *session) Logout() error { return nil }
