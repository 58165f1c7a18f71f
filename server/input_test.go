package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/auth"
)

// TestLoginBodyIsTextAsSent: a login body that is not UTF-8 or holds an
// unpaired surrogate escape is refused with 400, never decoded with U+FFFD.
func TestLoginBodyIsTextAsSent(t *testing.T) {
	_, ts := newTestServer(t, "SNAP", "")
	for _, body := range []string{
		"{\"name\":\"ann\xff\",\"password\":\"pw\"}",
		"{\"name\":\"ann\",\"password\":\"p\xc3\"}",
		`{"name":"ann\ud800","password":"pw"}`,
		`{"name":"ann","password":"\udfffpw"}`,
	} {
		if res, msg := do(t, "POST", ts.URL+"/api/login", body, ""); res.StatusCode != 400 || !strings.Contains(msg, "error") {
			t.Errorf("login %q = %d %s, want 400", body, res.StatusCode, msg)
		}
	}
	if res, body := do(t, "POST", ts.URL+"/api/login", `{"name":"\u0061nn","password":"p\u0077"}`, ""); res.StatusCode != 200 {
		t.Fatalf("escaped valid login = %d %s", res.StatusCode, body)
	}
}

// TestLoginLimitGroupsIPv6: login attempts count per address as the hub
// counts them: an attacker rotating addresses inside one /64 is one address.
func TestLoginLimitGroupsIPv6(t *testing.T) {
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	// A frozen clock: no budget refills while a loaded machine runs the 21 bcrypt checks.
	frozen := time.Now()
	au, err := auth.New(auth.Config{DummyCost: bcrypt.MinCost, Now: func() time.Time { return frozen }}, oneAdmin{string(h)})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Hub: stubHub{}, Store: snapshot("x"), Auth: au, Log: zerolog.Nop(), Static: fstest.MapFS{},
		ClientIP: func(r *http.Request) string { return r.Header.Get("X-Test-IP") }})
	try := func(ip, name string) int {
		r := httptest.NewRequest("POST", "/api/login", strings.NewReader(`{"name":"`+name+`","password":"bad"}`))
		r.Header.Set("X-Test-IP", ip)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w.Code
	}
	// One address may fail 20 times across names (auth's address budget,
	// four times the per-name one); addresses rotated inside the /64 share it.
	for i := 0; i < 20; i++ {
		ip := fmt.Sprintf("2001:db8:7:1:%x::%x", i, i+1)
		if code := try(ip, fmt.Sprint("guess", i)); code != 401 {
			t.Fatalf("attempt %d from %s = %d, want 401", i, ip, code)
		}
	}
	if code := try("2001:db8:7:1::99", "guessf"); code != 429 {
		t.Fatalf("21st attempt from the same /64 = %d, want 429", code)
	}
	if code := try("2001:db8:7:2::1", "guessg"); code != 401 {
		t.Fatalf("attempt from the next /64 = %d, want 401", code)
	}
}
