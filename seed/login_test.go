package seed

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/store"
)

// New logins follow the login rule in every path that creates one
// (SetWith: the CLI and the agents API); admins-file entries written before
// it still load and can be changed, with a warning (Legacy).
func TestLoginRule(t *testing.T) {
	dir := t.TempDir()
	hash, _ := bcrypt.GenerateFromPassword([]byte("password!"), 4)
	// A file written before the rule: Alice and alice both, a space, Cyrillic.
	legacy := []store.Admin{{Name: "Alice", Hash: string(hash), Role: "admin"}, {Name: "alice", Hash: string(hash)},
		{Name: "mary ann", Hash: string(hash)}, {Name: "\u0430dmin", Hash: string(hash)}}
	if err := Save(dir, legacy); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil || len(got) != 4 {
		t.Fatalf("a file from before the rule must load: %v %v", got, err)
	}
	if l := Legacy(got); len(l) != 4 {
		t.Fatalf("legacy %v, want all four (Alice, its case twin, a space, Cyrillic)", l)
	}
	// Changing a legacy entry is allowed (nobody is locked out).
	d := "Mary Ann"
	if _, err := SetWith(dir, "mary ann", Change{Display: &d, Cost: 4}); err != nil {
		t.Fatalf("change a legacy entry: %v", err)
	}
	for _, tc := range []struct{ name, why string }{
		{"ALICE", "upper case"},
		{"Bob", "upper case, new"},
		{"\u0430lice2", "Cyrillic a"},
		{"bob\u0131", "dotless i"},
		{"a/b", "slash"},
		{"a b", "space"},
		{"<b>x</b>", "markup"},
		{"", "empty"},
		{".bob", "leading dot"},
		{"-bob", "leading dash"},
		{"b\u00f6b", "non-ASCII letter"},
		{"bob\u200b", "invisible"},
		{strings.Repeat("a", 65), "too long"},
	} {
		if _, err := SetWith(dir, tc.name, Change{Password: "password!", Cost: 4}); err == nil {
			t.Errorf("%s (%+q) was accepted as a new login", tc.why, tc.name)
		}
	}
	if _, err := SetWith(dir, "ALICE", Change{Password: "password!", Cost: 4}); !errors.Is(err, ErrBadLogin) {
		t.Errorf("a case twin of an existing login: %v", err)
	}
	for _, ok := range []string{"bob", "b.o_b-2", "0day", "x"} {
		if _, err := SetWith(dir, ok, Change{Password: "password!", Cost: 4}); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}
