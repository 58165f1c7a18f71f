package seed

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
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
