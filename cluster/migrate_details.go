package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chatd/chatd/store"
)

// What a migration carries besides visitors, their first tokens and
// messages: each visitor's profile (e-mail, attributes, verified identity),
// pages, visits and conversation (status, snooze, assignee, seen offsets,
// segments), and the canned replies. Not carried: further device tokens of
// identified visitors (their devices are identified again by the site's
// identity hash, and get new tokens), admin login sessions (agents log in
// again), Web Push subscriptions (agents turn push on again) and the
// in-memory notification state.

// DetailSource is what Import also reads when the source has it; *store.Store does.
type DetailSource interface {
	ExportVisitor(id string) (store.VisitorExport, error)
	CannedReplies() ([]store.Canned, error)
}

// DetailSink is what Export also writes when the destination takes it; *store.Store does.
type DetailSink interface {
	SetEmail(ctx context.Context, id, email string) (bool, error)
	MergeAttributes(ctx context.Context, id string, set map[string]string) (map[string]string, bool, error)
	Identify(ctx context.Context, uid, current, name string, meta map[string]string) (store.Identified, error)
	SetPage(ctx context.Context, id string, p store.PageView) (store.PageView, bool, error)
	RecordVisit(ctx context.Context, id string, info store.VisitInfo, newVisit bool) (store.VisitInfo, error)
	SetStatus(ctx context.Context, id, status string, until time.Time) (store.Conversation, bool, error)
	Assign(ctx context.Context, id, to string) (store.Conversation, bool, error)
	SetVisitorSeen(ctx context.Context, id string, offset uint64) (store.Conversation, bool, error)
	SetAgentSeen(ctx context.Context, id string, offset uint64) (store.Conversation, bool, error)
	SetCanned(ctx context.Context, sc, text, by string) (store.Canned, bool, error)
}

// A single node's store must stay a DetailSink: Export checks it with a type
// assertion, which a changed method signature would otherwise turn off silently.
var _ DetailSink = (*store.Store)(nil)

// importDetails writes the details of the imported visitors ids (after their
// messages: a conversation's Since is the last offset, so nothing reopens).
func (s *Store) importDetails(ctx context.Context, src DetailSource, ids []string, last uint64) error {
	put := func(kv jetstream.KeyValue, key string, v any) error {
		b, err := json.Marshal(v)
		if err == nil {
			_, err = kv.Put(ctx, key, b)
		}
		if err != nil {
			return fmt.Errorf("import %s of %s: %w", kv.Bucket(), key, err)
		}
		return nil
	}
	now := time.Now().UTC()
	for _, id := range ids {
		ex, err := src.ExportVisitor(id)
		if err != nil {
			return fmt.Errorf("read details of visitor %s: %w", id, err)
		}
		if ex.Email != "" || len(ex.Attributes) > 0 || ex.Identity != "" {
			p := store.Profile{ID: id, Email: ex.Email, Attributes: ex.Attributes, Identity: ex.Identity, Updated: now}
			if err := put(s.profiles.kv, id, p); err != nil {
				return err
			}
		}
		if ex.Identity != "" {
			if _, err := s.identities.kv.Put(ctx, identityKey(ex.Identity), []byte(id)); err != nil {
				return fmt.Errorf("import identity of %s: %w", id, err)
			}
		}
		if ex.Page != nil {
			d := pageDoc{Current: *ex.Page}
			if n := len(ex.Pages); n > 1 {
				d.Trail = ex.Pages[:n-1]
			}
			if err := put(s.pages.kv, id, d); err != nil {
				return err
			}
		}
		if ex.Visits.Visits > 0 {
			if err := put(s.visits.kv, id, ex.Visits); err != nil {
				return err
			}
		}
		c := ex.Conversation
		if c.Status != "" && (c.Status != store.StatusOpen || c.Assignee != "" || c.VisitorSeen > 0 || c.AgentSeen > 0 || len(c.Segments) > 0) {
			d := store.ConversationDoc{Client: id, Status: c.Status, SnoozeUntil: c.SnoozeUntil, Assignee: c.Assignee,
				VisitorSeen: c.VisitorSeen, AgentSeen: c.AgentSeen, Since: last, Updated: now, Segments: c.Segments}
			if err := put(s.convs.kv, id, d); err != nil {
				return err
			}
		}
	}
	canned, err := src.CannedReplies()
	if err != nil {
		return fmt.Errorf("read canned replies: %w", err)
	}
	for _, c := range canned {
		if err := put(s.canned.kv, keyOf(c.Shortcut), c); err != nil {
			return err
		}
	}
	return nil
}

