package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuf is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestSinksAcceptAndCount(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuf{}
	done := make(chan int, 1)
	go func() {
		done <- sinks(ctx, []string{"--smtp", "127.0.0.1:0", "--https", "127.0.0.1:0", "--dir", dir, "--progress", "0"}, out, out)
	}()
	re := regexp.MustCompile(`smtp (\S+), https (\S+);`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; time.Sleep(5 * time.Millisecond) { // polling with a deadline
		if m = re.FindStringSubmatch(out.String()); m == nil && time.Now().After(deadline) {
			t.Fatalf("no addresses printed: %q", out.String())
		}
	}
	if err := smtp.SendMail(m[1], nil, "chat@shop.test", []string{"a@shop.test"}, []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	sub, _ := os.ReadFile(filepath.Join(dir, "subscription.json"))
	endpoint := regexp.MustCompile(`"endpoint":"([^"]+)"`).FindSubmatch(sub)
	if endpoint == nil || !strings.HasPrefix(string(endpoint[1]), "https://"+m[2]+"/push/") {
		t.Fatalf("subscription %s", sub)
	}
	for _, u := range []string{string(endpoint[1]), "https://" + m[2] + "/hooks"} {
		res, err := c.Post(u, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want := map[bool]int{true: 201, false: 200}[strings.Contains(u, "/push/")]; res.StatusCode != want {
			t.Fatalf("POST %s = %d, want %d", u, res.StatusCode, want)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "mails 1  pushes 1  webhooks 1") {
		t.Fatalf("counts: %q", out.String())
	}
}
