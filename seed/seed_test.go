package seed

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/store"
)

func TestSetRemoveLoad(t *testing.T) {
	dir := t.TempDir()
	if err := Set(dir, "ann", "pw1", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := Set(dir, "bob", "pw2", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := Set(dir, "ann", "pw3", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	admins, err := Load(dir)
	if err != nil || len(admins) != 2 || admins[0].Name != "ann" || admins[1].Name != "bob" {
		t.Fatalf("Load = %+v, %v", admins, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(admins[0].Hash), []byte("pw3")) != nil {
		t.Fatal("ann's password was not replaced")
	}
	fi, err := os.Stat(Path(dir))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("seed file mode %v, %v", fi.Mode(), err)
	}
	if err := Remove(dir, "ann"); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir, "ann"); !errors.Is(err, ErrNoSuchAdmin) {
		t.Fatalf("second Remove = %v", err)
	}
	admins, _ = Load(dir)
	if len(admins) != 1 || admins[0].Name != "bob" {
		t.Fatalf("after remove: %+v", admins)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".admins-*"))
	if len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestEnsure(t *testing.T) {
	dir := t.TempDir()
	admins, pw, err := Ensure(dir, bcrypt.MinCost)
	if err != nil || len(admins) != 1 || admins[0].Name != DefaultAdmin || len(pw) < 16 {
		t.Fatalf("first Ensure = %+v, %q, %v", admins, pw, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(admins[0].Hash), []byte(pw)) != nil {
		t.Fatal("hash does not match the password")
	}
	again, pw2, err := Ensure(dir, bcrypt.MinCost)
	if err != nil || pw2 != "" || len(again) != 1 || again[0].Hash != admins[0].Hash {
		t.Fatalf("second Ensure = %+v, %q, %v", again, pw2, err)
	}
}

func TestLoadRejects(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	h := string(hash)
	for _, tc := range []struct{ name, body, want string }{
		{"not json", `{nope`, "not a JSON array"},
		{"object", `{"name":"a"}`, "not a JSON array"},
		{"empty name", `[{"name":"","hash":"` + h + `"}]`, "empty"},
		{"duplicate", `[{"name":"a","hash":"` + h + `"},{"name":"a","hash":"` + h + `"}]`, "duplicate"},
		{"bad hash", `[{"name":"a","hash":"plaintext"}]`, "not bcrypt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(Path(dir), []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), Path(dir)) {
				t.Fatalf("Load = %v, want an error naming the file and %q", err, tc.want)
			}
		})
	}
}

func TestRolesAndDisplayNames(t *testing.T) {
	dir := t.TempDir()
	str := func(s string) *string { return &s }
	// Entries written before roles existed are admins.
	hash, _ := bcrypt.GenerateFromPassword([]byte("old"), bcrypt.MinCost)
	if err := os.WriteFile(Path(dir), []byte(`[{"name":"old","hash":"`+string(hash)+`"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Set(dir, "new", "pw", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	a, err := SetWith(dir, "new", Change{Display: str("Alice from Acme")})
	if err != nil || a.Display != "Alice from Acme" || a.Role != store.RoleAgent {
		t.Fatalf("display only: %+v, %v", a, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(a.Hash), []byte("pw")) != nil {
		t.Fatal("setting a display name changed the password")
	}
	if a, err = SetWith(dir, "new", Change{Role: str(store.RoleAdmin), Password: "pw2", Cost: bcrypt.MinCost}); err != nil || a.Role != store.RoleAdmin || a.Display != "Alice from Acme" {
		t.Fatalf("role and password: %+v, %v", a, err)
	}
	if _, err := SetWith(dir, "nobody", Change{Display: str("X")}); !errors.Is(err, ErrPasswordRequired) {
		t.Fatalf("new entry without password: %v", err)
	}
	for _, bad := range []Change{{Role: str("root")}, {Display: str("\u202Eevil")}, {Display: str("\u200B")}, {Display: str(" pad")},
		{Display: str(strings.Repeat("x", 65))}} {
		if _, err := SetWith(dir, "new", bad); err == nil {
			t.Errorf("SetWith(%+v) accepted", bad)
		}
	}
	if _, err := SetWith(dir, "new", Change{Display: str("")}); err != nil {
		t.Fatal(err)
	}
	admins, err := Load(dir)
	if err != nil || len(admins) != 2 {
		t.Fatalf("Load: %+v, %v", admins, err)
	}
	if admins[0].Name != "new" || admins[0].Display != "" || admins[0].EffectiveRole() != store.RoleAdmin {
		t.Fatalf("new = %+v", admins[0])
	}
	if admins[1].Name != "old" || admins[1].Role != "" || admins[1].EffectiveRole() != store.RoleAdmin || admins[1].DisplayName() != store.DefaultDisplay {
		t.Fatalf("old = %+v", admins[1])
	}
	for _, name := range []string{"\u202Eevil", "\u3164", "a\u200Bb", ""} {
		if err := Set(dir, name, "pw", bcrypt.MinCost); err == nil {
			t.Errorf("login name %q accepted", name)
		}
	}
}

func TestLoadRejectsRolesAndDisplays(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	h := string(hash)
	for _, tc := range []struct{ name, body, want string }{
		{"unknown role", `[{"name":"a","hash":"` + h + `","role":"root"}]`, "role"},
		{"bidi display", `[{"name":"a","hash":"` + h + `","display":"\u202Eevil"}]`, "display"},
		{"blank display", `[{"name":"a","hash":"` + h + `","display":"\u3164"}]`, "display"},
		{"bidi login", `[{"name":"\u202Eadmin","hash":"` + h + `"}]`, "admin name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(Path(dir), []byte(tc.body), 0o600)
			if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), Path(dir)) {
				t.Fatalf("Load = %v, want an error naming the file and %q", err, tc.want)
			}
		})
	}
}

func TestFixMode(t *testing.T) {
	dir := t.TempDir()
	if fixed, err := FixMode(dir); fixed || err != nil {
		t.Fatalf("missing file: %v %v", fixed, err)
	}
	Set(dir, "a", "pw", bcrypt.MinCost)
	os.Chmod(Path(dir), 0o644)
	if fixed, err := FixMode(dir); !fixed || err != nil {
		t.Fatalf("0644 file: %v %v", fixed, err)
	}
	if fi, _ := os.Stat(Path(dir)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode after fix %v", fi.Mode())
	}
	if fixed, _ := FixMode(dir); fixed {
		t.Fatal("fixed a 0600 file")
	}
}

// TestWatch: a change is applied without a trigger, a trigger applies at
// once, a broken or empty file is reported and not applied.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	Set(dir, "a", "pw", bcrypt.MinCost)
	since, _ := Stat(dir)
	applied := make(chan []store.Admin, 10)
	errs := make(chan error, 10)
	now := make(chan chan error)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Watch(ctx, dir, 20*time.Millisecond, since,
			now, func(a []store.Admin) error { applied <- a; return nil }, func(err error) { errs <- err })
	}()
	defer func() { cancel(); <-done }()
	wait := func() []store.Admin {
		t.Helper()
		select {
		case a := <-applied:
			return a
		case err := <-errs:
			t.Fatalf("error instead of apply: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("nothing applied")
		}
		return nil
	}
	Set(dir, "b", "pw", bcrypt.MinCost)
	if a := wait(); len(a) != 2 {
		t.Fatalf("applied %+v", a)
	}
	reply := make(chan error, 1)
	now <- reply
	if a := wait(); len(a) != 2 || <-reply != nil {
		t.Fatalf("trigger applied %+v", a)
	}
	for _, body := range []string{`[{"name":`, `[]`} {
		os.WriteFile(Path(dir), []byte(body), 0o600)
		select {
		case err := <-errs:
			if !strings.Contains(err.Error(), Path(dir)) {
				t.Fatalf("error does not name the file: %v", err)
			}
		case a := <-applied:
			t.Fatalf("applied %q: %+v", body, a)
		case <-time.After(10 * time.Second):
			t.Fatalf("%q not reported", body)
		}
	}
}
