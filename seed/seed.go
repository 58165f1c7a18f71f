// Package seed keeps the admins seed file (admins.json in the data directory),
// the source of truth for support agents: it is read, validated and reseeded
// into the store at every boot, and edited by `chatd admin set/remove`.
package seed

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/internal/jsontext"
	"github.com/chatd/chatd/internal/names"
	"github.com/chatd/chatd/store"
)

// FileName is the seed file's name inside the data directory.
const FileName = "admins.json"

// DefaultAdmin is the name of the admin created when the seed file has none.
const DefaultAdmin = "admin"

// MaxName is the longest admin name accepted, in bytes.
const MaxName = 64

// Path returns the seed file's path in data directory dir.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Load reads and validates the seed file in dir. A missing file is an empty list.
func Load(dir string) ([]store.Admin, error) {
	path := Path(dir)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read admins seed file %s: %w", path, err)
	}
	if err := jsontext.Check(b); err != nil { // names are compared as sent, never with U+FFFD
		return nil, fmt.Errorf("admins seed file %s: %w", path, err)
	}
	var admins []store.Admin
	if err := json.Unmarshal(b, &admins); err != nil {
		return nil, fmt.Errorf("admins seed file %s: not a JSON array of {\"name\",\"hash\"}: %w", path, err)
	}
	if err := Validate(admins); err != nil {
		return nil, fmt.Errorf("admins seed file %s: %w", path, err)
	}
	return admins, nil
}

// Validate checks that names are non-empty, short and unique and that hashes are bcrypt.
func Validate(admins []store.Admin) error {
	seen := make(map[string]bool, len(admins))
	for i, a := range admins {
		if err := ValidName(a.Name); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if seen[a.Name] {
			return fmt.Errorf("entry %d: duplicate name %q", i, a.Name)
		}
		seen[a.Name] = true
		if _, err := bcrypt.Cost([]byte(a.Hash)); err != nil {
			return fmt.Errorf("entry %d (%q): hash is not bcrypt: %w", i, a.Name, err)
		}
	}
	return nil
}

// ValidName reports whether name can be an admin name: at most MaxName
// bytes, no white space around it, and the name rule of package names
// (visible, no control, bidi or invisible characters), as for visitors.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("admin name is empty")
	case len(name) > MaxName:
		return fmt.Errorf("admin name longer than %d bytes", MaxName)
	case name != strings.TrimSpace(name):
		return fmt.Errorf("admin name %q has white space around it", name)
	}
	if err := names.Check(name, 0); err != nil {
		return fmt.Errorf("admin name %+q: %w", name, err)
	}
	return nil
}

// Save writes admins to the seed file in dir atomically (temp file, fsync,
// rename, directory fsync) with mode 0600, sorted by name.
func Save(dir string, admins []store.Admin) error {
	if err := Validate(admins); err != nil {
		return err
	}
	sorted := append([]store.Admin(nil), admins...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	if sorted == nil {
		sorted = []store.Admin{}
	}
	b, err := json.MarshalIndent(sorted, "", "  ")
	if err != nil {
		return fmt.Errorf("encode admins: %w", err)
	}
	b = append(b, '\n')
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir %s: %w", dir, err)
	}
	return writeAtomic(Path(dir), b)
}

func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".admins-*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op once renamed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// Set adds admin name with a bcrypt hash of password (at cost) or replaces its hash.
func Set(dir, name, password string, cost int) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if password == "" {
		return errors.New("password is empty")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	admins, err := Load(dir)
	if err != nil {
		return err
	}
	replaced := false
	for i := range admins {
		if admins[i].Name == name {
			admins[i].Hash = string(hash)
			replaced = true
		}
	}
	if !replaced {
		admins = append(admins, store.Admin{Name: name, Hash: string(hash)})
	}
	return Save(dir, admins)
}

// ErrNoSuchAdmin is returned by Remove for a name not in the seed file.
var ErrNoSuchAdmin = errors.New("no such admin")

// Remove deletes admin name from the seed file.
func Remove(dir, name string) error {
	admins, err := Load(dir)
	if err != nil {
		return err
	}
	kept := admins[:0]
	for _, a := range admins {
		if a.Name != name {
			kept = append(kept, a)
		}
	}
	if len(kept) == len(admins) {
		return fmt.Errorf("remove %q: %w", name, ErrNoSuchAdmin)
	}
	return Save(dir, kept)
}

// Ensure loads the seed file and, when it lists no admin, creates DefaultAdmin
// with a random password, saves it and returns that password (else "").
// The caller logs the password once; it is never stored in clear.
func Ensure(dir string, cost int) (admins []store.Admin, password string, err error) {
	admins, err = Load(dir)
	if err != nil || len(admins) > 0 {
		return admins, "", err
	}
	password, err = RandomPassword(20)
	if err != nil {
		return nil, "", err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return nil, "", fmt.Errorf("hash password: %w", err)
	}
	admins = []store.Admin{{Name: DefaultAdmin, Hash: string(hash)}}
	if err := Save(dir, admins); err != nil {
		return nil, "", err
	}
	return admins, password, nil
}

// RandomPassword returns n characters from an unambiguous alphabet, read from crypto/rand.
func RandomPassword(n int) (string, error) {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("random password: %w", err)
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b), nil
}
