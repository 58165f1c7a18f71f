package cluster

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/chatd/chatd/store"
)

// Names in JetStream.
const (
	msgStream  = "CHATD_MESSAGES"
	msgPrefix  = "chatd.msg."
	gapSubject = "chatd.gap" // import fillers that keep offsets equal to sequences; skipped
)

// msgSubject is the subject of visitor's message with cid:
// chatd.msg.<visitor>.<22 characters of SHA-256(cid), base64url>.
//
// One subject per (visitor, cid) is what makes cid idempotency permanent:
// every message is published with Nats-Expected-Last-Subject-Sequence: 0,
// so the stream leader refuses a second message on the same subject in the
// same quorum write that would store it, however long after the first. (A
// JetStream KV create-if-absent is exactly this check on the key's subject;
// doing it on the message's own subject makes the check and the write one
// atomic step instead of two.) The Nats-Msg-Id dedupe window only makes a
// quick retry cheaper.
func msgSubject(visitor, cid string) string {
	sum := sha256.Sum256([]byte(cid))
	return msgPrefix + visitor + "." + base64.RawURLEncoding.EncodeToString(sum[:16])
}

// visitorRE is what a visitor id may look like in a subject token.
var visitorRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// record is a message as stored in the stream; its offset is the sequence.
type record struct {
	Client string    `json:"client"`
	From   string    `json:"from"`
	Admin  string    `json:"admin,omitempty"`
	CID    string    `json:"cid"`
	Text   string    `json:"text"`
	At     time.Time `json:"at"`
	Note   bool      `json:"note,omitempty"` // an internal note (agents only)
	Nonce  string    `json:"n,omitempty"`    // the writing AddMessage call, to tell its own retry from a duplicate
}

func (r record) message(offset uint64) store.Message {
	return store.Message{Offset: offset, Client: r.Client, From: r.From, Admin: r.Admin, CID: r.CID, Text: r.Text, At: r.At, Note: r.Note}
}

func decodeRecord(e entry) (record, error) {
	var r record
	err := json.Unmarshal(e.Data, &r)
	return r, err
}

// msgView is every message of the stream this node has applied, in offset
// order, with an index per visitor: the same in-memory shape as the single
// node's store. Replays read it, so a replay and the live feed of a node
// always agree on what has been delivered.
type msgView struct {
	mu        sync.RWMutex
	all       []store.Message
	byVisitor map[string][]int // indexes into all
}

func newMsgView() *msgView { return &msgView{byVisitor: make(map[string][]int)} }

// add appends m; offsets arrive strictly increasing.
func (v *msgView) add(m store.Message) {
	v.mu.Lock()
	v.byVisitor[m.Client] = append(v.byVisitor[m.Client], len(v.all))
	v.all = append(v.all, m)
	v.mu.Unlock()
}

// after returns the messages with offset > after (the newest limit if > 0), oldest first.
func (v *msgView) after(after uint64, limit int) []store.Message {
	v.mu.RLock()
	defer v.mu.RUnlock()
	i := sort.Search(len(v.all), func(i int) bool { return v.all[i].Offset > after })
	out := v.all[i:]
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return append([]store.Message(nil), out...)
}

// of returns visitor id's messages with offset > after (the newest limit if > 0).
func (v *msgView) of(id string, after uint64, limit int) []store.Message {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ix := v.byVisitor[id]
	i := sort.Search(len(ix), func(i int) bool { return v.all[ix[i]].Offset > after })
	ix = ix[i:]
	if limit > 0 && len(ix) > limit {
		ix = ix[len(ix)-limit:]
	}
	return v.pick(ix)
}

// before returns up to limit of visitor id's messages with offset < before, oldest first.
func (v *msgView) before(id string, before uint64, limit int) []store.Message {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ix := v.byVisitor[id]
	j := len(ix)
	if before > 0 {
		j = sort.Search(len(ix), func(i int) bool { return v.all[ix[i]].Offset >= before })
	}
	ix = ix[:j]
	if limit > 0 && len(ix) > limit {
		ix = ix[len(ix)-limit:]
	}
	return v.pick(ix)
}

func (v *msgView) pick(ix []int) []store.Message {
	out := make([]store.Message, len(ix))
	for k, i := range ix {
		out[k] = v.all[i]
	}
	return out
}

// at returns the message with offset off.
func (v *msgView) at(off uint64) (store.Message, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	i := sort.Search(len(v.all), func(i int) bool { return v.all[i].Offset >= off })
	if i < len(v.all) && v.all[i].Offset == off {
		return v.all[i], true
	}
	return store.Message{}, false
}

// last returns the offset of visitor id's latest message (0 if none).
func (v *msgView) last(id string) uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ix := v.byVisitor[id]
	if len(ix) == 0 {
		return 0
	}
	return v.all[ix[len(ix)-1]].Offset
}

// drop forgets visitor id's messages (the visitor was deleted).
func (v *msgView) drop(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.byVisitor[id]) == 0 {
		return
	}
	kept := v.all[:0]
	for _, m := range v.all {
		if m.Client != id {
			kept = append(kept, m)
		}
	}
	clear(v.all[len(kept):])
	v.all = kept
	v.byVisitor = make(map[string][]int, len(v.byVisitor))
	for i, m := range v.all {
		v.byVisitor[m.Client] = append(v.byVisitor[m.Client], i)
	}
}

// eachNewest calls fn for every message, newest first, until fn returns
// false. fn must not block nor read another view (a read lock is held;
// Search says why).
func (v *msgView) eachNewest(fn func(store.Message) bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for i := len(v.all) - 1; i >= 0; i-- {
		if !fn(v.all[i]) {
			return
		}
	}
}

// count returns the number of messages.
func (v *msgView) count() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.all)
}
