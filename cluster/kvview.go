package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// kvView is one JetStream key-value bucket as a local map, kept up to date
// by a tail of the bucket's stream. Reads that miss the map ask the stream
// leader, so a key written on another node a moment ago is found even
// before this node's tail has applied it (read-your-writes across nodes).
type kvView[T any] struct {
	name   string // bucket
	kv     jetstream.KeyValue
	nc     *nats.Conn
	tail   *tail
	decode func([]byte) (T, error)

	mu       sync.RWMutex
	m        map[string]T
	onChange func(key string, v T, deleted bool, at time.Time) // under no lock, in stream order; at = the stream's timestamp
}

func newKVView[T any](nc *nats.Conn, kv jetstream.KeyValue, decode func([]byte) (T, error), log zerolog.Logger) *kvView[T] {
	v := &kvView[T]{name: kv.Bucket(), kv: kv, nc: nc, decode: decode, m: make(map[string]T)}
	v.tail = newTail(nc, "KV_"+v.name, "$KV."+v.name+".>", v.apply, log)
	return v
}

func jsonEncode(v any) ([]byte, error) { return json.Marshal(v) }

func jsonDecode[T any](b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

func (v *kvView[T]) apply(e entry) {
	key := strings.TrimPrefix(e.Subject, "$KV."+v.name+".")
	var (
		val     T
		deleted = isKVDelete(e.Header)
		err     error
	)
	if !deleted {
		if val, err = v.decode(e.Data); err != nil {
			v.tail.log.Warn().Err(err).Uint64("seq", e.Seq).Msg("undecodable value skipped")
			return
		}
	}
	v.mu.Lock()
	if deleted {
		delete(v.m, key)
	} else {
		v.m[key] = val
	}
	v.mu.Unlock()
	if v.onChange != nil {
		v.onChange(key, val, deleted, e.Time)
	}
}

func isKVDelete(h nats.Header) bool {
	op := h.Get("KV-Operation")
	return op == "DEL" || op == "PURGE"
}

// local returns the key's value as this node has applied it.
func (v *kvView[T]) local(key string) (T, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	val, ok := v.m[key]
	return val, ok
}

// get returns the key's value, asking the stream leader on a local miss.
// errNoKey if the key does not exist.
func (v *kvView[T]) get(ctx context.Context, key string) (T, error) {
	if val, ok := v.local(key); ok {
		return val, nil
	}
	var zero T
	m, err := leaderGet(ctx, v.nc, "KV_"+v.name, map[string]any{"last_by_subj": "$KV." + v.name + "." + key})
	if err != nil {
		return zero, err
	}
	if isKVDelete(m.Header) {
		return zero, errNoKey
	}
	return v.decode(m.Data)
}

// each calls fn for every key under a read lock; fn must not block nor read
// another view (Search says why).
func (v *kvView[T]) each(fn func(key string, val T)) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for k, val := range v.m {
		fn(k, val)
	}
}

// errNoKey means a key (or message) does not exist.
var errNoKey = errors.New("no such key")

// storedMsg is a message as the stream leader returns it.
type storedMsg struct {
	Seq     uint64
	Subject string
	Header  nats.Header
	Data    []byte
	Time    time.Time
}

// leaderGet asks the stream leader ($JS.API.STREAM.MSG.GET, not a direct
// get, which a lagging replica may answer) for one message: req is
// {"seq": n} or {"last_by_subj": subject}. errNoKey if there is none.
func leaderGet(ctx context.Context, nc *nats.Conn, stream string, req map[string]any) (storedMsg, error) {
	body, _ := json.Marshal(req)
	resp, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, body)
	if err != nil {
		return storedMsg{}, fmt.Errorf("%w: get from %s: %v", ErrUnavailable, stream, err)
	}
	var r struct {
		Error *struct {
			Code    int    `json:"code"`
			ErrCode int    `json:"err_code"`
			Desc    string `json:"description"`
		} `json:"error"`
		Message *struct {
			Subject string    `json:"subject"`
			Seq     uint64    `json:"seq"`
			Header  []byte    `json:"hdrs"`
			Data    []byte    `json:"data"`
			Time    time.Time `json:"time"`
		} `json:"message"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return storedMsg{}, fmt.Errorf("get from %s: bad answer: %w", stream, err)
	}
	if r.Error != nil {
		if r.Error.Code == 404 {
			return storedMsg{}, errNoKey
		}
		return storedMsg{}, fmt.Errorf("%w: get from %s: %s", ErrUnavailable, stream, r.Error.Desc)
	}
	if r.Message == nil {
		return storedMsg{}, errNoKey
	}
	h, err := decodeHeaders(r.Message.Header)
	if err != nil {
		return storedMsg{}, fmt.Errorf("get from %s: headers: %w", stream, err)
	}
	return storedMsg{Seq: r.Message.Seq, Subject: r.Message.Subject, Header: h, Data: r.Message.Data, Time: r.Message.Time}, nil
}

// decodeHeaders parses a "NATS/1.0\r\nKey: value\r\n..." header block.
func decodeHeaders(b []byte) (nats.Header, error) {
	h := nats.Header{}
	if len(b) == 0 {
		return h, nil
	}
	lines := strings.Split(string(b), "\r\n")
	if !strings.HasPrefix(lines[0], "NATS/1.0") {
		return nil, errors.New("no NATS/1.0 header line")
	}
	for _, l := range lines[1:] {
		if k, val, ok := strings.Cut(l, ":"); ok {
			h.Add(strings.TrimSpace(k), strings.TrimSpace(val))
		}
	}
	return h, nil
}

// keyOf encodes an arbitrary string (an admin name) as a KV key.
func keyOf(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// wrote waits (bounded by ctx) until this node's view has applied revision
// rev of its bucket: a write is then visible to this node's next read, as it
// would be on a single node (read-your-writes).
func (v *kvView[T]) wrote(ctx context.Context, rev uint64) {
	if rev != 0 {
		v.tail.waitFor(ctx, rev) // a timeout leaves the leader fallback of get
	}
}

// kvAttempt bounds one try of a key-value write.
const kvAttempt = 2 * time.Second

// retryKV runs op until it succeeds, fails for good, or ctx ends: a bucket
// is a stream of its own, which may be electing a leader (4 to 9 s) when a
// write comes; such failures (timeouts, no responders, 503) are retried,
// a conflict or a refusal is returned at once. op must be idempotent or
// check, on a conflict, whether an earlier try of its own landed.
func retryKV(ctx context.Context, op func(ctx context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, kvAttempt)
		err := op(actx)
		cancel()
		if err == nil || !retryable(err) || isWrongLastSeq(err) || errors.Is(err, jetstream.ErrKeyExists) ||
			errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound) {
			return err
		}
		if sleep(ctx, retryWait); ctx.Err() != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
}
