package cluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/notify/push"
	"github.com/chatd/chatd/store"
)

// ErrUnavailable means the cluster could not take or serve the request now
// (no quorum, no stream leader yet, still starting); nothing was stored.
var ErrUnavailable = errors.New("cluster unavailable")

// Bucket names.
const (
	bucketVisitors = "chatd_visitors"      // visitor id -> store.Visitor (token as SHA-256 only)
	bucketTokens   = "chatd_tokens"        // SHA-256 of a visitor token -> visitor id
	bucketAdmins   = "chatd_admins"        // base64url(name) -> store.Admin (bcrypt)
	bucketSessions = "chatd_sessions"      // SHA-256 of an admin login token -> session
	bucketPresence = "chatd_presence"      // node heartbeats and per-node online visitors
	bucketPages    = "chatd_pages"         // visitor id -> current page and trail
	bucketMeta     = "chatd_meta"          // "epoch" -> the cluster's epoch
	bucketProfiles = "chatd_profiles"      // visitor id -> store.Profile
	bucketIdents   = "chatd_identities"    // SHA-256 of a site user id -> visitor id
	bucketPush     = "chatd_push"          // push subscription id -> push.Subscription
	bucketConvs    = "chatd_conversations" // visitor id -> store.ConversationDoc
	bucketCanned   = "chatd_canned"        // base64url(shortcut) -> store.Canned
	bucketVisits   = "chatd_visits"        // visitor id -> store.VisitInfo
)

// Store is the hub's Store over JetStream, plus the commit feed and the
// cluster-wide presence the hub subscribes to (hub.Feed). Open returns at
// once; the node becomes usable (Ready) when the cluster has a quorum and
// this node has read the whole log. Until then calls fail with ErrUnavailable.
type Store struct {
	cfg Config
	log zerolog.Logger
	srv *server.Server // nil when connected to an existing NATS cluster
	nc  *nats.Conn
	js  jetstream.JetStream

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// drained is cancelled by Drain: writes waiting for a quorum give up.
	drained context.Context
	drain   context.CancelFunc

	setup      atomic.Bool // streams and buckets exist, views caught up at least once
	msgs       *msgView
	msgTail    *tail
	visitors   *kvView[store.Visitor]
	tokens     *kvView[string]
	admins     *kvView[store.Admin]
	sessions   *kvView[store.Session]
	pages      *kvView[pageDoc]
	meta       *kvView[string]
	profiles   *kvView[store.Profile]
	identities *kvView[string]
	push       *kvView[push.Subscription]
	convs      *kvView[store.ConversationDoc]
	canned     *kvView[store.Canned]
	visits     *kvView[store.VisitInfo]
	inbox      *store.InboxIndex // conversations, filters, counts (inbox.go)
	presence   *presence
	limits     atomic.Pointer[store.Limits]
	// known is the highest offset known committed (the stream leader's last
	// sequence at the last look, or an acknowledged publish); knownAt when
	// the leader was last asked.
	known   atomic.Uint64
	knownAt atomic.Int64
	health  health
	toucher *toucher

	// leader is cancelled (and replaced) whenever the message stream elects
	// a leader: publish attempts waiting on a dead one retry at once.
	leaderMu sync.Mutex
	leader   context.Context
	newLead  context.CancelFunc

	feedMu     sync.Mutex
	onMessage  func(store.Message)
	onPage     func(id string, current store.PageView)
	statusSink atomic.Pointer[func(id, name string, online, isNew bool)]
	feed       atomic.Pointer[hub.FeedEvents] // all of the hub's callbacks (events.go)
}

