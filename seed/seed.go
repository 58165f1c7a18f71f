// Package seed keeps the admins seed file (admins.json in the data directory),
// the source of truth for support agents: it is read, validated and reseeded
// into the store at every boot and whenever it changes (Watch), and edited by
// `chatd admin set/remove`. Entries carry a login name, a bcrypt hash, a role
// (admin or agent; none means admin) and an optional display name.
package seed

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/internal/atomicfile"
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
		return nil, fmt.Errorf("admins seed file %s: not a JSON array of {\"name\",\"hash\",\"role\",\"display\"}: %w", path, err)
	}
	if err := Validate(admins); err != nil {
		return nil, fmt.Errorf("admins seed file %s: %w", path, err)
	}
	return admins, nil
}

// Validate checks that names are valid and unique, hashes bcrypt, roles
// known and display names showable.
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
		if a.Role != "" {
			if err := store.ValidRole(a.Role); err != nil {
				return fmt.Errorf("entry %d (%q): %w", i, a.Name, err)
			}
		}
		if a.Display != "" {
			if err := ValidDisplay(a.Display); err != nil {
				return fmt.Errorf("entry %d (%q): %w", i, a.Name, err)
			}
		}
		if a.TOTP != "" {
			if err := ValidTOTP(a.TOTP); err != nil {
				return fmt.Errorf("entry %d (%q): %w", i, a.Name, err)
			}
		}
	}
	return nil
}

// ValidTOTP reports whether s can be a TOTP secret: base32 (RFC 4648,
// padding optional, as authenticator apps write it) of at least 16 bytes.
func ValidTOTP(s string) error {
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(strings.ToUpper(s), "="))
	if err != nil || len(b) < 16 {
		return errors.New("totp secret must be base32 of at least 16 bytes")
	}
	return nil
}

// ValidName reports whether name can be an admin name: at most MaxName
// bytes, no white space around it, and the name rule of package names
// (visible, no control, bidi or invisible characters), as for visitors.
func ValidName(name string) error {
	switch {
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

// ValidDisplay reports whether d can be a display name: the name rule of
// package names (as for visitor and login names), at most
// store.MaxDisplayLen characters, no white space around it.
func ValidDisplay(d string) error {
	if strings.TrimSpace(d) != d {
		return fmt.Errorf("display name %q has white space around it", d)
	}
	if err := names.Check(d, store.MaxDisplayLen); err != nil {
		return fmt.Errorf("display name %+q: %w", d, err)
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

// writeAtomic replaces the seed file (mode 0600; owned like the data
// directory when run as root).
func writeAtomic(path string, b []byte) error {
	return atomicfile.WriteWith(path, 0o600, func(f *os.File) error {
		if err := ChownLikeDir(f, filepath.Dir(path)); err != nil {
			return err
		}
		_, err := f.Write(b)
		return err
	})
}

// Set adds admin name with a bcrypt hash of password (at cost) or replaces
// its hash, keeping its role and display name. A new entry gets RoleAgent.
func Set(dir, name, password string, cost int) error {
	_, err := SetWith(dir, name, Change{Password: password, Cost: cost})
	return err
}

// Change is what SetWith changes in an entry; nil and empty fields keep the
// current value.
type Change struct {
	Password string  // new password (ValidPassword); required for a new entry
	Cost     int     // bcrypt cost of the new hash
	Role     *string // store.RoleAdmin or store.RoleAgent; a new entry defaults to RoleAgent
	Display  *string // display name; "" removes it (visitors then see store.DefaultDisplay)
	TOTP     *string // TOTP secret (base32); "" turns two-factor login off
}

// ErrPasswordRequired is returned by SetWith for a new entry without a password.
var ErrPasswordRequired = errors.New("a new admin needs a password: write it as one line on stdin")

// SetWith adds or changes entry name as c says and returns the entry saved.
func SetWith(dir, name string, c Change) (store.Admin, error) {
	if err := ValidName(name); err != nil {
		return store.Admin{}, err
	}
	if c.Role != nil {
		if err := store.ValidRole(*c.Role); err != nil {
			return store.Admin{}, err
		}
	}
	if c.Display != nil && *c.Display != "" {
		if err := ValidDisplay(*c.Display); err != nil {
			return store.Admin{}, err
		}
	}
	var hash []byte
	if c.Password != "" {
		if err := ValidPassword(c.Password); err != nil {
			return store.Admin{}, err
		}
		var err error
		if hash, err = bcrypt.GenerateFromPassword([]byte(c.Password), c.Cost); err != nil {
			return store.Admin{}, fmt.Errorf("hash password: %w", err)
		}
	}
	admins, err := Load(dir)
	if err != nil {
		return store.Admin{}, err
	}
	i := slices.IndexFunc(admins, func(a store.Admin) bool { return a.Name == name })
	if i < 0 {
		if err := newLogin(admins, name); err != nil {
			return store.Admin{}, err
		}
		if hash == nil {
			return store.Admin{}, fmt.Errorf("%q: %w", name, ErrPasswordRequired)
		}
		admins = append(admins, store.Admin{Name: name, Role: store.RoleAgent})
		i = len(admins) - 1
	}
	a := &admins[i]
	if hash != nil {
		a.Hash = string(hash)
	}
	if c.Role != nil {
		a.Role = *c.Role
	}
	if c.Display != nil {
		a.Display = *c.Display
	}
	if c.TOTP != nil {
		a.TOTP = *c.TOTP
	}
	saved := *a
	return saved, Save(dir, admins)
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
// The caller logs the password once; it is never stored in clear. An error
// wrapping atomicfile.ErrNotDurable comes with the admins and password: the
// file holds them (a crash may lose it, and a new admin is made next start).
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
	admins = []store.Admin{{Name: DefaultAdmin, Hash: string(hash), Role: store.RoleAdmin}}
	if err := Save(dir, admins); errors.Is(err, atomicfile.ErrNotDurable) {
		// The file holds the new admin: its password must be shown now, or
		// nobody could ever log in with it.
		return admins, password, err
	} else if err != nil {
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
