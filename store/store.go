package store

import (
	"context"
	"io"
	"time"

	"github.com/chatd/chatd/db"
)

// Store is the chat model over a db.DB. It is safe for concurrent use.
type Store struct {
	d *db.DB
}

// Open opens (or creates) the chat store in data directory dir.
func Open(dir string, opts db.Options) (*Store, error) { panic("store: not implemented yet") }

// Close flushes and closes the store.
func (s *Store) Close() error { panic("todo") }

// ReseedAdmins drops the admins collection and fills it with admins, in one transaction.
func (s *Store) ReseedAdmins(admins []Admin) error { panic("todo") }

// Backup writes a consistent snapshot of the whole store to w while writes continue.
func (s *Store) Backup(w io.Writer) error { panic("todo") }

// CreateVisitor makes a new visitor and returns it with its secret token.
func (s *Store) CreateVisitor(ctx context.Context, name string, meta map[string]string) (Visitor, string, error) {
	panic("todo")
}

// VisitorByToken finds the visitor owning token.
func (s *Store) VisitorByToken(token string) (Visitor, error) { panic("todo") }

// Visitor finds a visitor by public id.
func (s *Store) Visitor(id string) (Visitor, error) { panic("todo") }

// TouchVisitor records that the visitor was seen at t.
func (s *Store) TouchVisitor(ctx context.Context, id string, t time.Time) error { panic("todo") }

// Visitors lists every visitor, newest activity first.
func (s *Store) Visitors() ([]VisitorSummary, error) { panic("todo") }

// AddMessage stores m durably and returns it with its offset; dup reports an already stored cid.
func (s *Store) AddMessage(ctx context.Context, m NewMessage) (Message, bool, error) { panic("todo") }

// MessagesOf returns visitor id's messages after offset after.
func (s *Store) MessagesOf(id string, after uint64, limit int) ([]Message, error) { panic("todo") }

// MessagesBefore returns up to limit of visitor id's messages before offset before.
func (s *Store) MessagesBefore(id string, before uint64, limit int) ([]Message, error) {
	panic("todo")
}

// MessagesAfter returns all messages after offset after.
func (s *Store) MessagesAfter(after uint64, limit int) ([]Message, error) { panic("todo") }

// Admin finds an admin by name.
func (s *Store) Admin(name string) (Admin, error) { panic("todo") }