// Open starts the embedded NATS server (or connects to cfg.URL) and begins
// setting the cluster up in the background; it fails only on a bad
// configuration or a port it cannot bind.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, log: cfg.Log, msgs: newMsgView(), inbox: store.NewInboxIndex()}
	l := store.DefaultLimits()
	s.limits.Store(&l)
	if cfg.Name != "" {
		srv, err := startServer(cfg)
		if err != nil {
			return nil, err
		}
		s.srv = srv
	}
	nc, err := connect(cfg, s.srv)
	if err != nil {
		s.shutdownServer()
		return nil, err
	}
	s.nc = nc
	s.js, err = jetstream.New(nc)
	if err != nil {
		nc.Close()
		s.shutdownServer()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.drained, s.drain = context.WithCancel(s.ctx)
	s.leader, s.newLead = context.WithCancel(s.ctx)
	if _, err := nc.Subscribe("$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."+msgStream, func(*nats.Msg) { s.leaderElected() }); err != nil {
		s.log.Warn().Err(err).Msg("cannot follow leader elections; retries after a failover wait for their timeout")
	}
	s.msgTail = newTail(nc, msgStream, msgPrefix+">", s.applyMessage, s.log)
	s.toucher = newToucher(s)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.start()
	}()
	return s, nil
}

// start creates (or checks) the streams and buckets, then runs the tails,
// the presence heartbeat and the health check until Close.
func (s *Store) start() {
	if err := waitJetStream(s.ctx, s.js, s.log); err != nil {
		return
	}
	var kvs map[string]jetstream.KeyValue
	for {
		var err error
		if kvs, err = s.ensure(s.ctx); err == nil {
			break
		}
		s.log.Warn().Err(err).Msg("cannot create the cluster's streams yet (are enough nodes up?); retrying")
		if sleep(s.ctx, 2*time.Second); s.ctx.Err() != nil {
			return
		}
	}
	s.visitors = newKVView(s.nc, kvs[bucketVisitors], jsonDecode[store.Visitor], s.log)
	s.tokens = newKVView(s.nc, kvs[bucketTokens], func(b []byte) (string, error) { return string(b), nil }, s.log)
	s.admins = newKVView(s.nc, kvs[bucketAdmins], jsonDecode[store.Admin], s.log)
	s.sessions = newKVView(s.nc, kvs[bucketSessions], jsonDecode[store.Session], s.log)
	s.pages = newKVView(s.nc, kvs[bucketPages], jsonDecode[pageDoc], s.log)
	s.pages.onChange = s.applyPage
	s.meta = newKVView(s.nc, kvs[bucketMeta], func(b []byte) (string, error) { return string(b), nil }, s.log)
	s.profiles = newKVView(s.nc, kvs[bucketProfiles], jsonDecode[store.Profile], s.log)
	s.identities = newKVView(s.nc, kvs[bucketIdents], func(b []byte) (string, error) { return string(b), nil }, s.log)
	s.push = newKVView(s.nc, kvs[bucketPush], jsonDecode[push.Subscription], s.log)
	s.convs = newKVView(s.nc, kvs[bucketConvs], jsonDecode[store.ConversationDoc], s.log)
	s.canned = newKVView(s.nc, kvs[bucketCanned], jsonDecode[store.Canned], s.log)
	s.visits = newKVView(s.nc, kvs[bucketVisits], jsonDecode[store.VisitInfo], s.log)
	s.presence = newPresence(s, kvs[bucketPresence])
	s.hookViews()
	if err := s.ensureEpoch(kvs[bucketMeta]); err != nil {
		s.log.Error().Err(err).Msg("cannot read or set the cluster's epoch")
		return
	}
	tails := []*tail{s.msgTail, s.visitors.tail, s.tokens.tail, s.admins.tail, s.sessions.tail,
		s.pages.tail, s.meta.tail, s.profiles.tail, s.identities.tail, s.push.tail,
		s.convs.tail, s.canned.tail, s.visits.tail, s.presence.view.tail}
	for _, t := range tails {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := t.run(s.ctx); err != nil {
				s.log.Error().Err(err).Msg("tail stopped")
			}
		}()
	}
	// Read everything that was committed before this node started, then serve.
	for _, t := range tails {
		last, err := s.streamLast(s.ctx, t.stream)
		for err != nil && s.ctx.Err() == nil {
			sleep(s.ctx, time.Second)
			last, err = s.streamLast(s.ctx, t.stream)
		}
		if t.waitFor(s.ctx, last) != nil {
			return
		}
	}
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.presence.run(s.ctx) }()
	go func() { defer s.wg.Done(); s.toucher.run(s.ctx) }()
	go func() { defer s.wg.Done(); s.health.run(s.ctx, s) }()
	s.setup.Store(true)
	s.log.Info().Uint64("offset", s.msgTail.pos.Load()).Int("messages", s.msgs.count()).Msg("cluster store ready")
}

