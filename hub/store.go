package hub

import (
	"context"
	"time"

	"github.com/chatd/chatd/store"
)

// Store is everything the hub needs from persistence; *store.Store satisfies it.
type Store interface {
	// CreateVisitor makes a new visitor and returns it with its secret token (shown once).
	CreateVisitor(ctx context.Context, name string, meta map[string]string) (store.Visitor, string, error)
	// VisitorByToken finds the visitor owning token; store.ErrNotFound if none.
	VisitorByToken(token string) (store.Visitor, error)
	// Visitor finds a visitor by public id; store.ErrNotFound if none.
	Visitor(id string) (store.Visitor, error)
	// TouchVisitor records that the visitor was seen at t.
	TouchVisitor(ctx context.Context, id string, t time.Time) error
	// VisitorsPage lists up to limit visitors, most recent activity first,
	// after the opaque cursor ("" = from the top), each with its current page;
	// next is the cursor of the last one, more whether others follow.
	// A malformed cursor is store.ErrInvalid.
	VisitorsPage(cursor string, limit int) (page []store.VisitorSummary, next string, more bool, err error)
	// SetPage records visitor id's current page; changed is false when it was already that page.
	SetPage(ctx context.Context, id string, p store.PageView) (cur store.PageView, changed bool, err error)
	// Page returns visitor id's current page and the trail before it; store.ErrNotFound if it never told one.
	Page(id string) (current store.PageView, trail []store.PageView, err error)

	// AddMessage stores m durably (per the fsync policy) and returns it with its offset.
	// dup is true when m.CID was already stored for that visitor: then the stored one is returned.
	AddMessage(ctx context.Context, m store.NewMessage) (msg store.Message, dup bool, err error)
	// MessageByCID returns the message visitor id's conversation holds under cid; store.ErrNotFound if none.
	MessageByCID(id, cid string) (store.Message, error)
	// MessagesOf returns visitor id's messages with offset > after, oldest first.
	// limit > 0 keeps only the newest limit of them (still oldest first); 0 means all.
	MessagesOf(id string, after uint64, limit int) ([]store.Message, error)
	// MessagesBefore returns up to limit of visitor id's messages with offset < before, oldest first.
	MessagesBefore(id string, before uint64, limit int) ([]store.Message, error)
	// MessagesAfter returns all messages with offset > after, oldest first;
	// limit > 0 keeps only the newest limit of them; 0 means all.
	MessagesAfter(after uint64, limit int) ([]store.Message, error)

	// LastOffset is the highest offset handed out so far (0 if none): no
	// message stored later has an offset at or below it.
	LastOffset() uint64
	// Epoch names the store's sequence of offsets (see docs/protocol.md).
	Epoch() string
	// Limits are the name and text limits the store enforces.
	Limits() store.Limits

	// Admin finds an admin by name; store.ErrNotFound if none.
	Admin(name string) (store.Admin, error)
	// Admins lists the admins by name.
	Admins() ([]store.Admin, error)

	// Profiles (store/profile.go): contact address, site attributes, verified
	// identity and seen offset of a visitor, and its further device tokens.
	Profile(id string) (store.Profile, error)
	SetEmail(ctx context.Context, id, email string) (changed bool, err error)
	MergeAttributes(ctx context.Context, id string, set map[string]string) (attrs map[string]string, changed bool, err error)
	VisitorByIdentity(uid string) (store.Visitor, error)
	Identify(ctx context.Context, uid, current, name string, meta map[string]string) (store.Identified, error)
	Rename(ctx context.Context, id, name string) (changed bool, err error)

	InboxStore // conversations, filters and counts (inbox.go)
}
