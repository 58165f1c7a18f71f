package push

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/chatd/chatd/internal/atomicfile"
)

// KeysFile is the name of the VAPID key file in the data directory.
const KeysFile = "vapid.json"

// Keys is the server's VAPID key pair (RFC 8292 §3.2): a P-256 key,
// base64url without padding; Public is the uncompressed point (65 bytes),
// the portal's applicationServerKey; Private the scalar (32 bytes).
type Keys struct {
	Public  string `json:"public"`
	Private string `json:"private"`
}

// LoadOrCreateKeys reads dir/vapid.json, or creates it once with a new key
// pair (mode 0600, written atomically). Every push subscription is bound to
// the public key, so the file must survive restarts and go with backups; a
// file readable by others is tightened to 0600. A damaged file is an error
// naming it (a new key would silently break every subscription).
func LoadOrCreateKeys(dir string) (Keys, error) {
	path := filepath.Join(dir, KeysFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		priv, pub, err := webpush.GenerateVAPIDKeys()
		if err != nil {
			return Keys{}, fmt.Errorf("generate VAPID keys: %w", err)
		}
		k := Keys{Public: pub, Private: priv}
		out, _ := json.MarshalIndent(k, "", "  ")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return Keys{}, fmt.Errorf("create data dir %s: %w", dir, err)
		}
		if err := atomicfile.Write(path, append(out, '\n'), 0o600); err != nil {
			return Keys{}, fmt.Errorf("save VAPID keys: %w", err)
		}
		return k, nil
	}
	if err != nil {
		return Keys{}, fmt.Errorf("read VAPID keys: %w", err)
	}
	var k Keys
	if err := json.Unmarshal(b, &k); err != nil {
		return Keys{}, fmt.Errorf("VAPID key file %s is damaged (%v); restore it from a backup, or delete it to make new keys (every agent must then enable push again)", path, err)
	}
	if err := k.check(); err != nil {
		return Keys{}, fmt.Errorf("VAPID key file %s: %w; restore it from a backup, or delete it to make new keys (every agent must then enable push again)", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return Keys{}, fmt.Errorf("tighten %s to 0600: %w", path, err)
		}
	}
	return k, nil
}

// check verifies that Private is a P-256 scalar whose public point is Public.
func (k Keys) check() error {
	priv, err := base64.RawURLEncoding.DecodeString(k.Private)
	if err != nil || len(priv) != 32 {
		return errors.New("private key is not 32 bytes of base64url")
	}
	pk, err := ecdh.P256().NewPrivateKey(priv)
	if err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	pub, err := base64.RawURLEncoding.DecodeString(k.Public)
	if err != nil || string(pk.PublicKey().Bytes()) != string(pub) {
		return errors.New("public key does not match the private key")
	}
	return nil
}

// SetKeys replaces the Sender's VAPID key pair (a cluster adopts the one key
// pair all its nodes share, cmd/chatd): later pushes are signed with k and
// PublicKey returns k's public key. Subscriptions made with the previous
// key no longer receive pushes from this Sender.
func (s *Sender) SetKeys(k Keys) error {
	if err := k.check(); err != nil {
		return fmt.Errorf("push: VAPID keys: %w", err)
	}
	s.keys.Store(&k)
	return nil
}
