package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chatd/chatd/store"
)

// The rest of issue 13's state: canned replies (chatd_canned, by
// base64url shortcut), visits (chatd_visits, by visitor), search (a scan of
// this node's copy of the log and views) and privacy (export from the
// views; deletion purges the visitor's messages from the stream and removes
// its keys; every node forgets them when it applies the visitor's removal).

// CannedReplies implements hub.InboxStore, by shortcut.
func (s *Store) CannedReplies() ([]store.Canned, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	var out []store.Canned
	s.canned.each(func(_ string, c store.Canned) { out = append(out, c) })
	slices.SortFunc(out, func(a, b store.Canned) int { return strings.Compare(a.Shortcut, b.Shortcut) })
	return out, nil
}

// SetCanned implements hub.InboxStore (store.Store.SetCanned's rules): it
// returns the reply as stored (unchanged: as it was).
func (s *Store) SetCanned(ctx context.Context, sc, text, by string) (store.Canned, bool, error) {
	if err := store.CheckShortcut(sc); err != nil {
		return store.Canned{}, false, err
	}
	if !utf8.ValidString(text) || strings.TrimSpace(text) == "" {
		return store.Canned{}, false, fmt.Errorf("%w: text must be non-empty UTF-8", store.ErrInvalid)
	}
	if l := s.Limits(); len(text) > l.Text {
		return store.Canned{}, false, fmt.Errorf("%w: text longer than %d bytes", store.ErrInvalid, l.Text)
	}
	if err := s.usable(); err != nil {
		return store.Canned{}, false, err
	}
	key := keyOf(sc)
	saved, changed, rev, err := casJSON(ctx, s.canned.kv, key, func(c *store.Canned, exists bool) (bool, error) {
		if exists && c.Text == text {
			return false, nil
		}
		if !exists && len(s.mustCanned()) >= store.MaxCanned {
			return false, fmt.Errorf("%w: at most %d canned replies", store.ErrInvalid, store.MaxCanned)
		}
		*c = store.Canned{Shortcut: sc, Text: text, Updated: time.Now().UTC(), By: by}
		return true, nil
	})
	if changed {
		s.canned.wrote(ctx, rev)
	}
	return saved, changed, err
}

func (s *Store) mustCanned() []store.Canned {
	out, _ := s.CannedReplies()
	return out
}