// ensure creates the message stream and the buckets if missing. An
// existing one is used as it is (never updated: every node starting at
// once would race to update it; a changed setting is applied by an operator
// with the nats tool).
func (s *Store) ensure(ctx context.Context) (map[string]jetstream.KeyValue, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.js.Stream(ctx, msgStream); errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = s.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        msgStream,
			Description: "chatd messages: sequence = offset, one subject per (visitor, cid)",
			Subjects:    []string{msgPrefix + "*.*", gapSubject},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    s.cfg.Replicas,
			Duplicates:  s.cfg.Dedupe,
			AllowDirect: true,
			DenyDelete:  true,
			MaxMsgSize:  64 << 10,
		})
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, fmt.Errorf("create stream %s: %w", msgStream, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("stream %s: %w", msgStream, err)
	}
	kvs := map[string]jetstream.KeyValue{}
	for _, b := range []jetstream.KeyValueConfig{
		{Bucket: bucketVisitors, Storage: jetstream.FileStorage},
		{Bucket: bucketTokens, Storage: jetstream.FileStorage},
		{Bucket: bucketAdmins, Storage: jetstream.FileStorage},
		{Bucket: bucketSessions, Storage: jetstream.FileStorage, TTL: 48 * time.Hour},
		{Bucket: bucketPresence, Storage: jetstream.MemoryStorage},
		{Bucket: bucketPages, Storage: jetstream.FileStorage},
		{Bucket: bucketMeta, Storage: jetstream.FileStorage},
		{Bucket: bucketProfiles, Storage: jetstream.FileStorage},
		{Bucket: bucketIdents, Storage: jetstream.FileStorage},
		{Bucket: bucketPush, Storage: jetstream.FileStorage},
		{Bucket: bucketConvs, Storage: jetstream.FileStorage},
		{Bucket: bucketCanned, Storage: jetstream.FileStorage},
		{Bucket: bucketVisits, Storage: jetstream.FileStorage},
	} {
		b.Replicas, b.History = s.cfg.Replicas, 1
		kv, err := s.js.KeyValue(ctx, b.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = s.js.CreateKeyValue(ctx, b)
			if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				kv, err = s.js.KeyValue(ctx, b.Bucket)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", b.Bucket, err)
		}
		kvs[b.Bucket] = kv
	}
	return kvs, nil
}

// streamLast is the stream's last sequence, from its leader.
func (s *Store) streamLast(ctx context.Context, stream string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// leaderElected ends the current leader context.
func (s *Store) leaderElected() {
	s.leaderMu.Lock()
	s.newLead()
	s.leader, s.newLead = context.WithCancel(s.ctx)
	s.leaderMu.Unlock()
}

// leaderCtx is done at the next leader election of the message stream.
func (s *Store) leaderCtx() context.Context {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	return s.leader
}

// Drain makes writes that wait for a quorum give up at once (unavailable:
// nothing stored, the client re-sends elsewhere), and later ones fail, so a
// shutdown closes sockets promptly even without a quorum. Reads go on.
func (s *Store) Drain() { s.drain() }

// Close stops the tails, the NATS connection and the embedded server.
func (s *Store) Close() error {
	if s.setup.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.presence.leaveAll(ctx)
		cancel()
	}
	s.cancel()
	s.wg.Wait()
	s.nc.Close()
	s.shutdownServer()
	return nil
}

func (s *Store) shutdownServer() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
}

// usable fails with ErrUnavailable until the setup is done.
func (s *Store) usable() error {
	if !s.setup.Load() {
		return fmt.Errorf("%w: still joining the cluster", ErrUnavailable)
	}
	return nil
}

// Subscribe implements hub.Feed: onMessage gets every message this node
// applies from now on, once, in offset order; onStatus every change of a
// visitor's presence on any node.
func (s *Store) Subscribe(ev hub.FeedEvents) {
	s.feedMu.Lock()
	s.onMessage = ev.Message
	s.onPage = ev.Page
	s.feedMu.Unlock()
	s.statusSink.Store(&ev.Status)
	s.feed.Store(&ev)
	s.subscribeFrames()
}

