package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/db"
)

// schemaVersion is the data file layout this code writes; bump it with a
// migration (migrate.go).
const schemaVersion = 2

// messagePackBytes is the size of the blocks messages are packed into (see
// package db): 4 KiB, one allocation size class of the Go runtime, about 75
// short messages.
const messagePackBytes = 4 << 10

// Store is the chat model over a db.DB. It is safe for concurrent use.
type Store struct {
	d        *db.DB
	visitors *db.Collection[Visitor]
	seen     *db.Collection[seen]
	messages *db.Collection[Message]
	admins   *db.Collection[Admin]
	sessions *db.Collection[Session] // sessions.go
	settings *db.Collection[setting]
	pages    *db.Collection[page]
	conv     *conversations            // conversation states (conversation.go)
	visits   *db.Collection[VisitInfo] // visits.go
	visitMu  sync.Mutex                // RecordVisit's read-modify-write
	canned   *canned                   // canned.go
	search   *searchIndex              // search.go
	priv     privacy                   // visitors being deleted, pending compaction (privacy.go)
	inbox    *inbox                    // in-memory list order, states and counts (inbox.go)
	prof     *profiles                 // profiles and device tokens (profile.go)
	now      func() time.Time

	lim    atomic.Pointer[Limits]
	epoch  atomic.Pointer[string]
	pageMu sync.Mutex // serializes SetPage's read-modify-write
}

// Open opens (or creates) the chat store in data directory dir (file chatd.db).
func Open(dir string, opts db.Options) (*Store, error) {
	opts.Version = schemaVersion
	opts.Migrate = migrate
	// Loading allocates the whole store at once and all of it stays live, so a
	// collection at every doubling of the heap is wasted work: relax the
	// collector while loading and restore it after.
	gc := debug.SetGCPercent(400)
	defer debug.SetGCPercent(gc)
	d, err := db.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	s, err := attach(d)
	if err != nil {
		d.Close()
		return nil, err
	}
	// Loading a large file leaves garbage behind: hand it back to the OS now
	// rather than over the next minutes.
	debug.FreeOSMemory()
	return s, nil
}