// exportDetails writes the details of the cluster's visitors into dst
// through its own rules (a snooze already over is exported as open; an
// assignee that is not an admin of dst is left out).
func (s *Store) exportDetails(ctx context.Context, dst DetailSink, vs []store.Visitor) error {
	for _, v := range vs {
		ex, err := s.ExportVisitor(v.ID)
		if err != nil {
			return fmt.Errorf("read details of visitor %s: %w", v.ID, err)
		}
		if ex.Identity != "" {
			if _, err := dst.Identify(ctx, ex.Identity, v.ID, v.Name, nil); err != nil {
				return fmt.Errorf("export identity of %s: %w", v.ID, err)
			}
		}
		if ex.Email != "" {
			if _, err := dst.SetEmail(ctx, v.ID, ex.Email); err != nil {
				return fmt.Errorf("export e-mail of %s: %w", v.ID, err)
			}
		}
		if len(ex.Attributes) > 0 {
			if _, _, err := dst.MergeAttributes(ctx, v.ID, ex.Attributes); err != nil {
				return fmt.Errorf("export attributes of %s: %w", v.ID, err)
			}
		}
		for _, p := range ex.Pages {
			if _, _, err := dst.SetPage(ctx, v.ID, p); err != nil {
				return fmt.Errorf("export pages of %s: %w", v.ID, err)
			}
		}
		if ex.Visits.Visits > 0 {
			if _, err := dst.RecordVisit(ctx, v.ID, ex.Visits, false); err != nil {
				return fmt.Errorf("export visits of %s: %w", v.ID, err)
			}
		}
		c := ex.Conversation
		st, until := c.Status, c.SnoozeUntil
		if st == store.StatusSnoozed && !until.After(time.Now()) {
			st = store.StatusOpen
		}
		if st != "" && st != store.StatusOpen || (st == store.StatusOpen && (c.Assignee != "" || len(c.Segments) > 0)) {
			if _, _, err := dst.SetStatus(ctx, v.ID, st, until); err != nil {
				return fmt.Errorf("export conversation of %s: %w", v.ID, err)
			}
		}
		if c.Assignee != "" {
			if _, _, err := dst.Assign(ctx, v.ID, c.Assignee); err != nil && !isInvalid(err) {
				return fmt.Errorf("export assignee of %s: %w", v.ID, err)
			}
		}
		if c.VisitorSeen > 0 {
			if _, _, err := dst.SetVisitorSeen(ctx, v.ID, c.VisitorSeen); err != nil {
				return fmt.Errorf("export seen offset of %s: %w", v.ID, err)
			}
		}
		if c.AgentSeen > 0 {
			if _, _, err := dst.SetAgentSeen(ctx, v.ID, c.AgentSeen); err != nil {
				return fmt.Errorf("export seen offset of %s: %w", v.ID, err)
			}
		}
	}
	canned, err := s.CannedReplies()
	if err != nil {
		return err
	}
	for _, c := range canned {
		if _, _, err := dst.SetCanned(ctx, c.Shortcut, c.Text, c.By); err != nil {
			return fmt.Errorf("export canned reply %s: %w", c.Shortcut, err)
		}
	}
	return nil
}

func isInvalid(err error) bool { return errors.Is(err, store.ErrInvalid) }
