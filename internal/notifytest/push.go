package notifytest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Browser is one push subscription's private side, as a browser keeps it.
type Browser struct {
	Name string
	key  *ecdh.PrivateKey
	auth []byte
}

// NewBrowser makes the keys of a browser named name (its endpoint path).
func NewBrowser(t testing.TB, name string) *Browser {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return &Browser{Name: name, key: k, auth: auth}
}

// Subscription is the PushSubscription JSON the browser would hand the portal.
func (b *Browser) Subscription(endpoint string) []byte {
	raw, _ := json.Marshal(map[string]any{"endpoint": endpoint, "expirationTime": nil, "keys": map[string]string{
		"p256dh": base64.RawURLEncoding.EncodeToString(b.key.PublicKey().Bytes()),
		"auth":   base64.RawURLEncoding.EncodeToString(b.auth),
	}})
	return raw
}

// Push is one push the endpoint accepted, decrypted and verified.
type Push struct {
	Browser   string
	Plain     []byte // the decrypted payload
	Topic     string
	Urgency   string
	TTL       string
	Sub       string // the VAPID JWT's sub claim
	At        time.Time
	BodyBytes int
}

// PushService is a push endpoint on 127.0.0.1 that does what a real push
// service and the browser do together: checks the VAPID JWT (RFC 8292) and
// decrypts the aes128gcm payload with the subscription's keys (RFC 8291,
// RFC 8188). It was written from the RFCs, not from webpush-go.
type PushService struct {
	// URL is the service's base URL (https with PushOptions.TLS).
	URL string
	// CAFile holds the certificate of a TLS service as PEM, for
	// SSL_CERT_FILE in a child process; Pool trusts it in this one.
	CAFile string
	Pool   *x509.CertPool

	srv      *httptest.Server
	mu       sync.Mutex
	vapid    []byte // the application server's public key it expects; nil: learnt from the first push
	browsers map[string]*Browser
	codes    map[string][]int // per browser: answers to successive pushes (then 201)
	hang     chan struct{}
	held     chan struct{} // one per push that started waiting on Hang
	got      chan Push
	bad      chan error
}

// PushOptions configures a PushService.
type PushOptions struct {
	// VAPID is the application server's public key (base64url) that every
	// push must be signed with; empty: whatever key signs the first push,
	// then always that one.
	VAPID string
	// TLS serves https with a self-signed certificate (see CAFile), as a
	// real push service does.
	TLS bool
}

// NewPushService starts a push service; it stops when the test ends.
func NewPushService(t testing.TB, o PushOptions) *PushService {
	t.Helper()
	p := &PushService{browsers: map[string]*Browser{}, codes: map[string][]int{},
		got: make(chan Push, 1000), held: make(chan struct{}, 1000), bad: make(chan error, 100)}
	if o.VAPID != "" {
		pub, err := base64.RawURLEncoding.DecodeString(o.VAPID)
		if err != nil {
			t.Fatal(err)
		}
		p.vapid = pub
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.handle))
	if o.TLS {
		cert, pool, file := SelfSigned(t)
		p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		p.srv.StartTLS()
		p.Pool, p.CAFile = pool, file
	} else {
		p.srv.Start()
	}
	p.URL = p.srv.URL
	t.Cleanup(func() {
		p.Release()
		p.srv.Close()
	})
	return p
}

// Add registers b; pushes to it are answered codes in turn, then 201. It
// returns b's endpoint URL.
func (p *PushService) Add(b *Browser, codes ...int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.browsers[b.Name] = b
	p.codes[b.Name] = codes
	return p.srv.URL + "/push/" + b.Name
}

// Answer sets the answers to the next pushes to browser name.
func (p *PushService) Answer(name string, codes ...int) {
	p.mu.Lock()
	p.codes[name] = codes
	p.mu.Unlock()
}

// Hang makes every push wait, unanswered, until Release (or the end of the test).
func (p *PushService) Hang() {
	p.mu.Lock()
	if p.hang == nil {
		p.hang = make(chan struct{})
	}
	p.mu.Unlock()
}

// Held receives once for each push that began to wait on Hang.
func (p *PushService) Held() <-chan struct{} { return p.held }

// Release ends a Hang.
func (p *PushService) Release() {
	p.mu.Lock()
	if p.hang != nil {
		close(p.hang)
		p.hang = nil
	}
	p.mu.Unlock()
}

// Errors returns the pushes the service refused as malformed.
func (p *PushService) Errors() <-chan error { return p.bad }

// Received returns the channel of accepted pushes, to select on.
func (p *PushService) Received() <-chan Push { return p.got }

