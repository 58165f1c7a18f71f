package auth

import (
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/store"
)

type fakeAdmins struct {
	mu sync.Mutex
	m  map[string]string
}

func (f *fakeAdmins) Admin(name string) (store.Admin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.m[name]
	if !ok {
		return store.Admin{}, store.ErrNotFound
	}
	return store.Admin{Name: name, Hash: h}, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestAuth(t *testing.T) (*Auth, *fakeAdmins, *clock) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	admins := &fakeAdmins{m: map[string]string{"ann": string(h)}}
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a, err := New(Config{TTL: time.Hour, DummyCost: bcrypt.MinCost, Now: c.now}, admins)
	if err != nil {
		t.Fatal(err)
	}
	return a, admins, c
}

func TestLoginVerifyLogout(t *testing.T) {
	a, _, _ := newTestAuth(t)
	tok, exp, err := a.Login("1.2.3.4", "ann", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 43 || exp.IsZero() {
		t.Fatalf("token %q (len %d), expires %v", tok, len(tok), exp)
	}
	if name, ok := a.Verify(tok); !ok || name != "ann" {
		t.Fatalf("Verify = %q, %v", name, ok)
	}
	for _, bad := range []string{"", tok + "x", tok[:42]} {
		if _, ok := a.Verify(bad); ok {
			t.Errorf("Verify(%q) accepted", bad)
		}
	}
	if !a.Logout(tok) {
		t.Fatal("Logout of a live token reported false")
	}
	if _, ok := a.Verify(tok); ok {
		t.Fatal("token still valid after logout")
	}
}

func TestLoginFailures(t *testing.T) {
	a, _, _ := newTestAuth(t)
	for _, tc := range []struct{ name, pw string }{{"ann", "wrong"}, {"bob", "s3cret"}, {"", ""}} {
		if _, _, err := a.Login("1.2.3.4", tc.name, tc.pw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Login(%q,%q) = %v, want ErrBadCredentials", tc.name, tc.pw, err)
		}
	}
}

func TestExpiryAndRemoval(t *testing.T) {
	a, admins, c := newTestAuth(t)
	tok, _, err := a.Login("ip", "ann", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	c.add(59 * time.Minute)
	if _, ok := a.Verify(tok); !ok {
		t.Fatal("token expired early")
	}
	admins.mu.Lock()
	hash := admins.m["ann"]
	delete(admins.m, "ann")
	admins.mu.Unlock()
	if _, ok := a.Verify(tok); ok {
		t.Fatal("token of a removed admin still valid")
	}
	admins.mu.Lock()
	admins.m["ann"] = hash
	admins.mu.Unlock()
	c.add(2 * time.Minute)
	if _, ok := a.Verify(tok); ok {
		t.Fatal("token valid after its TTL")
	}
}

func TestRateLimit(t *testing.T) {
	a, _, c := newTestAuth(t)
	for i := 0; i < 5; i++ {
		if _, _, err := a.Login("9.9.9.9", "ann", "bad"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := a.Login("9.9.9.9", "ann", "s3cret"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("6th attempt from same IP: %v, want ErrRateLimited", err)
	}
	// The name is limited from any IP too.
	if _, _, err := a.Login("8.8.8.8", "ann", "s3cret"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("same name, other IP: %v, want ErrRateLimited", err)
	}
	// Another name from another IP is unaffected.
	if _, _, err := a.Login("8.8.8.8", "bob", "x"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("other name: %v", err)
	}
	c.add(13 * time.Second) // one attempt refills every 12s
	if _, _, err := a.Login("9.9.9.9", "ann", "s3cret"); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	// Successes do not count.
	for i := 0; i < 10; i++ {
		if _, _, err := a.Login("7.7.7.7", "ann", "s3cret"); err != nil {
			t.Fatalf("success %d: %v", i, err)
		}
	}
	c.add(time.Hour)
	a.mu.Lock()
	a.pruneLocked(c.now())
	n, s := len(a.limiters), len(a.sessions)
	a.mu.Unlock()
	if n != 0 || s != 0 {
		t.Fatalf("after an idle hour: %d limiters, %d sessions kept", n, s)
	}
}
