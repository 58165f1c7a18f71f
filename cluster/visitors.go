package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chatd/chatd/internal/names"
	"github.com/chatd/chatd/store"
)

// pageDoc is a visitor's pages as the pages bucket keeps them.
type pageDoc struct {
	Current store.PageView   `json:"current"`
	Trail   []store.PageView `json:"trail,omitempty"`
}

// CreateVisitor makes a new visitor (a create-if-absent on its id, then on
// its token's hash) and returns it with its secret token.
func (s *Store) CreateVisitor(ctx context.Context, name string, meta map[string]string) (store.Visitor, string, error) {
	name, err := names.CheckTrimmed(name, s.Limits().Name)
	if err != nil {
		return store.Visitor{}, "", fmt.Errorf("%w: visitor name: %v", store.ErrInvalid, err)
	}
	if err := s.usable(); err != nil {
		return store.Visitor{}, "", err
	}
	for i := 0; i < 3; i++ {
		id, err := randomString(8, true)
		if err != nil {
			return store.Visitor{}, "", err
		}
		token, err := randomString(32, false)
		if err != nil {
			return store.Visitor{}, "", err
		}
		now := time.Now().UTC()
		v := store.Visitor{ID: id, Name: name, TokenHash: store.HashToken(token), Created: now, LastSeen: now, Meta: meta}
		b, _ := json.Marshal(v)
		err = s.createOnce(ctx, s.visitors.kv, id, b)
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // a 64-bit id collided: draw again
		} else if err != nil {
			return store.Visitor{}, "", fmt.Errorf("%w: create visitor: %v", ErrUnavailable, err)
		}
		if err := s.createOnce(ctx, s.tokens.kv, v.TokenHash, []byte(id)); err != nil {
			return store.Visitor{}, "", fmt.Errorf("%w: store visitor token: %v", ErrUnavailable, err)
		}
		return v, token, nil
	}
	return store.Visitor{}, "", errors.New("create visitor: ids keep colliding")
}

// staleAfter: a node whose tail has not read the stream this long is not ready.
const staleAfter = 10 * time.Second

