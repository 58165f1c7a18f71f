package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// entry is one stored stream message as a tail reads it.
type entry struct {
	Seq     uint64
	Subject string
	Header  nats.Header
	Data    []byte
	Time    time.Time // the stream's timestamp
}

// tail reads one stream from the start, in sequence order, and hands every
// message to apply exactly once. It reads with JetStream's batched direct get
// ($JS.API.DIRECT.GET), which any replica answers from its own store, and a
// replica only stores what a quorum committed: so a tail needs no stream
// leader, no consumer and no meta leader, keeps reading through a leader
// election, and never sees an uncommitted message. A replica's store is a
// prefix of the log, so a batch never skips a message that a later batch
// could bring (sequences only jump over deleted messages).
//
// It polls only when woken: a core subscription on the stream's subjects
// sees every publish, after which the commit follows within milliseconds;
// a wake that finds nothing is retried a few times with short delays, and a
// slow tick covers anything missed.
type tail struct {
	nc     *nats.Conn
	stream string
	wakeOn string // subject filter whose publishes wake the tail
	apply  func(entry)
	log    zerolog.Logger

	inbox   string
	replies *nats.Subscription // unbounded: a reply is never dropped
	reqID   uint64
	wake    chan struct{}
	woke    atomic.Int64 // unix nanos of the last wake

	pos     atomic.Uint64 // last sequence applied (or skipped)
	pending atomic.Uint64 // messages the replica had after pos at the last read
	lastOK  atomic.Int64  // unix nanos of the last successful read
	mu      sync.Mutex
	moved   chan struct{} // closed and replaced whenever pos advances
}

// Tail tuning.
const (
	tailBatch    = 512
	tailMaxBytes = 4 << 20
	tailTick     = time.Second
	tailReqWait  = 3 * time.Second
)

// retryAfterWake are the delays between reads after a wake found nothing new
// (the publish was seen before its commit reached this replica).
// The commit usually follows in a millisecond; on a starved machine it can
// take hundreds, so the tail keeps looking for about a second.
var retryAfterWake = []time.Duration{200 * time.Microsecond, 500 * time.Microsecond, time.Millisecond,
	2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond}

func newTail(nc *nats.Conn, stream, wakeOn string, apply func(entry), log zerolog.Logger) *tail {
	return &tail{
		nc: nc, stream: stream, wakeOn: wakeOn, apply: apply,
		log:   log.With().Str("stream", stream).Logger(),
		inbox: nc.NewRespInbox(),
		wake:  make(chan struct{}, 1), moved: make(chan struct{}),
	}
}

// run tails until ctx ends.
func (t *tail) run(ctx context.Context) error {
	rsub, err := t.nc.SubscribeSync(t.inbox + ".*")
	if err != nil {
		return fmt.Errorf("tail %s: subscribe replies: %w", t.stream, err)
	}
	defer rsub.Unsubscribe()
	rsub.SetPendingLimits(-1, -1)
	t.replies = rsub
	wsub, err := t.nc.Subscribe(t.wakeOn, func(*nats.Msg) { t.kick() })
	if err != nil {
		return fmt.Errorf("tail %s: subscribe %s: %w", t.stream, t.wakeOn, err)
	}
	defer wsub.Unsubscribe()
	wsub.SetPendingLimits(-1, -1)

	tick := time.NewTicker(tailTick)
	defer tick.Stop()
	retry := 0
	for ctx.Err() == nil {
		n, err := t.read(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				t.log.Debug().Err(err).Msg("tail read failed; retrying")
			}
			retry = len(retryAfterWake)
		case n > 0 && t.pending.Load() > 0:
			continue // the replica has more
		case n > 0:
			// Caught up with the replica: wait for the next publish (a wake
			// that came during the read is already in the channel).
			retry = len(retryAfterWake)
		}
		if retry < len(retryAfterWake) && time.Since(time.Unix(0, t.woke.Load())) < time.Second {
			sleep(ctx, retryAfterWake[retry])
			retry++
			continue
		}
		select {
		case <-ctx.Done():
		case <-t.wake:
			retry = 0
		case <-tick.C:
		}
	}
	return nil
}

func (t *tail) kick() {
	t.woke.Store(time.Now().UnixNano())
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// read asks a replica for the messages after pos and applies them; it
// returns how many it applied.
func (t *tail) read(ctx context.Context) (int, error) {
	t.reqID++
	reply := t.inbox + "." + strconv.FormatUint(t.reqID, 10)
	from := t.pos.Load() + 1
	req, _ := json.Marshal(map[string]any{"seq": from, "batch": tailBatch, "max_bytes": tailMaxBytes})
	if err := t.nc.PublishRequest("$JS.API.DIRECT.GET."+t.stream, reply, req); err != nil {
		return 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, tailReqWait)
	defer cancel()
	n := 0
	var lastPending uint64
	for {
		m, err := t.replies.NextMsgWithContext(rctx)
		if err != nil {
			return n, fmt.Errorf("direct get %s: %w", t.stream, err)
		}
		if m.Subject != reply {
			continue // an answer to an earlier request that timed out
		}
		switch m.Header.Get("Status") {
		case "":
		case "204": // end of batch
			p, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
			t.pending.Store(p)
			t.lastOK.Store(time.Now().UnixNano())
			return n, nil
		case "404": // nothing after pos
			t.pending.Store(0)
			t.lastOK.Store(time.Now().UnixNano())
			return n, nil
		default:
			return n, fmt.Errorf("direct get %s: status %s %s", t.stream, m.Header.Get("Status"), m.Header.Get("Description"))
		}
		seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
		if err != nil || seq <= t.pos.Load() {
			continue
		}
		// Each message of a batch says how many follow it; a step other
		// than one means a message of the batch went missing on the way:
		// stop here and ask again from the last one applied.
		np, err := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
		if err == nil && n > 0 && np+1 != lastPending {
			return n, fmt.Errorf("direct get %s: batch broken after %d", t.stream, t.pos.Load())
		}
		lastPending = np
		ts, _ := time.Parse(time.RFC3339Nano, m.Header.Get("Nats-Time-Stamp"))
		t.apply(entry{Seq: seq, Subject: m.Header.Get("Nats-Subject"), Header: m.Header, Data: m.Data, Time: ts})
		t.advance(seq)
		n++
	}
}

func (t *tail) advance(seq uint64) {
	t.mu.Lock()
	t.pos.Store(seq)
	close(t.moved)
	t.moved = make(chan struct{})
	t.mu.Unlock()
}

// waitFor blocks until the tail has applied seq, or ctx ends.
func (t *tail) waitFor(ctx context.Context, seq uint64) error {
	for {
		t.mu.Lock()
		if t.pos.Load() >= seq {
			t.mu.Unlock()
			return nil
		}
		moved := t.moved
		t.mu.Unlock()
		t.kick()
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to reach %d (at %d): %w", t.stream, seq, t.pos.Load(), ctx.Err())
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
