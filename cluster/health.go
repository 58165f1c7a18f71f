package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chatd/chatd/store"
)

// health is what this node knows of the message stream's replication,
// refreshed every healthPeriod from the stream leader.
type health struct {
	quorum      atomic.Bool
	lostAt      atomic.Int64 // unix nanos quorum was lost, 0 while it holds
	mu          sync.Mutex
	leader      string
	lastSeq     uint64
	replicas    int // replicas current with the leader, the leader included
	wantReplica int
}

const healthPeriod = time.Second

func (h *health) run(ctx context.Context, s *Store) {
	h.wantReplica = s.cfg.Replicas
	tick := time.NewTicker(healthPeriod)
	defer tick.Stop()
	for {
		h.check(ctx, s)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// check asks the stream leader for the stream's state. The stream has a
// quorum when it has a leader and a majority of its replicas are current.
func (h *health) check(ctx context.Context, s *Store) {
	ctx, cancel := context.WithTimeout(ctx, healthPeriod)
	defer cancel()
	var info *jetstream.StreamInfo
	st, err := s.js.Stream(ctx, msgStream)
	if err == nil {
		info = st.CachedInfo()
	}
	ok := false
	h.mu.Lock()
	if err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
		n := 1
		for _, r := range info.Cluster.Replicas {
			if r.Current && !r.Offline {
				n++
			}
		}
		h.leader, h.lastSeq, h.replicas = info.Cluster.Leader, info.State.LastSeq, n
		ok = n > h.wantReplica/2
	} else {
		h.leader, h.replicas = "", 0
	}
	h.mu.Unlock()
	if ok {
		h.lostAt.Store(0)
	} else if h.lostAt.Load() == 0 {
		h.lostAt.Store(time.Now().UnixNano())
	}
	if was := h.quorum.Swap(ok); was != ok {
		if ok {
			s.log.Info().Str("leader", h.leader).Msg("cluster quorum regained")
		} else {
			s.log.Warn().Err(err).Msg("cluster quorum lost: writes are refused until it is back")
		}
	}
}

// noQuorumFor is how long quorum has been lost (0 while it holds).
func (h *health) noQuorumFor() time.Duration {
	at := h.lostAt.Load()
	if at == 0 {
		return 0
	}
	return time.Since(time.Unix(0, at))
}

// Status is a node's view of the cluster, for /metrics and logs.
type Status struct {
	Node     string // this node
	Leader   string // the message stream's leader ("" if none)
	Quorum   bool
	Replicas int    // replicas current with the leader, the leader included
	Last     uint64 // the stream's last sequence, at the last check
	Applied  uint64 // the last offset this node has read
	Ready    bool
}

// Status returns the node's view of the cluster.
func (s *Store) Status() Status {
	s.health.mu.Lock()
	st := Status{Node: s.cfg.Node, Leader: s.health.leader, Replicas: s.health.replicas, Last: s.health.lastSeq}
	s.health.mu.Unlock()
	st.Quorum = s.health.quorum.Load()
	st.Applied = s.msgTail.pos.Load()
	st.Ready, _ = s.Ready()
	return st
}

// toucher writes visitors' LastSeen in the background, coalesced per
// visitor, with a compare-and-set so a concurrent change (from another
// node) is not overwritten.
type toucher struct {
	s    *Store
	mu   sync.Mutex
	want map[string]time.Time
	kick chan struct{}
}

func newToucher(s *Store) *toucher {
	return &toucher{s: s, want: map[string]time.Time{}, kick: make(chan struct{}, 1)}
}

func (t *toucher) touch(id string, at time.Time) {
	t.mu.Lock()
	if at.After(t.want[id]) {
		t.want[id] = at
	}
	t.mu.Unlock()
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

func (t *toucher) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.kick:
		}
		t.mu.Lock()
		batch := t.want
		t.want = map[string]time.Time{}
		t.mu.Unlock()
		for id, at := range batch {
			if err := t.write(ctx, id, at); err != nil && ctx.Err() == nil {
				t.s.log.Debug().Err(err).Str("visitor", id).Msg("touch visitor")
			}
		}
		sleep(ctx, 100*time.Millisecond) // coalesce bursts
	}
}

func (t *toucher) write(ctx context.Context, id string, at time.Time) error {
	for try := 0; try < 3; try++ {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		e, err := t.s.visitors.kv.Get(wctx, id)
		if err != nil {
			cancel()
			return err
		}
		var v store.Visitor
		if err := json.Unmarshal(e.Value(), &v); err != nil {
			cancel()
			return err
		}
		if !at.After(v.LastSeen) {
			cancel()
			return nil
		}
		v.LastSeen = at.UTC()
		b, _ := json.Marshal(v)
		_, err = t.s.visitors.kv.Update(wctx, id, b, e.Revision())
		cancel()
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !isWrongLastSeq(err) {
			return err
		}
	}
	return errors.New("touch visitor: kept conflicting")
}