// VisitorByToken finds the visitor owning token.
func (s *Store) VisitorByToken(token string) (store.Visitor, error) {
	if token == "" {
		return store.Visitor{}, store.ErrNotFound
	}
	if err := s.usable(); err != nil {
		return store.Visitor{}, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	id, err := s.tokens.get(ctx, store.HashToken(token))
	if errors.Is(err, errNoKey) {
		return store.Visitor{}, store.ErrNotFound
	}
	if err != nil {
		return store.Visitor{}, err
	}
	return s.visitor(ctx, id)
}

// Visitor finds a visitor by public id.
func (s *Store) Visitor(id string) (store.Visitor, error) {
	if !visitorRE.MatchString(id) {
		return store.Visitor{}, store.ErrNotFound
	}
	if err := s.usable(); err != nil {
		return store.Visitor{}, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	return s.visitor(ctx, id)
}

func (s *Store) visitor(ctx context.Context, id string) (store.Visitor, error) {
	v, err := s.visitors.get(ctx, id)
	if errors.Is(err, errNoKey) {
		return store.Visitor{}, fmt.Errorf("%w: visitor %s", store.ErrNotFound, id)
	}
	return v, err
}

// TouchVisitor records that the visitor was seen at t. The write is queued
// (coalesced per visitor) so a socket never waits for it; it is lost only
// if the node dies within a second.
func (s *Store) TouchVisitor(_ context.Context, id string, t time.Time) error {
	s.toucher.touch(id, t)
	return nil
}

// Visitors lists every visitor with the offset of its latest message, most
// recent activity first (store.SortByActivity).
func (s *Store) Visitors() ([]store.VisitorSummary, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	var out []store.VisitorSummary
	s.visitors.each(func(_ string, v store.Visitor) {
		out = append(out, store.VisitorSummary{Visitor: v})
	})
	for i := range out {
		out[i].Last = s.msgs.last(out[i].ID)
	}
	store.SortByActivity(out)
	return out, nil
}

// VisitorsPage lists up to limit visitors after the opaque cursor, most
// recent activity first, each with its current page (store.PageOf's rules).
func (s *Store) VisitorsPage(cursor string, limit int) ([]store.VisitorSummary, string, bool, error) {
	all, err := s.Visitors()
	if err != nil {
		return nil, "", false, err
	}
	page, next, more, err := store.PageOf(all, cursor, limit)
	if err != nil {
		return nil, "", false, err
	}
	for i := range page {
		if d, ok := s.pages.local(page[i].ID); ok {
			cur := d.Current
			page[i].Page = &cur
		}
	}
	return page, next, more, nil
}

// SetPage records visitor id's current page with a compare-and-set on its
// pages key, so two nodes recording pages of one visitor at once lose none
// (store.NextPage's rule).
func (s *Store) SetPage(ctx context.Context, id string, p store.PageView) (store.PageView, bool, error) {
	if p.URL == "" {
		return store.PageView{}, false, fmt.Errorf("%w: page url is empty", store.ErrInvalid)
	}
	if _, err := s.Visitor(id); err != nil {
		return store.PageView{}, false, err
	}
	if p.At.IsZero() {
		p.At = time.Now()
	}
	p.At = p.At.UTC()
	for try := 0; try < 5; try++ {
		var (
			doc pageDoc
			rev uint64
		)
		var e jetstream.KeyValueEntry
		err := retryKV(ctx, func(ctx context.Context) error {
			var err error
			e, err = s.pages.kv.Get(ctx, id)
			return err
		})
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return store.PageView{}, false, fmt.Errorf("%w: read page: %v", ErrUnavailable, err)
		default:
			if err := json.Unmarshal(e.Value(), &doc); err != nil {
				return store.PageView{}, false, fmt.Errorf("decode page of %s: %w", id, err)
			}
			rev = e.Revision()
		}
		cur, trail, changed := store.NextPage(doc.Current, doc.Trail, p)
		if rev != 0 && !changed {
			return cur, false, nil
		}
		b, _ := json.Marshal(pageDoc{Current: cur, Trail: trail})
		var wrote uint64
		err = retryKV(ctx, func(ctx context.Context) error {
			var err error
			if rev == 0 {
				wrote, err = s.pages.kv.Create(ctx, id, b)
			} else {
				wrote, err = s.pages.kv.Update(ctx, id, b, rev)
			}
			return err
		})
		switch {
		case err == nil:
			s.pages.wrote(ctx, wrote)
			return cur, true, nil
		case errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) || isWrongLastSeq(err):
			continue // another node wrote first: read again
		default:
			return store.PageView{}, false, fmt.Errorf("%w: store page: %v", ErrUnavailable, err)
		}
	}
	return store.PageView{}, false, fmt.Errorf("%w: page of %s kept changing", ErrUnavailable, id)
}

// Epoch names the cluster's sequence of offsets (the stream's): drawn when
// the cluster is created, carried over by chatd cluster import.
func (s *Store) Epoch() string {
	if s.meta == nil || !s.setup.Load() {
		return ""
	}
	e, _ := s.meta.local(epochKey)
	return e
}

const epochKey = "epoch"

// ensureEpoch draws the cluster's epoch if it has none (create-if-absent:
// the first node to start wins).
func (s *Store) ensureEpoch(kv jetstream.KeyValue) error {
	e, err := randomString(8, true)
	if err != nil {
		return err
	}
	for ctx := s.ctx; ctx.Err() == nil; sleep(ctx, time.Second) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = kv.Create(cctx, epochKey, []byte(e))
		cancel()
		if err == nil || errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSeq(err) {
			return nil
		}
		s.log.Warn().Err(err).Msg("cannot store the cluster's epoch yet; retrying")
	}
	return s.ctx.Err()
}

// setEpoch replaces the cluster's epoch (import: the offsets are the source's).
func (s *Store) setEpoch(ctx context.Context, e string) error {
	if _, err := s.meta.kv.Put(ctx, epochKey, []byte(e)); err != nil {
		return fmt.Errorf("store epoch: %w", err)
	}
	return nil
}
