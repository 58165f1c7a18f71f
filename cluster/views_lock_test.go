package cluster

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/store"
)

// newViewStore is a Store whose views are filled by hand (no NATS): what
// Search and Inactive read.
func newViewStore() *Store {
	s := &Store{log: zerolog.Nop(), msgs: newMsgView(), inbox: store.NewInboxIndex()}
	s.setup.Store(true)
	s.visitors = &kvView[store.Visitor]{name: bucketVisitors, decode: jsonDecode[store.Visitor], m: map[string]store.Visitor{}}
	s.profiles = &kvView[store.Profile]{name: bucketProfiles, decode: jsonDecode[store.Profile], m: map[string]store.Profile{}}
	s.convs = &kvView[store.ConversationDoc]{name: bucketConvs, decode: jsonDecode[store.ConversationDoc], m: map[string]store.ConversationDoc{}}
	return s
}

// pausingCtx is a context whose first Err call (Search makes it inside the
// scan of the messages, under the view's read lock) waits for release.
type pausingCtx struct {
	context.Context
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (c *pausingCtx) Err() error {
	c.once.Do(func() {
		close(c.entered)
		<-c.release
	})
	return nil
}

// writerWaits reports whether a writer waits for mu (sync.RWMutex refuses
// new readers then).
func writerWaits(mu *sync.RWMutex) bool {
	if mu.TryRLock() {
		mu.RUnlock()
		return false
	}
	return true
}

// readerHolds reports whether a reader (or writer) holds mu.
func readerHolds(mu *sync.RWMutex) bool {
	if mu.TryLock() {
		mu.Unlock()
		return false
	}
	return true
}

// pollFor polls cond for at most d.
func pollFor(d time.Duration, cond func() bool) {
	for end := time.Now().Add(d); !cond() && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
}

// TestSearchAndRetentionDoNotDeadlock: Search read the visitors view while
// it held the messages view's read lock, and Inactive (the retention sweep)
// read the messages view while it held the visitors view's: with the message
// tail waiting to append and the visitors tail waiting to apply a change,
// each reader waited behind the other's writer (a sync.RWMutex lets no new
// reader in once a writer waits), and both tails stopped for good.
func TestSearchAndRetentionDoNotDeadlock(t *testing.T) {
	s := newViewStore()
	old := time.Now().Add(-48 * time.Hour)
	s.visitors.m["v1"] = store.Visitor{ID: "v1", Name: "Ann", LastSeen: old}
	s.msgs.add(store.Message{Offset: 1, Client: "v1", From: store.FromClient, Text: "hello there", At: old})

	ctx := &pausingCtx{Context: context.Background(), entered: make(chan struct{}), release: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() { // an agent's search: pauses inside the messages scan
		res, _, err := s.Search(ctx, "hello", 10)
		if err != nil || len(res) != 1 || res[0].Offset != 1 || res[0].Name != "Ann" {
			t.Errorf("search hello: %+v %v", res, err)
		}
	})
	<-ctx.entered
	wg.Go(func() { // the message tail appends
		s.msgs.add(store.Message{Offset: 2, Client: "v1", From: store.FromClient, Text: "again", At: time.Now()})
	})
	pollFor(2*time.Second, func() bool { return writerWaits(&s.msgs.mu) })
	wg.Go(func() { // the retention sweep
		if _, err := s.Inactive(time.Now().Add(-time.Hour), 10); err != nil {
			t.Errorf("inactive: %v", err)
		}
	})
	pollFor(200*time.Millisecond, func() bool { return readerHolds(&s.visitors.mu) })
	wg.Go(func() { // the visitors tail applies a touch
		b, _ := json.Marshal(store.Visitor{ID: "v1", Name: "Ann", LastSeen: time.Now()})
		s.visitors.apply(entry{Subject: "$KV." + bucketVisitors + ".v1", Data: b})
	})
	pollFor(200*time.Millisecond, func() bool { return writerWaits(&s.visitors.mu) })
	close(ctx.release)

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("deadlock: search, the retention sweep and the views' tails still wait for each other after 5s")
	}
}
