package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chatd/chatd/store"
)

// Publish timing: one attempt waits attemptWait for JetStream's ack; a
// leaderless stream (an election takes nats-server 4 to 9 s) is retried
// every retryWait until the caller's deadline.
const (
	attemptWait = time.Second
	retryWait   = 100 * time.Millisecond
	// failFastAfter: once the node has had no quorum this long, writes are
	// refused at once instead of waiting for the caller's deadline.
	failFastAfter = 12 * time.Second
)

// AddMessage stores m in the message stream and returns it with its offset
// (the stream sequence) once JetStream acknowledged it, that is once a
// quorum of replicas has it. When m.CID is already stored for that visitor,
// nothing is written and the stored message is returned with dup true, at
// any time after the first write (see msgSubject). The message reaches this
// node's sockets, the sender's included, through the feed (Subscribe).
func (s *Store) AddMessage(ctx context.Context, m store.NewMessage) (store.Message, bool, error) {
	if err := m.Validate(s.Limits()); err != nil {
		return store.Message{}, false, err
	}
	if err := s.usable(); err != nil {
		return store.Message{}, false, err
	}
	if _, err := s.Visitor(m.Client); err != nil {
		return store.Message{}, false, err
	}
	if since := s.health.noQuorumFor(); since > failFastAfter {
		return store.Message{}, false, fmt.Errorf("%w: no quorum for %v", ErrUnavailable, since.Round(time.Second))
	}
	nonce, err := randomString(8, false)
	if err != nil {
		return store.Message{}, false, err
	}
	r := record{Client: m.Client, From: m.From, CID: m.CID, Text: m.Text, At: time.Now().UTC(), Note: m.Note, Nonce: nonce}
	if m.From == store.FromAdmin {
		r.Admin = m.Admin
	}
	subj := msgSubject(m.Client, m.CID)
	body, err := json.Marshal(r)
	if err != nil {
		return store.Message{}, false, fmt.Errorf("encode message: %w", err)
	}
	ack, err := s.publish(ctx, subj, body)
	switch {
	case isWrongLastSeq(err):
		return s.stored(ctx, map[string]any{"last_by_subj": subj}, nonce)
	case err != nil:
		return store.Message{}, false, err
	case ack.Duplicate:
		return s.stored(ctx, map[string]any{"seq": ack.Sequence}, nonce)
	}
	s.raiseKnown(ack.Sequence)
	return r.message(ack.Sequence), false, nil
}

// publish sends one message with its cid guard, retrying a leaderless
// stream until ctx ends. Every attempt carries the same subject and
// Nats-Msg-Id, so an attempt that did land is never stored twice.
func (s *Store) publish(ctx context.Context, subj string, body []byte) (*jetstream.PubAck, error) {
	for {
		if s.drained.Err() != nil {
			return nil, fmt.Errorf("%w: shutting down", ErrUnavailable)
		}
		actx, cancel := context.WithTimeout(ctx, attemptWait)
		// An attempt sent to a leader that died gets no answer: a new
		// leader's election ends it early, and so does a shutdown.
		stop := context.AfterFunc(s.leaderCtx(), cancel)
		stopDrain := context.AfterFunc(s.drained, cancel)
		msg := nats.NewMsg(subj)
		msg.Data = body
		ack, err := s.js.PublishMsg(actx, msg, jetstream.WithMsgID(subj), jetstream.WithExpectLastSequencePerSubject(0))
		stop()
		stopDrain()
		cancel()
		if err == nil || isWrongLastSeq(err) || !retryable(err) {
			if err != nil && !isWrongLastSeq(err) {
				err = fmt.Errorf("%w: publish: %v", ErrUnavailable, err)
			}
			return ack, err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: publish: %v", ErrUnavailable, err)
		}
		sleep(ctx, retryWait)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: publish: %v", ErrUnavailable, err)
		}
	}
}

// stored returns the message already stored under the cid (req finds it),
// as a duplicate unless it is this call's own earlier attempt (nonce).
func (s *Store) stored(ctx context.Context, req map[string]any, nonce string) (store.Message, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, readWait)
	defer cancel()
	var (
		sm  storedMsg
		err error
	)
	for {
		sm, err = leaderGet(ctx, s.nc, msgStream, req)
		if err == nil || errors.Is(err, errNoKey) || ctx.Err() != nil {
			break
		}
		sleep(ctx, retryWait)
	}
	if err != nil {
		return store.Message{}, false, fmt.Errorf("find stored cid: %w", err)
	}
	r, err := decodeRecord(entry{Data: sm.Data})
	if err != nil {
		return store.Message{}, false, fmt.Errorf("decode stored message %d: %w", sm.Seq, err)
	}
	return r.message(sm.Seq), r.Nonce != nonce, nil
}

// MessageByCID returns the message visitor id's conversation holds under
// cid (asking the stream leader); store.ErrNotFound if none.
func (s *Store) MessageByCID(id, cid string) (store.Message, error) {
	if !visitorRE.MatchString(id) {
		return store.Message{}, store.ErrNotFound
	}
	if err := s.usable(); err != nil {
		return store.Message{}, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, readWait)
	defer cancel()
	sm, err := leaderGet(ctx, s.nc, msgStream, map[string]any{"last_by_subj": msgSubject(id, cid)})
	if errors.Is(err, errNoKey) {
		return store.Message{}, fmt.Errorf("%w: cid %q of visitor %s", store.ErrNotFound, cid, id)
	}
	if err != nil {
		return store.Message{}, err
	}
	r, err := decodeRecord(entry{Data: sm.Data})
	if err != nil {
		return store.Message{}, fmt.Errorf("decode message %d: %w", sm.Seq, err)
	}
	return r.message(sm.Seq), nil
}

// isWrongLastSeq is the stream leader refusing a message because its subject
// (its visitor and cid) already holds one. Replicated streams answer 10164,
// single-replica ones 10071.
func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// errDuplicateInProcess is JetStream's JSStreamDuplicateMessageConflict.
const errDuplicateInProcess = 10158

// retryable errors are those of a stream without a leader or a connection
// that is reconnecting (timeouts, no responders, 503), or of an earlier
// attempt still in flight: the same publish may succeed a moment later. Other API errors (too large...) and a closed
// connection are final.
func retryable(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 10158: an earlier attempt with this Nats-Msg-Id is still being
		// committed (our attempt timed out first): the next try gets its
		// result.
		return apiErr.Code == 503 || apiErr.Code == 500 || apiErr.ErrorCode == errDuplicateInProcess
	}
	return !errors.Is(err, nats.ErrConnectionClosed)
}
