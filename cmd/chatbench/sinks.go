package main

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// sinks runs the receivers a load test with notifications points chatd at,
// on loopback: an SMTP server that accepts every mail, and an HTTPS server
// that answers 201 to every push (any path under /push/) and 200 to every
// webhook POST (any other path), reading each body and counting. It writes
// its certificate (ca.pem, for chatd's SSL_CERT_FILE) and a PushSubscription
// for its push endpoint (subscription.json, to POST to
// /api/push/subscriptions) into --dir. Nothing is decrypted or checked:
// the sink costs the test as little as it can. It runs until interrupted.
func sinks(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatbench sinks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	smtpAddr := fs.String("smtp", "127.0.0.1:2525", "SMTP listen address (no TLS: run chatd with --smtp-tls none)")
	httpsAddr := fs.String("https", "127.0.0.1:8443", "HTTPS listen address for pushes and webhooks")
	dir := fs.String("dir", ".", "directory for ca.pem and subscription.json")
	progress := fs.Duration("progress", 10*time.Second, "print counts at this interval (0 = only at the end)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var mails, pushes, hooks atomic.Int64
	cert, certPEM, err := sinkCert()
	if err != nil {
		fmt.Fprintf(stderr, "chatbench sinks: %v\n", err)
		return 1
	}
	hl, err := net.Listen("tcp", *httpsAddr)
	if err != nil {
		fmt.Fprintf(stderr, "chatbench sinks: %v\n", err)
		return 1
	}
	sub, err := sinkSubscription("https://" + hl.Addr().String() + "/push/bench")
	if err != nil {
		fmt.Fprintf(stderr, "chatbench sinks: %v\n", err)
		return 1
	}
	for name, b := range map[string][]byte{"ca.pem": certPEM, "subscription.json": sub} {
		if err := os.WriteFile(filepath.Join(*dir, name), b, 0o600); err != nil {
			fmt.Fprintf(stderr, "chatbench sinks: %v\n", err)
			return 1
		}
	}
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			if len(r.URL.Path) > 6 && r.URL.Path[:6] == "/push/" {
				pushes.Add(1)
				w.WriteHeader(http.StatusCreated)
				return
			}
			hooks.Add(1)
		})}
	go hs.ServeTLS(hl, "", "")
	defer hs.Close()

	ss := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{n: &mails}, nil }))
	ss.Domain = "127.0.0.1"
	ss.AllowInsecureAuth = true
	ss.ReadTimeout, ss.WriteTimeout = 30*time.Second, 30*time.Second
	ss.ErrorLog = log.New(io.Discard, "", 0)
	sl, err := net.Listen("tcp", *smtpAddr)
	if err != nil {
		fmt.Fprintf(stderr, "chatbench sinks: %v\n", err)
		return 1
	}
	go ss.Serve(sl)
	defer ss.Close()

	fmt.Fprintf(stdout, "smtp %s, https %s; wrote %s and %s\n", sl.Addr(), hl.Addr(),
		filepath.Join(*dir, "ca.pem"), filepath.Join(*dir, "subscription.json"))
	report := func() {
		fmt.Fprintf(stdout, "mails %d  pushes %d  webhooks %d\n", mails.Load(), pushes.Load(), hooks.Load())
	}
	var tick <-chan time.Time
	if *progress > 0 {
		t := time.NewTicker(*progress)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			report()
			return 0
		case <-tick:
			report()
		}
	}
}

type sinkSession struct{ n *atomic.Int64 }

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	s.n.Add(1)
	return nil
}
func (s *sinkSession) Reset()        {}
func (s *sinkSession) Logout() error { return nil }

// sinkCert makes a self-signed certificate for 127.0.0.1 and its PEM.
func sinkCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(7 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// sinkSubscription is a PushSubscription JSON for endpoint with fresh keys
// (whose private half is thrown away: the sink never decrypts).
func sinkSubscription(endpoint string) ([]byte, error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return json.Marshal(map[string]any{"endpoint": endpoint, "keys": map[string]string{
		"p256dh": base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		"auth":   base64.RawURLEncoding.EncodeToString(auth),
	}})
}
