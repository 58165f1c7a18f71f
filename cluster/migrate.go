package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chatd/chatd/store"
)

// Source is what Import reads; *store.Store satisfies it.
type Source interface {
	Visitors() ([]store.VisitorSummary, error)
	MessagesAfter(after uint64, limit int) ([]store.Message, error)
	Epoch() string
}

// Counts says what a migration moved.
type Counts struct {
	Visitors int
	Messages int
	Gaps     int    // offsets with no message (kept unused)
	Last     uint64 // last offset
}

// WaitReady blocks until the store is set up (streams exist, views read).
func (s *Store) WaitReady(ctx context.Context) error {
	for !s.setup.Load() {
		if sleep(ctx, 100*time.Millisecond); ctx.Err() != nil {
			if last := s.nc.LastError(); last != nil {
				return fmt.Errorf("cluster not ready: %w (nats: %v)", ctx.Err(), last)
			}
			return fmt.Errorf("cluster not ready: %w", ctx.Err())
		}
	}
	return nil
}

// importWindow is how many publishes an import keeps in flight.
const importWindow = 256

// Import loads a single-node store into this cluster with the same offsets:
// each message is published with Nats-Expected-Last-Sequence = its offset - 1,
// so the stream refuses it unless its sequence becomes exactly its offset.
// An offset without a message is first filled with a placeholder on
// chatd.gap, purged at the end, so the gap stays. The visitors' details and
// the canned replies follow when src has them (migrate_details.go). The
// message stream must be empty: import into a new cluster.
func (s *Store) Import(ctx context.Context, src Source) (Counts, error) {
	var n Counts
	if err := s.WaitReady(ctx); err != nil {
		return n, err
	}
	if last, err := s.streamLast(ctx, msgStream); err != nil {
		return n, fmt.Errorf("read message stream: %w", err)
	} else if last != 0 {
		return n, fmt.Errorf("the cluster already holds messages (last offset %d): import only into a new cluster", last)
	}
	visitors, err := src.Visitors()
	if err != nil {
		return n, fmt.Errorf("read visitors: %w", err)
	}
	ids := make([]string, 0, len(visitors))
	for _, v := range visitors {
		ids = append(ids, v.ID)
		b, _ := json.Marshal(v.Visitor)
		if _, err := s.visitors.kv.Put(ctx, v.ID, b); err != nil {
			return n, fmt.Errorf("import visitor %s: %w", v.ID, err)
		}
		if _, err := s.tokens.kv.Put(ctx, v.TokenHash, []byte(v.ID)); err != nil {
			return n, fmt.Errorf("import token of visitor %s: %w", v.ID, err)
		}
		n.Visitors++
	}
	msgs, err := src.MessagesAfter(0, 0)
	if err != nil {
		return n, fmt.Errorf("read messages: %w", err)
	}
	var (
		inflight []jetstream.PubAckFuture
		want     []uint64
		next     uint64 = 1
	)
	wait := func() error {
		for i, f := range inflight {
			select {
			case ack := <-f.Ok():
				if ack.Sequence != want[i] {
					return fmt.Errorf("offset %d stored at sequence %d", want[i], ack.Sequence)
				}
			case err := <-f.Err():
				return fmt.Errorf("publish offset %d: %w", want[i], err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		inflight, want = inflight[:0], want[:0]
		return nil
	}
	send := func(m *nats.Msg, seq uint64, opts ...jetstream.PublishOpt) error {
		opts = append(opts, jetstream.WithExpectLastSequence(seq-1))
		f, err := s.js.PublishMsgAsync(m, opts...)
		if err != nil {
			return fmt.Errorf("publish offset %d: %w", seq, err)
		}
		inflight, want = append(inflight, f), append(want, seq)
		if len(inflight) >= importWindow {
			return wait()
		}
		return nil
	}
	for _, m := range msgs {
		for ; next < m.Offset; next++ {
			g := nats.NewMsg(gapSubject)
			g.Data = []byte(strconv.FormatUint(next, 10))
			if err := send(g, next); err != nil {
				return n, err
			}
			n.Gaps++
		}
		r := record{Client: m.Client, From: m.From, Admin: m.Admin, CID: m.CID, Text: m.Text, At: m.At, Note: m.Note}
		pm := nats.NewMsg(msgSubject(m.Client, m.CID))
		pm.Data, _ = json.Marshal(r)
		if err := send(pm, m.Offset, jetstream.WithExpectLastSequencePerSubject(0)); err != nil {
			return n, err
		}
		next = m.Offset + 1
		n.Messages++
		n.Last = m.Offset
	}
	if err := wait(); err != nil {
		return n, err
	}
	if d, ok := src.(DetailSource); ok {
		if err := s.importDetails(ctx, d, ids, n.Last); err != nil {
			return n, err
		}
	}
	// Same offsets, same sequence: clients keep their cursors.
	if err := s.setEpoch(ctx, src.Epoch()); err != nil {
		return n, err
	}
	if n.Gaps > 0 {
		st, err := s.js.Stream(ctx, msgStream)
		if err == nil {
			err = st.Purge(ctx, jetstream.WithPurgeSubject(gapSubject))
		}
		if err != nil {
			return n, fmt.Errorf("remove gap placeholders: %w", err)
		}
	}
	return n, nil
}

// Sink is what Export writes; *store.Store satisfies it.
type Sink interface {
	ImportVisitor(ctx context.Context, v store.Visitor) error
	ImportMessage(ctx context.Context, m store.Message) error
	SetEpoch(ctx context.Context, e string) error
}

// Export writes every visitor and message of the cluster into a
// single-node store, with the same offsets, then their details
// (migrate_details.go) when dst takes them.
func (s *Store) Export(ctx context.Context, dst Sink) (Counts, error) {
	var n Counts
	if err := s.WaitReady(ctx); err != nil {
		return n, err
	}
	last, err := s.streamLast(ctx, msgStream)
	if err != nil {
		return n, fmt.Errorf("read message stream: %w", err)
	}
	if err := s.msgTail.waitFor(ctx, last); err != nil {
		return n, err
	}
	var vs []store.Visitor
	s.visitors.each(func(_ string, v store.Visitor) { vs = append(vs, v) })
	for _, v := range vs {
		if err := dst.ImportVisitor(ctx, v); err != nil {
			return n, err
		}
		n.Visitors++
	}
	var prev uint64
	for _, m := range s.msgs.after(0, 0) {
		if m.Offset > prev+1 {
			n.Gaps += int(m.Offset - prev - 1)
		}
		if err := dst.ImportMessage(ctx, m); err != nil {
			return n, err
		}
		prev = m.Offset
		n.Messages++
		n.Last = m.Offset
	}
	if d, ok := dst.(DetailSink); ok {
		if err := s.exportDetails(ctx, d, vs); err != nil {
			return n, err
		}
	}
	if e := s.Epoch(); e != "" {
		if err := dst.SetEpoch(ctx, e); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Backup is not how a cluster is backed up: chatd cluster export writes a
// single-node store from it.
func (s *Store) Backup(io.Writer) error {
	return errors.New("a cluster node makes no single-file backup: use chatd cluster export")
}