func (p *PushService) handle(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	name := strings.TrimPrefix(r.URL.Path, "/push/")
	p.mu.Lock()
	b := p.browsers[name]
	code := http.StatusCreated
	if c := p.codes[name]; len(c) > 0 {
		code, p.codes[name] = c[0], c[1:]
	}
	hang := p.hang
	p.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	fail := func(err error) {
		p.bad <- fmt.Errorf("push to %s: %w", name, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
	if b == nil {
		fail(errors.New("unknown subscription"))
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Encoding") != "aes128gcm" {
		fail(fmt.Errorf("method %s, encoding %q", r.Method, r.Header.Get("Content-Encoding")))
		return
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	sub, err := p.checkVAPID(r.Header.Get("Authorization"), scheme+r.Host)
	if err != nil {
		fail(err)
		return
	}
	plain, err := decrypt(b, body)
	if err != nil {
		fail(err)
		return
	}
	if hang != nil {
		select {
		case p.held <- struct{}{}:
		default:
		}
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(code)
	if code == http.StatusCreated {
		p.got <- Push{Browser: name, Plain: plain, Topic: r.Header.Get("Topic"), Urgency: r.Header.Get("Urgency"),
			TTL: r.Header.Get("TTL"), Sub: sub, At: at, BodyBytes: len(body)}
	}
}

// checkVAPID verifies "vapid t=<JWT>, k=<key>" (RFC 8292 §3): k is the
// expected key, the JWT is ES256-signed by it, aud is the endpoint's origin,
// exp is in the future and at most 24 hours away, sub is a mailto: or https:
// contact. It returns sub.
func (p *PushService) checkVAPID(h, origin string) (string, error) {
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return "", fmt.Errorf("authorization %q is not vapid", h)
	}
	var tok, key string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			tok = v
		case "k":
			key = v
		}
	}
	k, err := base64.RawURLEncoding.DecodeString(key)
	p.mu.Lock()
	if p.vapid == nil && err == nil && len(k) == 65 {
		p.vapid = k
	}
	want := p.vapid
	p.mu.Unlock()
	if err != nil || string(k) != string(want) {
		return "", errors.New("k is not the application server's key")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errors.New("JWT does not have 3 parts")
	}
	var hdr struct{ Typ, Alg string }
	if err := decodeJSON(parts[0], &hdr); err != nil || hdr.Alg != "ES256" {
		return "", fmt.Errorf("JWT header %+v: %v", hdr, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "", errors.New("JWT signature is not 64 bytes (r||s)")
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(k[1:33]), Y: new(big.Int).SetBytes(k[33:65])}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return "", errors.New("JWT signature does not verify with k")
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	if err := decodeJSON(parts[1], &claims); err != nil {
		return "", err
	}
	exp := time.Unix(claims.Exp, 0)
	switch {
	case claims.Aud != origin:
		return "", fmt.Errorf("aud %q, want %q", claims.Aud, origin)
	case !exp.After(time.Now()) || exp.After(time.Now().Add(24*time.Hour)):
		return "", fmt.Errorf("exp %v not within the next 24h", exp)
	case !strings.HasPrefix(claims.Sub, "mailto:") && !strings.HasPrefix(claims.Sub, "https:"):
		return "", fmt.Errorf("sub %q", claims.Sub)
	}
	return claims.Sub, nil
}

func decodeJSON(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// decrypt opens an aes128gcm body (RFC 8188 §2) with the browser's keys as
// RFC 8291 §3.4 derives them, and strips the padding of the single record.
func decrypt(b *Browser, body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen {
		return nil, fmt.Errorf("keyid of %d bytes, want the 65-byte as_public", idlen)
	}
	asPublic, ct := body[21:21+idlen], body[21+idlen:]
	if len(ct) > int(rs) || rs < 18 {
		return nil, fmt.Errorf("ciphertext of %d bytes in records of %d: want one record", len(ct), rs)
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("as_public: %w", err)
	}
	shared, err := b.key.ECDH(as)
	if err != nil {
		return nil, err
	}
	info := append([]byte("WebPush: info\x00"), b.key.PublicKey().Bytes()...)
	info = append(info, asPublic...)
	ikm, err := hkdf.Key(sha256.New, shared, b.auth, string(info), 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != 2 {
		return nil, errors.New("padding delimiter is not 0x02 (last record)")
	}
	return plain[:i], nil
}

// Next returns the next accepted push, failing the test on a refused one
// or after Wait.
func (p *PushService) Next(t testing.TB) Push {
	t.Helper()
	select {
	case d := <-p.got:
		return d
	case err := <-p.bad:
		t.Fatal(err)
	case <-time.After(Wait):
		t.Fatalf("no push within %v", Wait)
	}
	return Push{}
}

// None checks that no push is waiting right now.
func (p *PushService) None(t testing.TB) {
	t.Helper()
	select {
	case d := <-p.got:
		t.Fatalf("unexpected push to %s: %s", d.Browser, d.Plain)
	case err := <-p.bad:
		t.Fatal(err)
	default:
	}
}
