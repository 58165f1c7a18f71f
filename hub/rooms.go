package hub

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// errStopping refuses sockets once Shutdown has begun.
var errStopping = errors.New("hub is shutting down")

// index is the hub's room index: every socket, each visitor's sockets (its
// tabs), the admin sockets and sockets per IP. Fan-out reads it to reach
// exactly the sockets concerned; nothing walks every connection.
type index struct {
	mu       sync.RWMutex
	stopping bool
	serving  int                // ServeClient/ServeAdmin calls in progress
	idle     chan struct{}      // closed when serving drops to 0 during Shutdown
	all      map[*conn]struct{} // open sockets, identified or not
	perIP    map[string]int     // serving calls per client IP
	rooms    map[string]*room   // visitor id -> its sockets
	admins   map[*conn]struct{} // identified admin sockets
	vsocks   int                // identified visitor sockets
	// presence, when set (a Feed), is told of a visitor's first and last
	// socket here instead of the admins being told directly.
	presence func(id, name string, online, isNew bool)
}

// room is one online visitor.
type room struct {
	name  string
	conns map[*conn]struct{}
}

func newIndex() *index {
	return &index{
		all:    make(map[*conn]struct{}),
		perIP:  make(map[string]int),
		rooms:  make(map[string]*room),
		admins: make(map[*conn]struct{}),
	}
}

// enter counts a new request from ip. over reports that ip already has max
// sockets (the socket is then opened only to be refused).
func (x *index) enter(ip string, max int) (over bool, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.stopping {
		return false, errStopping
	}
	x.serving++
	if max > 0 && x.perIP[ip] >= max {
		return true, nil
	}
	x.perIP[ip]++
	return false, nil
}

// leave undoes enter once the socket's handler has returned.
func (x *index) leave(ip string, counted bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.serving--
	if counted {
		if x.perIP[ip]--; x.perIP[ip] <= 0 {
			delete(x.perIP, ip)
		}
	}
	if x.serving == 0 && x.idle != nil {
		close(x.idle)
		x.idle = nil
	}
}

// open registers a socket that melody has accepted. False once stopping.
func (x *index) open(c *conn) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.all[c] = struct{}{}
	return !x.stopping
}

// joinVisitor puts an identified visitor socket in its room. It refuses when
// the visitor already has max sockets. The first socket of a visitor tells
// the admins it is online (status true, new for a visitor just created).
func (x *index) joinVisitor(c *conn, id *identity, max int, isNew bool) (first, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	r := x.rooms[id.visitor]
	if r != nil && max > 0 && len(r.conns) >= max {
		return false, false
	}
	c.id.Store(id)
	if r == nil {
		r = &room{name: id.name, conns: make(map[*conn]struct{})}
		x.rooms[id.visitor] = r
		first = true
		x.announce(id.visitor, id.name, true, isNew)
	}
	r.conns[c] = struct{}{}
	x.vsocks++
	return first, true
}

// joinAdmin registers an identified admin socket for status events and messages.
func (x *index) joinAdmin(c *conn, id *identity) {
	x.mu.Lock()
	defer x.mu.Unlock()
	c.id.Store(id)
	x.admins[c] = struct{}{}
}

// close forgets a socket. last reports that it was its visitor's last one; the
// admins are then told the visitor is offline.
func (x *index) close(c *conn) (last bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.all, c)
	id := c.who()
	if id == nil {
		return false
	}
	if c.kind == kindAdmin {
		delete(x.admins, c)
		return false
	}
	r := x.rooms[id.visitor]
	if r == nil {
		return false
	}
	if _, ok := r.conns[c]; !ok {
		return false
	}
	delete(r.conns, c)
	x.vsocks--
	if len(r.conns) > 0 {
		return false
	}
	delete(x.rooms, id.visitor)
	x.announce(id.visitor, id.name, false, false)
	return true
}

// announce tells the admins (or the Feed's presence) that a visitor came
// online or went offline here. Called under x.mu.
func (x *index) announce(visitor, name string, online, isNew bool) {
	if x.presence != nil {
		x.presence(visitor, name, online, isNew)
		return
	}
	f := encodeFrame(evAdminStatus, clientStatus{ID: visitor, Name: name, Status: online, New: isNew})
	for a := range x.admins {
		a.live(0, f)
	}
}

// each calls fn for every socket of visitor id and every admin socket.
// The caller holds no index lock; fn must not block.
func (x *index) each(visitor string, toClient, toAdmin func(*conn)) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if r := x.rooms[visitor]; r != nil && toClient != nil {
		for c := range r.conns {
			toClient(c)
		}
	}
	if toAdmin != nil {
		for a := range x.admins {
			toAdmin(a)
		}
	}
}

// online returns the names of the visitors with an open socket.
func (x *index) online() map[string]string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	m := make(map[string]string, len(x.rooms))
	for id, r := range x.rooms {
		m[id] = r.name
	}
	return m
}

// stop refuses new sockets from now on and returns the open ones.
func (x *index) stop() []*conn {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.stopping = true
	out := make([]*conn, 0, len(x.all))
	for c := range x.all {
		out = append(out, c)
	}
	return out
}

// wait returns once no socket handler is running, or with ctx's error.
func (x *index) wait(ctx context.Context) error {
	x.mu.Lock()
	if x.serving == 0 {
		x.mu.Unlock()
		return nil
	}
	if x.idle == nil {
		x.idle = make(chan struct{})
	}
	idle := x.idle
	x.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// counts returns online visitors, visitor sockets and admin sockets.
func (x *index) counts() (visitors, vsocks, admins int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.rooms), x.vsocks, len(x.admins)
}

// limiters is a set of token buckets by key (visitor id, IP). Entries nobody
// holds and that have refilled completely are swept at most once a minute, on
// use: forgetting a full bucket loses nothing, so the set stays as small as
// the set of recently active keys.
type limiters struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	m     map[string]*limiterEntry
	swept time.Time
}

type limiterEntry struct {
	l    *rate.Limiter
	refs int
}

func newLimiters(every rate.Limit, burst int) *limiters {
	return &limiters{every: every, burst: burst, m: make(map[string]*limiterEntry)}
}

// acquire returns key's limiter and holds it until release.
func (s *limiters) acquire(key string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entry(key)
	e.refs++
	return e.l
}

// release drops a hold taken by acquire.
func (s *limiters) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[key]; e != nil && e.refs > 0 {
		e.refs--
	}
}

// allow takes one token from key's limiter without holding it.
func (s *limiters) allow(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entry(key).l.Allow()
}

func (s *limiters) entry(key string) *limiterEntry {
	now := time.Now()
	if now.Sub(s.swept) > time.Minute {
		s.swept = now
		for k, e := range s.m {
			if e.refs == 0 && e.l.TokensAt(now) >= float64(s.burst) {
				delete(s.m, k)
			}
		}
	}
	e := s.m[key]
	if e == nil {
		e = &limiterEntry{l: rate.NewLimiter(s.every, s.burst)}
		s.m[key] = e
	}
	return e
}

// size is the number of keys kept, for tests.
func (s *limiters) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