// applyPage is the pages view's change hook: a new current page goes to the hub.
func (s *Store) applyPage(id string, d pageDoc, deleted bool, _ time.Time) {
	s.feedMu.Lock()
	fn := s.onPage
	s.feedMu.Unlock()
	if fn != nil && !deleted {
		fn(id, d.Current)
	}
}

// applyMessage is the message tail's apply: into the view, then to the hub.
func (s *Store) applyMessage(e entry) {
	if e.Subject == gapSubject {
		return
	}
	r, err := decodeRecord(e)
	if err != nil {
		s.log.Error().Err(err).Uint64("offset", e.Seq).Msg("undecodable message skipped")
		return
	}
	m := r.message(e.Seq)
	s.msgs.add(m)
	s.inbox.Message(m)
	s.feedMu.Lock()
	fn := s.onMessage
	s.feedMu.Unlock()
	if fn != nil {
		fn(m)
	}
}

// randomString returns n random bytes as hex or base64url.
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

// createOnce creates key with val, retrying a leaderless bucket; a key that
// exists with exactly val is an earlier try of this call that landed.
func (s *Store) createOnce(ctx context.Context, kv jetstream.KeyValue, key string, val []byte) error {
	var rev uint64
	err := retryKV(ctx, func(ctx context.Context) error {
		var err error
		rev, err = kv.Create(ctx, key, val)
		return err
	})
	if err == nil {
		s.wroteTo(ctx, kv.Bucket(), rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSeq(err) {
		var cur []byte
		if gerr := retryKV(ctx, func(ctx context.Context) error {
			e, err := kv.Get(ctx, key)
			if err == nil {
				cur = e.Value()
			}
			return err
		}); gerr == nil && string(cur) == string(val) {
			return nil
		}
		return jetstream.ErrKeyExists
	}
	return err
}

// writeWait bounds a key-value write made for a request (a login), long
// enough to ride out a bucket's leader election.
const writeWait = 10 * time.Second

// wroteTo waits until this node has applied revision rev of bucket (see kvView.wrote).
func (s *Store) wroteTo(ctx context.Context, bucket string, rev uint64) {
	for _, t := range []*tail{s.visitors.tail, s.tokens.tail, s.identities.tail, s.sessions.tail} {
		if t.stream == "KV_"+bucket && rev != 0 {
			t.waitFor(ctx, rev)
			return
		}
	}
}

// readWait bounds a read that may ask a stream leader.
const readWait = 5 * time.Second

// MessagesOf returns visitor id's messages with offset > after, oldest first;
// limit > 0 keeps only the newest limit of them. If after is beyond what
// this node has read (the client saw it on another node), it first waits
// for this node to catch up.
func (s *Store) MessagesOf(id string, after uint64, limit int) ([]store.Message, error) {
	if err := s.caughtUp(after); err != nil {
		return nil, err
	}
	return s.msgs.of(id, after, limit), nil
}

// MessagesBefore returns up to limit of visitor id's messages with offset < before, oldest first.
func (s *Store) MessagesBefore(id string, before uint64, limit int) ([]store.Message, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	return s.msgs.before(id, before, limit), nil
}

// MessagesAfter returns all messages with offset > after, oldest first; limit
// > 0 keeps only the newest limit of them.
func (s *Store) MessagesAfter(after uint64, limit int) ([]store.Message, error) {
	if err := s.caughtUp(after); err != nil {
		return nil, err
	}
	return s.msgs.after(after, limit), nil
}

// caughtUp waits (bounded) until this node has read offset after, or the
// end of the log if after is beyond it.
func (s *Store) caughtUp(after uint64) error {
	if err := s.usable(); err != nil {
		return err
	}
	if s.msgTail.pos.Load() >= after {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	last, err := s.streamLast(ctx, msgStream)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	// A cursor beyond the whole log (a client of another store) waits for
	// nothing: the replay is what there is, as on a single node.
	if err := s.msgTail.waitFor(ctx, min(after, last)); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// LastOffset is the highest offset known committed in the cluster: what
// this node has read, what it was acknowledged, and the stream leader's last
// sequence, asked at most every lastOffsetTTL (a client that saw an offset on
// another node a moment ago must not be told its cursor is unknown here).
//
// While no stream leader answers (an election), the last offset is unknown:
// a client's cursor may name a message committed just before the old leader
// died that this node has not applied yet. LastOffset then answers
// math.MaxUint64, so no cursor is judged unknown (no false resync); the
// replay (MessagesOf) waits for the cursor or fails unavailable, and the
// client retries.
func (s *Store) LastOffset() uint64 {
	if s.setup.Load() && time.Since(time.Unix(0, s.knownAt.Load())) > lastOffsetTTL {
		ctx, cancel := context.WithTimeout(s.ctx, time.Second)
		last, err := s.streamLast(ctx, msgStream)
		cancel()
		if err != nil {
			return math.MaxUint64
		}
		s.raiseKnown(last)
		s.knownAt.Store(time.Now().UnixNano())
	}
	return max(s.msgTail.pos.Load(), s.known.Load())
}

// lastOffsetTTL bounds how stale LastOffset's view of the leader may be.
const lastOffsetTTL = 100 * time.Millisecond

// raiseKnown records that offset off is committed.
func (s *Store) raiseKnown(off uint64) {
	for {
		cur := s.known.Load()
		if off <= cur || s.known.CompareAndSwap(cur, off) {
			return
		}
	}
}

// Applied implements hub.Feed: the last offset delivered through the feed.
func (s *Store) Applied() uint64 { return s.msgTail.pos.Load() }

// SetLimits sets the name and text limits (cmd/chatd, before serving).
func (s *Store) SetLimits(l store.Limits) error {
	if err := l.Check(); err != nil {
		return err
	}
	s.limits.Store(&l)
	return nil
}

// Limits returns the limits the store enforces.
func (s *Store) Limits() store.Limits { return *s.limits.Load() }

// MessageCount is the number of messages this node has read.
func (s *Store) MessageCount() int { return s.msgs.count() }

// Admin finds an admin by name.
func (s *Store) Admin(name string) (store.Admin, error) {
	if name == "" {
		return store.Admin{}, store.ErrNotFound
	}
	if err := s.usable(); err != nil {
		return store.Admin{}, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	a, err := s.admins.get(ctx, keyOf(name))
	if errors.Is(err, errNoKey) {
		return store.Admin{}, store.ErrNotFound
	}
	return a, err
}

// ReseedAdmins makes the admins bucket hold exactly admins (this node's seed
// file): every node reseeds at boot, so all nodes must share one seed file.
func (s *Store) ReseedAdmins(ctx context.Context, admins []store.Admin) error {
	if err := s.usable(); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, a := range admins {
		k := keyOf(a.Name)
		keep[k] = true
		if cur, ok := s.admins.local(k); ok && cur == a {
			continue
		}
		b, _ := json.Marshal(a)
		if err := retryKV(ctx, func(ctx context.Context) error { _, err := s.admins.kv.Put(ctx, k, b); return err }); err != nil {
			return fmt.Errorf("reseed admin %q: %w", a.Name, err)
		}
	}
	var drop []string
	s.admins.each(func(k string, _ store.Admin) {
		if !keep[k] {
			drop = append(drop, k)
		}
	})
	for _, k := range drop {
		if err := retryKV(ctx, func(ctx context.Context) error { return s.admins.kv.Delete(ctx, k) }); err != nil {
			return fmt.Errorf("reseed admins: remove: %w", err)
		}
	}
	return nil
}

// Ready reports whether the node serves: set up, caught up, and the message
// stream has a leader with a quorum. why says what is missing.
func (s *Store) Ready() (ok bool, why string) {
	switch {
	case !s.setup.Load():
		return false, "joining the cluster"
	case !s.health.quorum.Load():
		return false, "no quorum"
	case time.Since(time.Unix(0, s.msgTail.lastOK.Load())) > staleAfter:
		return false, "cannot read the message stream from any replica"
	}
	return true, ""
}
