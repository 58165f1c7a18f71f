package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/internal/names"
)

// A visitor's profile is what it told about itself besides its name: a
// contact e-mail address, attributes its site set (plan, order id...), the
// site's user id when the site vouched for it (a verified identity), and how
// far it has read its conversation. It lives in collection "profiles", one
// small document per visitor (id = visitor id), apart from the visitor
// document, so that none of these changes rewrites that one.
//
// A visitor holds one token per device: the one it was created with (kept on
// the visitor document, as always) and any number of further device tokens
// issued when a verified identity opens the same visitor on another device
// (collection "tokens", id = the token's SHA-256, never the token).

// Limits of a profile, enforced whatever the caller checked.
const (
	MaxEmailLen     = 254  // bytes of an e-mail address (RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its brackets)
	MaxAttributes   = 32   // entries of a visitor's attributes
	MaxAttributeKey = 64   // bytes of one attribute key
	MaxAttributeVal = 1024 // bytes of one attribute value
	MaxIdentityLen  = 256  // bytes of a site user id
	MaxDeviceTokens = 20   // device tokens kept per visitor besides its first; the oldest goes first
)

// Profile is a visitor's profile (see above). The zero Profile with ID set is
// the profile of a visitor that never told anything.
type Profile struct {
	ID         string            `json:"id"`
	Email      string            `json:"email,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Identity   string            `json:"identity,omitempty"` // verified site user id
	Updated    time.Time         `json:"updated"`
}

// deviceToken is one further token of a visitor.
type deviceToken struct {
	Hash    string    `json:"id"`
	Visitor string    `json:"visitor"`
	Created time.Time `json:"created"`
}

// profiles holds the profile and device token collections.
type profiles struct {
	mu     sync.Mutex // read-modify-write of profiles and identity binding
	docs   *db.Collection[Profile]
	tokens *db.Collection[deviceToken]
}

func newProfiles(d *db.DB) (*profiles, error) {
	docs, err := db.NewCollection(d, db.Schema[Profile]{
		Name:    "profiles",
		ID:      func(p *Profile) string { return p.ID },
		Indices: []db.Index{{Name: "identity", Fields: []string{"identity"}, Unique: true}},
	})
	if err != nil {
		return nil, err
	}
	tokens, err := db.NewCollection(d, db.Schema[deviceToken]{
		Name:    "tokens",
		ID:      func(t *deviceToken) string { return t.Hash },
		Indices: []db.Index{{Name: "visitor", Fields: []string{"visitor"}}},
	})
	if err != nil {
		return nil, err
	}
	return &profiles{docs: docs, tokens: tokens}, nil
}

// Profile returns visitor id's profile: ErrNotFound for an unknown visitor,
// a Profile with only ID set for a visitor that never told anything.
func (s *Store) Profile(id string) (Profile, error) {
	if id == "" || !s.visitors.Has(id) {
		return Profile{}, fmt.Errorf("%w: visitor %q", ErrNotFound, id)
	}
	p, err := s.prof.docs.Get(id)
	if errors.Is(err, db.ErrNotFound) {
		return Profile{ID: id}, nil
	}
	if err != nil {
		return Profile{}, fmt.Errorf("read profile: %w", err)
	}
	return p, nil
}

// changeProfile runs fn on visitor id's profile under the profile lock and
// stores the result when fn reports a change.
func (s *Store) changeProfile(ctx context.Context, id string, fn func(*Profile) (bool, error)) (Profile, bool, error) {
	s.prof.mu.Lock()
	defer s.prof.mu.Unlock()
	return s.changeProfileLocked(ctx, id, fn)
}

func (s *Store) changeProfileLocked(ctx context.Context, id string, fn func(*Profile) (bool, error)) (Profile, bool, error) {
	if id == "" || !s.visitors.Has(id) || s.barred(id) {
		return Profile{}, false, fmt.Errorf("%w: visitor %q", ErrNotFound, id)
	}
	p, err := s.prof.docs.Get(id)
	exists := err == nil
	switch {
	case errors.Is(err, db.ErrNotFound):
		p = Profile{ID: id}
	case err != nil:
		return Profile{}, false, fmt.Errorf("read profile: %w", err)
	}
	old := p
	old.Attributes = maps.Clone(p.Attributes)
	changed, err := fn(&p)
	if err != nil || !changed {
		return old, false, err
	}
	p.Updated = s.now()
	if exists {
		err = s.prof.docs.Update(ctx, p)
	} else {
		_, err = s.prof.docs.Insert(ctx, p)
	}
	if errors.Is(err, db.ErrDuplicate) {
		return old, false, fmt.Errorf("%w: identity already bound to another visitor", ErrInvalid)
	}
	if err != nil {
		return old, false, fmt.Errorf("store profile: %w", err)
	}
	s.search.setVisitor(id, s.nameOf(id), p.Email, p.Attributes) // searchable by e-mail and attributes
	return p, true, nil
}

// SetEmail stores email as visitor id's contact address. The caller checks
// its syntax (the hub uses the mail package's rule); the model only refuses
// what can never be an address: empty, longer than MaxEmailLen, invalid
// UTF-8 or control characters (ErrInvalid). The same address again changes
// nothing (changed false).
func (s *Store) SetEmail(ctx context.Context, id, email string) (changed bool, err error) {
	if email == "" || len(email) > MaxEmailLen || !utf8.ValidString(email) || hiddenIn(email) {
		return false, fmt.Errorf("%w: e-mail must be 1 to %d bytes of text", ErrInvalid, MaxEmailLen)
	}
	_, changed, err = s.changeProfile(ctx, id, func(p *Profile) (bool, error) {
		if p.Email == email {
			return false, nil
		}
		p.Email = email
		return true, nil
	})
	return changed, err
}

// CheckAttributes refuses a set of attributes the model would not store:
// more than MaxAttributes entries, an empty key, a key over MaxAttributeKey or
// a value over MaxAttributeVal bytes, invalid UTF-8, or control, format or
// other invisible characters (names.Hidden) in a key (ErrInvalid, saying which).
func CheckAttributes(set map[string]string) error {
	if len(set) > MaxAttributes {
		return fmt.Errorf("%w: at most %d attributes", ErrInvalid, MaxAttributes)
	}
	for k, v := range set {
		switch {
		case k == "" || len(k) > MaxAttributeKey:
			return fmt.Errorf("%w: attribute names are 1 to %d bytes", ErrInvalid, MaxAttributeKey)
		case !utf8.ValidString(k):
			return fmt.Errorf("%w: attribute names are text without control characters", ErrInvalid)
		case hiddenIn(k):
			return fmt.Errorf("%w: attribute names may not hold control, format or invisible characters", ErrInvalid)
		case len(v) > MaxAttributeVal:
			return fmt.Errorf("%w: attribute %q is longer than %d bytes", ErrInvalid, k, MaxAttributeVal)
		case !utf8.ValidString(v):
			return fmt.Errorf("%w: attribute %q is not valid UTF-8", ErrInvalid, k)
		}
	}
	return nil
}

// ApplyAttributes is the merge rule of MergeAttributes, for every store:
// cur with each key of set taking its new value, an empty value removing the
// key (set already passed CheckAttributes). changed is false when the result
// equals cur; more than MaxAttributes entries is ErrInvalid. cur is not
// modified; an empty result is nil.
func ApplyAttributes(cur, set map[string]string) (next map[string]string, changed bool, err error) {
	next = maps.Clone(cur)
	if next == nil {
		next = map[string]string{}
	}
	for k, v := range set {
		if v == "" {
			delete(next, k)
		} else {
			next[k] = v
		}
	}
	if len(next) > MaxAttributes {
		return nil, false, fmt.Errorf("%w: a visitor holds at most %d attributes", ErrInvalid, MaxAttributes)
	}
	if maps.Equal(next, cur) || (len(next) == 0 && len(cur) == 0) {
		return cur, false, nil
	}
	if len(next) == 0 {
		next = nil
	}
	return next, true, nil
}

// MergeAttributes merges set into visitor id's attributes: each key takes its
// new value, an empty value removes the key. It returns the attributes after
// the merge. A set that CheckAttributes refuses, or a merge that would hold
// more than MaxAttributes entries, is ErrInvalid and changes nothing.
func (s *Store) MergeAttributes(ctx context.Context, id string, set map[string]string) (attrs map[string]string, changed bool, err error) {
	if err := CheckAttributes(set); err != nil {
		return nil, false, err
	}
	p, changed, err := s.changeProfile(ctx, id, func(p *Profile) (bool, error) {
		next, changed, err := ApplyAttributes(p.Attributes, set)
		if changed {
			p.Attributes = next
		}
		return changed, err
	})
	if err != nil {
		return nil, false, err
	}
	return p.Attributes, changed, nil
}

// SetSeen records that visitor id has seen its conversation up to offset:
// the conversation's visitor_seen (SetVisitorSeen: it only grows and is
// capped at the conversation's latest message), where the inbox keeps it.
func (s *Store) SetSeen(ctx context.Context, id string, offset uint64) (seen uint64, changed bool, err error) {
	c, changed, err := s.SetVisitorSeen(ctx, id, offset)
	return c.VisitorSeen, changed, err
}

// VisitorByIdentity finds the visitor bound to site user id uid; ErrNotFound if none.
func (s *Store) VisitorByIdentity(uid string) (Visitor, error) {
	if uid == "" {
		return Visitor{}, fmt.Errorf("%w: empty identity", ErrNotFound)
	}
	p, err := s.prof.docs.FindOne("identity", uid)
	if err != nil {
		return Visitor{}, mapErr(err)
	}
	return s.Visitor(p.ID)
}

// Identified is what Identify did.
type Identified struct {
	Visitor Visitor
	// Token is a new token for this device, or "" when the device keeps the
	// token it came with (it already belonged to this visitor).
	Token string
	// Created: a new visitor was made; Bound: the device's visitor (until now
	// anonymous) was bound to the identity.
	Created, Bound bool
}

// Identify returns the visitor of site user id uid, which the caller has
// verified. current is the visitor this device's token restored ("" for
// none). In one critical section:
//   - uid already has a visitor: that one; a device that is not already its
//     own gets a new device token (the visitor keeps its other ones; beyond
//     MaxDeviceTokens the oldest is dropped);
//   - else, current has no identity yet: current is bound to uid (what the
//     visitor wrote before signing in stays its conversation);
//   - else a new visitor named name (with meta) is created and bound.
//
// A visitor never moves from one identity to another.
func (s *Store) Identify(ctx context.Context, uid, current, name string, meta map[string]string) (Identified, error) {
	if uid == "" || len(uid) > MaxIdentityLen || !utf8.ValidString(uid) || controlIn(uid) {
		return Identified{}, fmt.Errorf("%w: identity must be 1 to %d bytes of text", ErrInvalid, MaxIdentityLen)
	}
	s.prof.mu.Lock()
	defer s.prof.mu.Unlock()
	if p, err := s.prof.docs.FindOne("identity", uid); err == nil {
		v, err := s.Visitor(p.ID)
		if err != nil {
			return Identified{}, fmt.Errorf("visitor of identity: %w", err)
		}
		if current == v.ID {
			return Identified{Visitor: v}, nil
		}
		token, err := s.addDeviceToken(ctx, v.ID)
		if err != nil {
			return Identified{}, err
		}
		return Identified{Visitor: v, Token: token}, nil
	} else if !errors.Is(err, db.ErrNotFound) {
		return Identified{}, fmt.Errorf("find identity: %w", err)
	}
	if current != "" {
		cur, err := s.Profile(current)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Identified{}, err
		}
		if err == nil && cur.Identity == "" {
			if _, _, err := s.changeProfileLocked(ctx, current, func(p *Profile) (bool, error) {
				p.Identity = uid
				return true, nil
			}); err != nil {
				return Identified{}, err
			}
			v, err := s.Visitor(current)
			return Identified{Visitor: v, Bound: true}, err
		}
	}
	v, token, err := s.CreateVisitor(ctx, name, meta)
	if err != nil {
		return Identified{}, err
	}
	if _, _, err := s.changeProfileLocked(ctx, v.ID, func(p *Profile) (bool, error) {
		p.Identity = uid
		return true, nil
	}); err != nil {
		return Identified{}, err
	}
	return Identified{Visitor: v, Token: token, Created: true}, nil
}

// addDeviceToken issues a further token of visitor id and keeps at most
// MaxDeviceTokens of them.
func (s *Store) addDeviceToken(ctx context.Context, id string) (string, error) {
	token, err := randomString(32, false)
	if err != nil {
		return "", err
	}
	if _, err := s.prof.tokens.Insert(ctx, deviceToken{Hash: HashToken(token), Visitor: id, Created: s.now()}); err != nil {
		return "", fmt.Errorf("store device token: %w", err)
	}
	held, err := s.prof.tokens.Find(db.Query{Index: "visitor", Values: []string{id}})
	if err != nil {
		return "", fmt.Errorf("list device tokens: %w", err)
	}
	if extra := len(held) - MaxDeviceTokens; extra > 0 {
		sort.Slice(held, func(i, j int) bool { return held[i].Created.Before(held[j].Created) })
		for _, t := range held[:extra] {
			if err := s.prof.tokens.Remove(ctx, t.Hash); err != nil && !errors.Is(err, db.ErrNotFound) {
				return "", fmt.Errorf("drop old device token: %w", err)
			}
		}
	}
	return token, nil
}

// visitorByDeviceToken finds the visitor of a further device token.
func (s *Store) visitorByDeviceToken(hash string) (Visitor, error) {
	t, err := s.prof.tokens.Get(hash)
	if err != nil {
		return Visitor{}, mapErr(err)
	}
	return s.Visitor(t.Visitor)
}

// DeviceTokens is how many further device tokens visitor id holds (for tests and exports).
func (s *Store) DeviceTokens(id string) int {
	held, _ := s.prof.tokens.Find(db.Query{Index: "visitor", Values: []string{id}})
	return len(held)
}

// Rename sets visitor id's name, trimmed, under the same rule as a new
// visitor's (ErrInvalid otherwise). The same name changes nothing.
func (s *Store) Rename(ctx context.Context, id, name string) (changed bool, err error) {
	name, err = s.checkName(name)
	if err != nil {
		return false, err
	}
	s.prof.mu.Lock()
	defer s.prof.mu.Unlock()
	v, err := s.visitors.Get(id)
	if err != nil {
		return false, mapErr(err)
	}
	if v.Name == name {
		return false, nil
	}
	v.Name = name
	if err := s.visitors.Update(ctx, v); err != nil {
		return false, fmt.Errorf("rename visitor: %w", err)
	}
	email, attrs := s.contactOf(id)
	s.search.setVisitor(id, name, email, attrs)
	return true, nil
}

// hiddenIn reports whether s holds a control, format or other invisible
// character (names.Hidden), which no address or key may hold.
func hiddenIn(s string) bool {
	_, ok := names.HiddenIn(s)
	return ok
}

// controlIn reports whether s holds a control character.
func controlIn(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
