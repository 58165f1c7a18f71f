package push

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
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

// browser is one push subscription's private side, as a browser keeps it.
type browser struct {
	name string
	key  *ecdh.PrivateKey
	auth []byte
}

func newBrowser(t testing.TB, name string) *browser {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return &browser{name: name, key: k, auth: auth}
}

// subscription is the PushSubscription JSON the browser would hand the portal.
func (b *browser) subscription(endpoint string) []byte {
	raw, _ := json.Marshal(map[string]any{"endpoint": endpoint, "expirationTime": nil, "keys": map[string]string{
		"p256dh": base64.RawURLEncoding.EncodeToString(b.key.PublicKey().Bytes()),
		"auth":   base64.RawURLEncoding.EncodeToString(b.auth),
	}})
	return raw
}

// delivery is one push the endpoint accepted, decrypted and verified.
type delivery struct {
	browser   string
	plain     []byte
	topic     string
	urgency   string
	ttl       string
	sub       string // the VAPID JWT's sub claim
	at        time.Time
	bodyBytes int
}

// pushService is a push endpoint on 127.0.0.1 that does what a real push
// service and the browser do together: checks the VAPID JWT (RFC 8292) and
// decrypts the aes128gcm payload with the subscription's keys (RFC 8291,
// RFC 8188). It was written from the RFCs, not from webpush-go.
type pushService struct {
	srv      *httptest.Server
	vapid    []byte // the application server's public key it expects
	mu       sync.Mutex
	browsers map[string]*browser
	codes    map[string][]int // per browser: answers to successive pushes (then 201)
	got      chan delivery
	bad      chan error
}

func newPushService(t testing.TB, vapidPublic string) *pushService {
	pub, err := base64.RawURLEncoding.DecodeString(vapidPublic)
	if err != nil {
		t.Fatal(err)
	}
	p := &pushService{vapid: pub, browsers: map[string]*browser{}, codes: map[string][]int{},
		got: make(chan delivery, 1000), bad: make(chan error, 100)}
	p.srv = httptest.NewServer(http.HandlerFunc(p.handle))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pushService) add(b *browser, codes ...int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.browsers[b.name] = b
	p.codes[b.name] = codes
	return p.srv.URL + "/push/" + b.name
}

func (p *pushService) handle(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	name := strings.TrimPrefix(r.URL.Path, "/push/")
	p.mu.Lock()
	b := p.browsers[name]
	code := http.StatusCreated
	if c := p.codes[name]; len(c) > 0 {
		code, p.codes[name] = c[0], c[1:]
	}
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
	sub, err := p.checkVAPID(r.Header.Get("Authorization"), "http://"+r.Host)
	if err != nil {
		fail(err)
		return
	}
	plain, err := decrypt(b, body)
	if err != nil {
		fail(err)
		return
	}
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(code)
	if code == http.StatusCreated {
		p.got <- delivery{browser: name, plain: plain, topic: r.Header.Get("Topic"), urgency: r.Header.Get("Urgency"),
			ttl: r.Header.Get("TTL"), sub: sub, at: at, bodyBytes: len(body)}
	}
}

// checkVAPID verifies "vapid t=<JWT>, k=<key>" (RFC 8292 §3): k is the
// expected key, the JWT is ES256-signed by it, aud is the endpoint's origin,
// exp is in the future and at most 24 hours away, sub is a mailto: or https:
// contact. It returns sub.
func (p *pushService) checkVAPID(h, origin string) (string, error) {
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
	if err != nil || string(k) != string(p.vapid) {
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
func decrypt(b *browser, body []byte) ([]byte, error) {
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

func (p *pushService) next(t testing.TB) delivery {
	t.Helper()
	select {
	case d := <-p.got:
		return d
	case err := <-p.bad:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("no push within 10s")
	}
	return delivery{}
}

func (p *pushService) none(t testing.TB) {
	t.Helper()
	select {
	case d := <-p.got:
		t.Fatalf("unexpected push to %s: %s", d.browser, d.plain)
	case err := <-p.bad:
		t.Fatal(err)
	default:
	}
}