// DeleteCanned implements hub.InboxStore; store.ErrNotFound if there is none.
func (s *Store) DeleteCanned(ctx context.Context, sc string) error {
	if err := s.usable(); err != nil {
		return err
	}
	key := keyOf(sc)
	if _, err := s.canned.get(ctx, key); err != nil {
		if errors.Is(err, errNoKey) {
			return fmt.Errorf("%w: canned reply %q", store.ErrNotFound, sc)
		}
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := retryKV(ctx, func(ctx context.Context) error { return s.canned.kv.Delete(ctx, key) }); err != nil {
		return fmt.Errorf("%w: delete canned reply: %v", ErrUnavailable, err)
	}
	if last, err := s.streamLast(ctx, "KV_"+bucketCanned); err == nil {
		s.canned.wrote(ctx, last)
	}
	return nil
}

// RecordVisit implements hub.InboxStore (store.Store.RecordVisit's rules).
func (s *Store) RecordVisit(ctx context.Context, id string, info store.VisitInfo, newVisit bool) (store.VisitInfo, error) {
	if _, err := s.Visitor(id); err != nil {
		return store.VisitInfo{}, err
	}
	v, _, _, err := casJSON(ctx, s.visits.kv, id, func(next *store.VisitInfo, exists bool) (bool, error) {
		cur := *next
		*next = cur.Merged(id, info, newVisit || !exists, time.Now().UTC())
		return !exists || *next != cur, nil
	})
	return v, err
}

// Visits implements hub.InboxStore.
func (s *Store) Visits(id string) (store.VisitInfo, error) {
	if _, err := s.Visitor(id); err != nil {
		return store.VisitInfo{}, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	v, err := s.visits.get(ctx, id)
	if errors.Is(err, errNoKey) {
		return store.VisitInfo{ID: id}, nil
	}
	if err != nil {
		return store.VisitInfo{}, fmt.Errorf("%w: read visits: %v", ErrUnavailable, err)
	}
	return v, nil
}

// Search implements hub.InboxStore with store.Store.Search's answers
// (visitors by a substring of name, e-mail or attribute values, then
// messages holding every word, newest first), by scanning this node's
// copy of the log: no word index, so a search costs a pass over the
// messages (docs/cluster.md).
func (s *Store) Search(ctx context.Context, q string, limit int) ([]store.SearchResult, bool, error) {
	q = strings.TrimSpace(q)
	if q == "" || len(q) > store.MaxQuery || !utf8.ValidString(q) {
		return nil, false, fmt.Errorf("%w: q must be 1 to %d bytes of text", store.ErrInvalid, store.MaxQuery)
	}
	if err := s.usable(); err != nil {
		return nil, false, err
	}
	limit = min(max(limit, 1), store.MaxSearchLimit)
	lq := strings.ToLower(q)
	var ids []string
	s.visitors.each(func(id string, v store.Visitor) {
		p, _ := s.profiles.local(id)
		if strings.Contains(store.FoldVisitor(v.Name, p.Email, p.Attributes), lq) {
			ids = append(ids, id)
		}
	})
	slices.Sort(ids)
	var results []store.SearchResult
	for _, id := range ids {
		if len(results) > limit {
			break
		}
		v, _ := s.visitors.local(id)
		p, _ := s.profiles.local(id)
		r := store.SearchResult{Client: id, Name: v.Name, Field: store.FieldName, Snippet: v.Name}
		if !strings.Contains(strings.ToLower(v.Name), lq) {
			r.Field, r.Snippet = store.FieldAttributes, ""
			if strings.Contains(strings.ToLower(p.Email), lq) {
				r.Field, r.Snippet = store.FieldEmail, p.Email
			}
			for _, k := range store.SortedKeys(p.Attributes) {
				if r.Snippet == "" && strings.Contains(strings.ToLower(p.Attributes[k]), lq) {
					r.Snippet = k + ": " + p.Attributes[k]
				}
			}
		}
		results = append(results, r)
	}
	if len(results) > limit {
		return results[:limit], true, nil
	}
	ws := store.SearchWords(q)
	if len(ws) > store.MaxQueryWords {
		ws = ws[:store.MaxQueryWords]
	}
	if len(ws) == 0 {
		return results, false, nil
	}
	full := false
	// The visitors' names are read after the scan: under the messages view's
	// read lock no other view is read, or this read waits behind a waiting
	// writer of that view while a reader of it (Inactive) waits behind the
	// message tail's, which waits for this one.
	found := len(results)
	s.msgs.eachNewest(func(m store.Message) bool {
		if ctx.Err() != nil {
			return false
		}
		if !store.HoldsAll(m.Text, ws) {
			return true
		}
		if len(results) == limit {
			full = true
			return false
		}
		results = append(results, store.SearchResult{Client: m.Client, Offset: m.Offset, At: m.At,
			Field: store.FieldText, Snippet: store.Snippet(m.Text, ws[0])})
		return true
	})
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	for i := found; i < len(results); i++ {
		v, _ := s.visitors.local(results[i].Client)
		results[i].Name = v.Name
	}
	return results, full, nil
}

// ExportVisitor implements hub.InboxStore: everything kept of visitor id.
func (s *Store) ExportVisitor(id string) (store.VisitorExport, error) {
	v, err := s.Visitor(id)
	if err != nil {
		return store.VisitorExport{}, err
	}
	out := store.VisitorExport{Exported: time.Now().UTC(), ID: v.ID, Name: v.Name, Created: v.Created, LastSeen: v.LastSeen,
		Meta: v.Meta, Attributes: map[string]string{}, Pages: []store.PageView{}, Messages: []store.Message{}}
	if out.Meta == nil {
		out.Meta = map[string]string{}
	}
	if p, err := s.Profile(id); err == nil {
		out.Email, out.Identity = p.Email, p.Identity
		if p.Attributes != nil {
			out.Attributes = p.Attributes
		}
	}
	out.DeviceTokens = len(s.tokensOf(id)) - 1 // the first token is not a device token
	if out.DeviceTokens < 0 {
		out.DeviceTokens = 0
	}
	if out.Visits, err = s.Visits(id); err != nil {
		return store.VisitorExport{}, err
	}
	if cur, trail, err := s.Page(id); err == nil {
		out.Page = &cur
		out.Pages = append(trail, cur)
	}
	c, err := s.Conversation(id)
	if err != nil {
		return store.VisitorExport{}, err
	}
	segs, _ := s.Segments(id)
	if segs == nil {
		segs = []store.Segment{}
	}
	out.Conversation = store.ExportedConv{Status: c.Status, Assignee: c.Assignee, SnoozeUntil: c.SnoozeUntil,
		VisitorSeen: c.VisitorSeen, AgentSeen: c.AgentSeen, Segments: segs}
	if ms := s.msgs.of(id, 0, 0); len(ms) > 0 {
		out.Messages = ms
	}
	return out, nil
}

// tokensOf lists the token hashes that restore visitor id.
func (s *Store) tokensOf(id string) []string {
	var out []string
	s.tokens.each(func(k, v string) {
		if v == id {
			out = append(out, k)
		}
	})
	return out
}

// DeleteVisitor implements hub.InboxStore: the visitor's key goes first (no
// node accepts its messages any more), then its messages are purged from
// the stream and every other key of it is deleted. Every node drops the
// visitor's messages from memory when it applies the removal.
func (s *Store) DeleteVisitor(ctx context.Context, id string) (store.Deleted, error) {
	var d store.Deleted
	if _, err := s.Visitor(id); err != nil {
		return d, err
	}
	d.Messages = len(s.msgs.of(id, 0, 0))
	tokens := s.tokensOf(id)
	var idents []string
	s.identities.each(func(k, v string) {
		if v == id {
			idents = append(idents, k)
		}
	})
	del := func(kv jetstream.KeyValue, key string) error {
		return retryKV(ctx, func(ctx context.Context) error { return kv.Delete(ctx, key) })
	}
	if err := del(s.visitors.kv, id); err != nil {
		return d, fmt.Errorf("%w: delete visitor: %v", ErrUnavailable, err)
	}
	st, err := s.js.Stream(ctx, msgStream)
	if err == nil {
		err = st.Purge(ctx, jetstream.WithPurgeSubject(msgPrefix+id+".*"))
	}
	if err != nil {
		return d, fmt.Errorf("%w: purge messages of %s: %v", ErrUnavailable, id, err)
	}
	type key struct {
		kv  jetstream.KeyValue
		key string
	}
	keys := []key{{s.profiles.kv, id}, {s.pages.kv, id}, {s.convs.kv, id}, {s.visits.kv, id}}
	for _, t := range tokens {
		keys = append(keys, key{s.tokens.kv, t})
	}
	for _, k := range idents {
		keys = append(keys, key{s.identities.kv, k})
	}
	for _, k := range keys {
		if err := del(k.kv, k.key); err != nil {
			return d, fmt.Errorf("%w: delete %s of %s: %v", ErrUnavailable, k.kv.Bucket(), id, err)
		}
	}
	if last, err := s.streamLast(ctx, "KV_"+bucketVisitors); err == nil {
		s.visitors.wrote(ctx, last)
	}
	return d, nil
}

// Inactive implements hub.InboxStore: up to max visitors last seen before
// cutoff with no message at or after it.
func (s *Store) Inactive(cutoff time.Time, max int) ([]string, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	// The candidates first, then the other views: under the visitors view's
	// read lock no other view is read (see Search).
	var cands []string
	s.visitors.each(func(id string, v store.Visitor) {
		if v.LastSeen.Before(cutoff) {
			cands = append(cands, id)
		}
	})
	var out []string
	for _, id := range cands {
		if len(out) >= max {
			break
		}
		if s.activeConversation(id, cutoff) {
			continue
		}
		if ms := s.msgs.of(id, 0, 1); len(ms) > 0 && !ms[0].At.Before(cutoff) {
			continue
		}
		out = append(out, id)
	}
	return out, nil
}
