package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hit is one request a WebhookReceiver got. SigOK says whether its
// signature checked out the way a receiver in any language would check it
// (not with chatd's webhook.Verify): Chatd-Signature t=<unix>,v1=<hex
// HMAC-SHA256(secret, t + "." + body)> and Content-Type application/json.
type Hit struct {
	Event, Delivery string // Chatd-Event, Chatd-Delivery
	Timestamp       int64
	SigOK           bool
	Body            []byte
	Proto           string    // HTTP version of the request, e.g. "HTTP/1.1"
	At              time.Time // when the body had been read
}

// WebhookReceiver is a real HTTP endpoint on 127.0.0.1. It answers the
// codes given, in turn, then 200.
type WebhookReceiver struct {
	URL string
	// CAFile and Pool trust a TLS receiver's certificate (NewWebhookReceiverTLS).
	CAFile string
	Pool   *x509.CertPool

	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	codes  []int
	hang   chan struct{}
	hits   chan Hit
}

// NewWebhookReceiver starts a receiver that checks signatures with secret;
// it stops when the test ends.
func NewWebhookReceiver(t testing.TB, secret string, codes ...int) *WebhookReceiver {
	return newWebhookReceiver(t, false, secret, codes)
}

// NewWebhookReceiverTLS is NewWebhookReceiver over https (HTTP/2 offered,
// as most servers do), with a self-signed certificate (see CAFile).
func NewWebhookReceiverTLS(t testing.TB, secret string, codes ...int) *WebhookReceiver {
	return newWebhookReceiver(t, true, secret, codes)
}

func newWebhookReceiver(t testing.TB, withTLS bool, secret string, codes []int) *WebhookReceiver {
	t.Helper()
	r := &WebhookReceiver{secret: secret, codes: codes, hits: make(chan Hit, 1000)}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.handle))
	if withTLS {
		cert, pool, file := SelfSigned(t)
		r.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		r.srv.EnableHTTP2 = true
		r.srv.StartTLS()
		r.Pool, r.CAFile = pool, file
	} else {
		r.srv.Start()
	}
	r.URL = r.srv.URL
	t.Cleanup(func() {
		r.Release()
		r.srv.Close()
	})
	return r
}

// Answer sets the answers to the next requests.
func (r *WebhookReceiver) Answer(codes ...int) {
	r.mu.Lock()
	r.codes = codes
	r.mu.Unlock()
}

// Hang makes every request wait, unanswered, until Release (or the end of
// the test). The request is still reported as a Hit when it arrives.
func (r *WebhookReceiver) Hang() {
	r.mu.Lock()
	if r.hang == nil {
		r.hang = make(chan struct{})
	}
	r.mu.Unlock()
}

// Release ends a Hang.
func (r *WebhookReceiver) Release() {
	r.mu.Lock()
	if r.hang != nil {
		close(r.hang)
		r.hang = nil
	}
	r.mu.Unlock()
}

func (r *WebhookReceiver) handle(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	h := Hit{Event: req.Header.Get("Chatd-Event"), Delivery: req.Header.Get("Chatd-Delivery"), Body: body, Proto: req.Proto, At: time.Now()}
	var sig string
	for _, kv := range strings.Split(req.Header.Get("Chatd-Signature"), ",") {
		if v, ok := strings.CutPrefix(kv, "t="); ok {
			h.Timestamp, _ = strconv.ParseInt(v, 10, 64)
		} else if v, ok := strings.CutPrefix(kv, "v1="); ok {
			sig = v
		}
	}
	m := hmac.New(sha256.New, []byte(r.secret))
	m.Write([]byte(strconv.FormatInt(h.Timestamp, 10) + "." + string(body)))
	got, _ := hex.DecodeString(sig)
	h.SigOK = hmac.Equal(got, m.Sum(nil)) && req.Header.Get("Content-Type") == "application/json"
	r.mu.Lock()
	code := http.StatusOK
	if len(r.codes) > 0 {
		code, r.codes = r.codes[0], r.codes[1:]
	}
	hang := r.hang
	r.mu.Unlock()
	r.hits <- h
	if hang != nil {
		select {
		case <-hang:
		case <-req.Context().Done():
		}
		return
	}
	switch code {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "0")
	case http.StatusFound:
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(code)
}

// Next returns the next request, failing the test after Wait.
func (r *WebhookReceiver) Next(t testing.TB) Hit {
	t.Helper()
	select {
	case h := <-r.hits:
		return h
	case <-time.After(Wait):
		t.Fatalf("webhook receiver got nothing within %v", Wait)
		return Hit{}
	}
}

// Received returns the channel of requests, to select on.
func (r *WebhookReceiver) Received() <-chan Hit { return r.hits }