func attach(d *db.DB) (*Store, error) {
	s := &Store{d: d, now: func() time.Time { return time.Now().UTC() }}
	l := DefaultLimits()
	s.lim.Store(&l)
	var err error
	s.visitors, err = db.NewCollection(d, db.Schema[Visitor]{
		Name:    "visitors",
		ID:      func(v *Visitor) string { return v.ID },
		Indices: []db.Index{{Name: "token", Fields: []string{"token_hash"}, Unique: true}},
	})
	if err != nil {
		return nil, err
	}
	if s.seen, err = db.NewCollection(d, seenSchema()); err != nil {
		return nil, err
	}
	s.messages, err = db.NewCollection(d, db.Schema[Message]{
		Name: "messages",
		ID:   func(m *Message) string { return db.SeqID(m.Offset) },
		Seq:  func(m *Message, n uint64) { m.Offset = n },
		Indices: []db.Index{
			{Name: "client", Fields: []string{"client"}},
			{Name: "cid", Fields: []string{"client", "cid"}, Unique: true},
		},
		Codec:     messageCodec{},
		PackBytes: messagePackBytes,
	})
	if err != nil {
		return nil, err
	}
	s.admins, err = db.NewCollection(d, db.Schema[Admin]{
		Name: "admins",
		ID:   func(a *Admin) string { return a.Name },
	})
	if err != nil {
		return nil, err
	}
	if err := s.attachSessions(d); err != nil {
		return nil, err
	}
	s.settings, err = db.NewCollection(d, db.Schema[setting]{
		Name: "settings",
		ID:   func(st *setting) string { return st.ID },
	})
	if err != nil {
		return nil, err
	}
	s.pages, err = db.NewCollection(d, db.Schema[page]{
		Name: "pages",
		ID:   func(p *page) string { return p.ID },
	})
	if err != nil {
		return nil, err
	}
	if s.prof, err = newProfiles(d); err != nil {
		return nil, err
	}
	if err := s.loadEpoch(); err != nil {
		return nil, err
	}
	s.visits, err = db.NewCollection(d, db.Schema[VisitInfo]{
		Name: "visits",
		ID:   func(v *VisitInfo) string { return v.ID },
	})
	if err != nil {
		return nil, err
	}
	cannedDocs, err := db.NewCollection(d, db.Schema[Canned]{
		Name: "canned",
		ID:   func(c *Canned) string { return c.Shortcut },
	})
	if err != nil {
		return nil, err
	}
	s.canned = &canned{docs: cannedDocs}
	s.search = newSearchIndex()
	s.priv.deleting = map[string]bool{}
	if err := s.openInbox(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.search.stop = cancel
	go s.buildSearch(ctx)
	return s, nil
}

// Close flushes and closes the store.
func (s *Store) Close() error {
	s.search.stop() // the background build of the search index
	<-s.search.done
	s.priv.mu.Lock()
	s.priv.closed = true
	if s.priv.compact != nil {
		s.priv.compact.Stop()
	}
	s.priv.mu.Unlock()
	return s.d.Close()
}

// DB is the underlying document store (for stats and compaction).
func (s *Store) DB() *db.DB { return s.d }

// ReseedAdmins drops the admins collection and fills it with admins, in one transaction.
func (s *Store) ReseedAdmins(admins []Admin) error {
	if err := s.admins.Reseed(context.Background(), admins); err != nil {
		return fmt.Errorf("reseed admins: %w", err)
	}
	return nil
}

// Backup writes a consistent snapshot of the whole store to w while writes continue.
func (s *Store) Backup(w io.Writer) error { return s.d.Backup(w) }

// HashToken is how a visitor token is kept: hex SHA-256. Tokens carry 256
// random bits, so a fast hash suffices.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomString(n int, hexEnc bool) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	if hexEnc {
		return hex.EncodeToString(b), nil
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CreateVisitor makes a new visitor and returns it with its secret token.
func (s *Store) CreateVisitor(ctx context.Context, name string, meta map[string]string) (Visitor, string, error) {
	name, err := s.checkName(name)
	if err != nil {
		return Visitor{}, "", err
	}
	for i := 0; i < 3; i++ {
		id, err := randomString(8, true)
		if err != nil {
			return Visitor{}, "", err
		}
		token, err := randomString(32, false)
		if err != nil {
			return Visitor{}, "", err
		}
		now := s.now()
		v := Visitor{ID: id, Name: name, TokenHash: HashToken(token), Created: now, LastSeen: now, Meta: meta}
		v, err = s.visitors.Insert(ctx, v)
		if errors.Is(err, db.ErrDuplicate) {
			continue // a 64-bit id collided: draw again
		}
		if err != nil {
			return Visitor{}, "", fmt.Errorf("create visitor: %w", err)
		}
		s.inbox.change(v.ID, true, func(e *inboxEntry) { e.seen = v.LastSeen.UnixNano() })
		s.search.setVisitor(v.ID, v.Name, "", nil)
		return v, token, nil
	}
	return Visitor{}, "", fmt.Errorf("create visitor: ids keep colliding")
}

// VisitorByToken finds the visitor owning token.
func (s *Store) VisitorByToken(token string) (Visitor, error) {
	if token == "" {
		return Visitor{}, ErrNotFound
	}
	v, err := s.visitors.FindOne("token", HashToken(token))
	if err == nil && s.barred(v.ID) {
		return Visitor{}, fmt.Errorf("%w: visitor being deleted", ErrNotFound)
	}
	if errors.Is(err, db.ErrNotFound) {
		return s.visitorByDeviceToken(HashToken(token)) // a further device's token (profile.go)
	}
	if err != nil {
		return Visitor{}, mapErr(err)
	}
	return s.withSeen(v), nil
}

// Visitor finds a visitor by public id.
func (s *Store) Visitor(id string) (Visitor, error) {
	if id == "" {
		return Visitor{}, ErrNotFound
	}
	v, err := s.visitors.Get(id)
	if err != nil {
		return Visitor{}, mapErr(err)
	}
	return s.withSeen(v), nil
}

// Visitors lists every visitor with the offset of its latest message, newest
// activity first (latest message, then last seen, then id).
func (s *Store) Visitors() ([]VisitorSummary, error) {
	seen, err := s.allSeen()
	if err != nil {
		return nil, fmt.Errorf("list visitors: %w", err)
	}
	var out []VisitorSummary
	err = s.visitors.Walk(db.Query{}, func(v Visitor) bool {
		if t, ok := seen[v.ID]; ok && t.After(v.LastSeen) {
			v.LastSeen = t
		}
		vs := VisitorSummary{Visitor: v}
		if id, ok := s.messages.LastID("client", v.ID); ok {
			vs.Last, _ = strconv.ParseUint(id, 10, 64)
		}
		out = append(out, vs)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list visitors: %w", err)
	}
	sortByActivity(out)
	return out, nil
}

// AddMessage stores m and returns it with its offset once it is written (and
// fsynced under the "always" policy). When m.CID is already stored for that
// visitor nothing is written and the stored message is returned with dup true.
func (s *Store) AddMessage(ctx context.Context, m NewMessage) (Message, bool, error) {
	if err := m.Validate(s.Limits()); err != nil {
		return Message{}, false, err
	}
	if m.Client == "" || !s.visitors.Has(m.Client) || s.barred(m.Client) {
		return Message{}, false, fmt.Errorf("%w: visitor %q", ErrNotFound, m.Client)
	}
	msg := Message{Client: m.Client, From: m.From, CID: m.CID, Text: m.Text, At: s.now(), Note: m.Note}
	if m.From == FromAdmin {
		msg.Admin, msg.Display = m.Admin, s.displayOf(m.Admin)
	}
	stored, err := s.messages.Insert(ctx, msg)
	if errors.Is(err, db.ErrDuplicate) {
		prev, ferr := s.messages.FindOne("cid", m.Client, m.CID)
		if ferr != nil {
			return Message{}, false, fmt.Errorf("find duplicate cid: %w", ferr)
		}
		return prev, true, nil
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("store message: %w", err)
	}
	s.search.add(stored.Offset, stored.Text)
	s.inbox.change(m.Client, false, func(e *inboxEntry) {
		if stored.Offset > e.last {
			if e.last == 0 {
				e.opened = stored.Offset
				if e.updated == 0 {
					e.updated = stored.At.UnixNano() // the conversation started (see startedAt)
				}
			}
			e.last = stored.Offset
		}
	})
	return stored, false, nil
}

// MessageByCID returns the message visitor id's conversation holds under cid; ErrNotFound if none.
func (s *Store) MessageByCID(id, cid string) (Message, error) {
	m, err := s.messages.FindOne("cid", id, cid)
	return m, mapErr(err)
}

// MessagesOf returns visitor id's messages with offset > after, oldest first;
// limit > 0 keeps only the newest limit of them.
func (s *Store) MessagesOf(id string, after uint64, limit int) ([]Message, error) {
	q := db.Query{Index: "client", Values: []string{id}, After: db.SeqID(after), Limit: limit, Reverse: limit > 0}
	return s.find(q)
}

// MessagesBefore returns up to limit of visitor id's messages with offset < before, oldest first.
func (s *Store) MessagesBefore(id string, before uint64, limit int) ([]Message, error) {
	q := db.Query{Index: "client", Values: []string{id}, Limit: limit, Reverse: true}
	if before > 0 {
		q.Before = db.SeqID(before)
	}
	return s.find(q)
}

// MessagesAfter returns all messages with offset > after, oldest first; limit
// > 0 keeps only the newest limit of them.
func (s *Store) MessagesAfter(after uint64, limit int) ([]Message, error) {
	q := db.Query{After: db.SeqID(after), Limit: limit, Reverse: limit > 0}
	return s.find(q)
}

func (s *Store) find(q db.Query) ([]Message, error) {
	ms, err := s.messages.Find(q)
	if err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	if q.Reverse {
		for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
			ms[i], ms[j] = ms[j], ms[i]
		}
	}
	return ms, nil
}

// LastOffset is the highest offset handed out so far (0 if none).
func (s *Store) LastOffset() uint64 { return s.messages.Seq() }

// MessageCount is the number of stored messages.
func (s *Store) MessageCount() int { return s.messages.Count() }

// Admin finds an admin by name.
func (s *Store) Admin(name string) (Admin, error) {
	if name == "" {
		return Admin{}, ErrNotFound
	}
	a, err := s.admins.Get(name)
	return a, mapErr(err)
}

// Admins lists the admins by name.
func (s *Store) Admins() ([]Admin, error) {
	return s.admins.Find(db.Query{})
}

func mapErr(err error) error {
	if errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}
