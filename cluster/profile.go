package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chatd/chatd/internal/names"
	"github.com/chatd/chatd/store"
)

// Profiles (store/profile.go's model) in the cluster: chatd_profiles holds
// one store.Profile per visitor, changed with compare-and-set like pages;
// chatd_identities binds a verified site user id (as SHA-256) to its visitor
// with a create-if-absent, so two nodes can never bind one identity twice;
// further device tokens are entries of chatd_tokens like a visitor's first.

// Admins lists the admins by name.
func (s *Store) Admins() ([]store.Admin, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	var out []store.Admin
	s.admins.each(func(_ string, a store.Admin) { out = append(out, a) })
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Page returns visitor id's current page and its trail (oldest first);
// store.ErrNotFound when it never reported one.
func (s *Store) Page(id string) (store.PageView, []store.PageView, error) {
	if !visitorRE.MatchString(id) {
		return store.PageView{}, nil, store.ErrNotFound
	}
	if err := s.usable(); err != nil {
		return store.PageView{}, nil, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	d, err := s.pages.get(ctx, id)
	if errors.Is(err, errNoKey) {
		return store.PageView{}, nil, fmt.Errorf("%w: no page of %s", store.ErrNotFound, id)
	}
	if err != nil {
		return store.PageView{}, nil, err
	}
	return d.Current, d.Trail, nil
}

// Profile returns visitor id's profile (only ID set if it never told anything).
func (s *Store) Profile(id string) (store.Profile, error) {
	if _, err := s.Visitor(id); err != nil {
		return store.Profile{}, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	p, err := s.profiles.get(ctx, id)
	if errors.Is(err, errNoKey) {
		return store.Profile{ID: id}, nil
	}
	return p, err
}

// changeProfile applies fn to visitor id's profile with a compare-and-set,
// reading again when another node wrote first.
func (s *Store) changeProfile(ctx context.Context, id string, fn func(*store.Profile) (bool, error)) (store.Profile, bool, error) {
	if _, err := s.Visitor(id); err != nil {
		return store.Profile{}, false, err
	}
	for try := 0; try < 5; try++ {
		var (
			p   = store.Profile{ID: id}
			rev uint64
			e   jetstream.KeyValueEntry
		)
		err := retryKV(ctx, func(ctx context.Context) error {
			var err error
			e, err = s.profiles.kv.Get(ctx, id)
			return err
		})
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return store.Profile{}, false, fmt.Errorf("%w: read profile: %v", ErrUnavailable, err)
		default:
			if err := json.Unmarshal(e.Value(), &p); err != nil {
				return store.Profile{}, false, fmt.Errorf("decode profile of %s: %w", id, err)
			}
			rev = e.Revision()
		}
		old := p
		old.Attributes = maps.Clone(p.Attributes)
		changed, err := fn(&p)
		if err != nil || !changed {
			return old, false, err
		}
		p.Updated = time.Now().UTC()
		b, _ := json.Marshal(p)
		var wrote uint64
		err = retryKV(ctx, func(ctx context.Context) error {
			var err error
			if rev == 0 {
				wrote, err = s.profiles.kv.Create(ctx, id, b)
			} else {
				wrote, err = s.profiles.kv.Update(ctx, id, b, rev)
			}
			return err
		})
		switch {
		case err == nil:
			s.profiles.wrote(ctx, wrote)
			return p, true, nil
		case errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) || isWrongLastSeq(err):
			continue
		default:
			return old, false, fmt.Errorf("%w: store profile: %v", ErrUnavailable, err)
		}
	}
	return store.Profile{}, false, fmt.Errorf("%w: profile of %s kept changing", ErrUnavailable, id)
}

// SetEmail stores visitor id's contact address (store.Store.SetEmail's rules).
func (s *Store) SetEmail(ctx context.Context, id, email string) (bool, error) {
	if email == "" || len(email) > store.MaxEmailLen || !utf8.ValidString(email) || controlIn(email) {
		return false, fmt.Errorf("%w: e-mail must be 1 to %d bytes of text", store.ErrInvalid, store.MaxEmailLen)
	}
	_, changed, err := s.changeProfile(ctx, id, func(p *store.Profile) (bool, error) {
		if p.Email == email {
			return false, nil
		}
		p.Email = email
		return true, nil
	})
	return changed, err
}

// MergeAttributes merges set into visitor id's attributes (store.Store.MergeAttributes' rules).
func (s *Store) MergeAttributes(ctx context.Context, id string, set map[string]string) (map[string]string, bool, error) {
	if err := store.CheckAttributes(set); err != nil {
		return nil, false, err
	}
	p, changed, err := s.changeProfile(ctx, id, func(p *store.Profile) (bool, error) {
		next, changed, err := store.ApplyAttributes(p.Attributes, set)
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

func identityKey(uid string) string {
	sum := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(sum[:])
}

// VisitorByIdentity finds the visitor bound to site user id uid.
func (s *Store) VisitorByIdentity(uid string) (store.Visitor, error) {
	if uid == "" {
		return store.Visitor{}, fmt.Errorf("%w: empty identity", store.ErrNotFound)
	}
	if err := s.usable(); err != nil {
		return store.Visitor{}, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	id, err := s.identities.get(ctx, identityKey(uid))
	if errors.Is(err, errNoKey) {
		return store.Visitor{}, fmt.Errorf("%w: identity", store.ErrNotFound)
	}
	if err != nil {
		return store.Visitor{}, err
	}
	return s.Visitor(id)
}

// Identify returns the visitor of verified site user id uid, as
// store.Store.Identify does; the binding is a create-if-absent on the
// identity's key, so of two nodes identifying one user at once, one binds
// and the other uses that binding.
func (s *Store) Identify(ctx context.Context, uid, current, name string, meta map[string]string) (store.Identified, error) {
	if uid == "" || len(uid) > store.MaxIdentityLen || !utf8.ValidString(uid) || controlIn(uid) {
		return store.Identified{}, fmt.Errorf("%w: identity must be 1 to %d bytes of text", store.ErrInvalid, store.MaxIdentityLen)
	}
	if v, err := s.VisitorByIdentity(uid); err == nil {
		return s.identified(ctx, v, current)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Identified{}, err
	}
	if current != "" {
		if cur, err := s.Profile(current); err == nil && cur.Identity == "" {
			if err := s.bind(ctx, uid, current); err != nil {
				return s.raced(ctx, uid, current, err)
			}
			v, err := s.Visitor(current)
			return store.Identified{Visitor: v, Bound: true}, err
		}
	}
	v, token, err := s.CreateVisitor(ctx, name, meta)
	if err != nil {
		return store.Identified{}, err
	}
	if err := s.bind(ctx, uid, v.ID); err != nil {
		return s.raced(ctx, uid, current, err)
	}
	return store.Identified{Visitor: v, Token: token, Created: true}, nil
}

// bind binds uid to visitor id: the identity key first (the unique step),
// then the visitor's profile.
func (s *Store) bind(ctx context.Context, uid, id string) error {
	if err := s.createOnce(ctx, s.identities.kv, identityKey(uid), []byte(id)); err != nil {
		return err
	}
	_, _, err := s.changeProfile(ctx, id, func(p *store.Profile) (bool, error) {
		p.Identity = uid
		return true, nil
	})
	return err
}

// raced handles a bind that lost to another node: the identity is bound to
// another visitor now, which this device joins.
func (s *Store) raced(ctx context.Context, uid, current string, err error) (store.Identified, error) {
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return store.Identified{}, err
	}
	v, verr := s.VisitorByIdentity(uid)
	if verr != nil {
		return store.Identified{}, verr
	}
	return s.identified(ctx, v, current)
}

// identified answers a device for the visitor v of an identity: its own
// visitor already, or a new device token.
func (s *Store) identified(ctx context.Context, v store.Visitor, current string) (store.Identified, error) {
	if current == v.ID {
		return store.Identified{Visitor: v}, nil
	}
	token, err := randomString(32, false)
	if err != nil {
		return store.Identified{}, err
	}
	if err := s.createOnce(ctx, s.tokens.kv, store.HashToken(token), []byte(v.ID)); err != nil {
		return store.Identified{}, fmt.Errorf("%w: store device token: %v", ErrUnavailable, err)
	}
	return store.Identified{Visitor: v, Token: token}, nil
}

// Rename sets visitor id's name (the name rule and limit of new visitors).
func (s *Store) Rename(ctx context.Context, id, name string) (bool, error) {
	name, err := names.CheckTrimmed(name, s.Limits().Name)
	if err != nil {
		return false, fmt.Errorf("%w: visitor name: %v", store.ErrInvalid, err)
	}
	if _, err := s.Visitor(id); err != nil {
		return false, err
	}
	for try := 0; try < 5; try++ {
		var e jetstream.KeyValueEntry
		if err := retryKV(ctx, func(ctx context.Context) error {
			var err error
			e, err = s.visitors.kv.Get(ctx, id)
			return err
		}); err != nil {
			return false, fmt.Errorf("%w: read visitor: %v", ErrUnavailable, err)
		}
		var v store.Visitor
		if err := json.Unmarshal(e.Value(), &v); err != nil {
			return false, fmt.Errorf("decode visitor %s: %w", id, err)
		}
		if v.Name == name {
			return false, nil
		}
		v.Name = name
		b, _ := json.Marshal(v)
		var wrote uint64
		err := retryKV(ctx, func(ctx context.Context) error {
			var err error
			wrote, err = s.visitors.kv.Update(ctx, id, b, e.Revision())
			return err
		})
		switch {
		case err == nil:
			s.visitors.wrote(ctx, wrote)
			return true, nil
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || isWrongLastSeq(err):
			continue
		default:
			return false, fmt.Errorf("%w: rename visitor: %v", ErrUnavailable, err)
		}
	}
	return false, fmt.Errorf("%w: visitor %s kept changing", ErrUnavailable, id)
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
