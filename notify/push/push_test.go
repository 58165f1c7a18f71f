package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/notify"
)

type ended struct {
	sub      Subscription
	n        Notification
	attempts int
	err      error
}

type fixture struct {
	s     *Sender
	store *DBStore
	d     *db.DB
	svc   *notifytest.PushService
	done  chan ended
	c     *notify.Counters
	dir   string
}

// setup opens a real store in a temp dir, makes the VAPID keys there, and
// runs a Sender against a push service on 127.0.0.1.
func setup(t testing.TB, cfg Config) *fixture {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	st, err := NewDBStore(d)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, d: d, svc: notifytest.NewPushService(t, notifytest.PushOptions{VAPID: keys.Public}), done: make(chan ended, 1000), c: &notify.Counters{}, dir: dir}
	cfg.Keys, cfg.AllowHTTP, cfg.AllowPrivate, cfg.Metrics = keys, true, true, f.c
	if cfg.Subject == "" {
		cfg.Subject = "mailto:ops@chatd.test"
	}
	if cfg.Backoff == (notify.Backoff{}) {
		cfg.Backoff = notify.Backoff{Attempts: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond}
	}
	cfg.OnDone = func(sub Subscription, n Notification, attempts int, err error) {
		f.done <- ended{sub, n, attempts, err}
	}
	f.s, err = New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { f.s.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return f
}

func (f *fixture) subscribe(t testing.TB, admin string, b *notifytest.Browser, codes ...int) Subscription {
	t.Helper()
	sub, err := f.s.Subscribe(context.Background(), admin, b.Subscription(f.svc.Add(b, codes...)))
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func (f *fixture) ended(t testing.TB) ended {
	t.Helper()
	select {
	case e := <-f.done:
		return e
	case err := <-f.svc.Errors():
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("no push ended within 10s")
	}
	return ended{}
}

func TestPushIsDecryptedAtTheEndpoint(t *testing.T) {
	f := setup(t, Config{Subject: "mailto:ops@chatd.test"})
	f.subscribe(t, "alice", notifytest.NewBrowser(t, "alice-laptop"))
	f.subscribe(t, "alice", notifytest.NewBrowser(t, "alice-phone"))
	f.subscribe(t, "bob", notifytest.NewBrowser(t, "bob-laptop"))

	n := Notification{Type: MessageCreated, Visitor: "9f2c1a7e5b3d4c21", Name: "Ann", Text: "Do you ship to <Norway>? & more", Offset: 43,
		At: time.Date(2026, 11, 22, 10, 0, 1, 0, time.UTC)}
	f.s.Notify(n, "alice")
	seen := map[string]bool{}
	for range 2 {
		d := f.svc.Next(t)
		seen[d.Browser] = true
		var got Notification
		if err := json.Unmarshal(d.Plain, &got); err != nil {
			t.Fatalf("payload %q: %v", d.Plain, err)
		}
		want := n
		want.URL = "/portal/#visitor=9f2c1a7e5b3d4c21"
		if got != want {
			t.Fatalf("payload %+v, want %+v", got, want)
		}
		if d.Topic != "9f2c1a7e5b3d4c21" || d.Urgency != "high" || d.TTL != "3600" || d.Sub != "mailto:ops@chatd.test" {
			t.Fatalf("headers topic %q urgency %q ttl %q sub %q", d.Topic, d.Urgency, d.TTL, d.Sub)
		}
		if d.BodyBytes != 4096 {
			t.Fatalf("body of %d bytes: payloads are padded to one 4096-byte record, hiding their length", d.BodyBytes)
		}
	}
	if !seen["alice-laptop"] || !seen["alice-phone"] {
		t.Fatalf("pushed to %v", seen)
	}
	f.svc.None(t)

	// To everyone: bob too. Another conversation, so no gap applies.
	f.s.Notify(Notification{Type: ConversationCreated, Visitor: "0a1b2c3d4e5f6071", Name: "Bob"})
	seen = map[string]bool{}
	for range 3 {
		seen[f.svc.Next(t).Browser] = true
	}
	if len(seen) != 3 {
		t.Fatalf("pushed to %v", seen)
	}
	for range 5 {
		if e := f.ended(t); e.err != nil {
			t.Fatal(e.err)
		}
	}
	if f.c.Get(Channel, notify.Sent) != 5 {
		t.Fatalf("counts %v", f.c.Snapshot())
	}
}

func TestPushGapPerConversationAndSubscription(t *testing.T) {
	f := setup(t, Config{MinGap: time.Hour})
	f.subscribe(t, "alice", notifytest.NewBrowser(t, "a"))
	for i := range 10 {
		f.s.Notify(Notification{Type: MessageCreated, Visitor: "v1", Name: "Ann", Text: "line", Offset: uint64(i)})
	}
	f.s.Notify(Notification{Type: MessageCreated, Visitor: "v2", Name: "Bob", Text: "hi"})
	got := map[string]bool{}
	for range 2 {
		var n Notification
		json.Unmarshal(f.svc.Next(t).Plain, &n)
		got[n.Visitor] = true
	}
	f.ended(t)
	f.ended(t)
	f.svc.None(t)
	if !got["v1"] || !got["v2"] {
		t.Fatalf("pushed %v", got)
	}
}

func TestGoneSubscriptionIsRemoved(t *testing.T) {
	for _, code := range []int{410, 404} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			f := setup(t, Config{})
			gone := f.subscribe(t, "alice", notifytest.NewBrowser(t, "old"), code)
			f.subscribe(t, "alice", notifytest.NewBrowser(t, "new"))
			f.s.Notify(Notification{Type: ConversationCreated, Visitor: "v1", Name: "Ann"})
			if d := f.svc.Next(t); d.Browser != "new" {
				t.Fatalf("delivered to %s", d.Browser)
			}
			for range 2 {
				if e := f.ended(t); e.sub.ID == gone.ID && (e.err == nil || !notify.IsGone(e.err) || e.attempts != 1) {
					t.Fatalf("gone subscription: %+v", e)
				}
			}
			subs, _ := f.store.Subscriptions("alice")
			if len(subs) != 1 || subs[0].ID == gone.ID {
				t.Fatalf("subscriptions after %d: %+v", code, subs)
			}
			if f.c.Get(Channel, notify.Gone) != 1 || f.c.Get(Channel, notify.Failed) != 0 || f.c.Get(Channel, notify.Sent) != 1 {
				t.Fatalf("counts %v", f.c.Snapshot())
			}
		})
	}
}

func TestPushRetriesAndGivesUp(t *testing.T) {
	f := setup(t, Config{})
	f.subscribe(t, "alice", notifytest.NewBrowser(t, "flaky"), 500, 429)     // then 201
	f.subscribe(t, "bob", notifytest.NewBrowser(t, "broken"), 503, 503, 503) // always failing
	f.subscribe(t, "carol", notifytest.NewBrowser(t, "refused"), 400)        // permanent, but kept
	f.s.Notify(Notification{Type: ConversationCreated, Visitor: "v1", Name: "Ann"})
	if d := f.svc.Next(t); d.Browser != "flaky" {
		t.Fatalf("delivered to %s", d.Browser)
	}
	res := map[string]ended{}
	for range 3 {
		e := f.ended(t)
		res[e.sub.Admin] = e
	}
	if e := res["alice"]; e.err != nil || e.attempts != 3 {
		t.Fatalf("flaky: %+v", e)
	}
	if e := res["bob"]; e.err == nil || notify.IsPermanent(e.err) || e.attempts != 3 {
		t.Fatalf("broken: %+v", e)
	}
	if e := res["carol"]; !notify.IsPermanent(e.err) || e.attempts != 1 {
		t.Fatalf("refused: %+v", e)
	}
	if subs, _ := f.store.Subscriptions(""); len(subs) != 3 {
		t.Fatalf("only 404/410 remove a subscription; have %d", len(subs))
	}
	if f.c.Get(Channel, notify.Retried) != 4 || f.c.Get(Channel, notify.Failed) != 2 || f.c.Get(Channel, notify.Sent) != 1 {
		t.Fatalf("counts %v", f.c.Snapshot())
	}
}

func TestDeadPushServiceNeverBlocksAndHidesTheEndpoint(t *testing.T) {
	f := setup(t, Config{QueueSize: 2, Workers: 1, MinGap: time.Nanosecond,
		Backoff: notify.Backoff{Attempts: 2, Initial: time.Hour, Max: time.Hour}})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	b := notifytest.NewBrowser(t, "x")
	sub, err := f.s.Subscribe(context.Background(), "alice", b.Subscription("http://"+addr+"/wpush/v2/SeCrEtCaPaBiLiTy"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		f.s.Notify(Notification{Type: MessageCreated, Visitor: "v1", Offset: uint64(i)})
	}
	drops := 0
	for range 7 {
		if e := f.ended(t); errors.Is(e.err, notify.ErrDropped) {
			drops++
		}
	}
	if drops != 7 {
		t.Fatalf("drops %d", drops)
	}
	// The first attempt's error (connection refused) names the host only.
	deadline := time.Now().Add(10 * time.Second)
	for f.c.Get(Channel, notify.Retried) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no retry counted")
		}
		time.Sleep(time.Millisecond)
	}
	err = f.s.attempt(context.Background(), job{sub: sub, raw: []byte("{}")}, 1)
	if err == nil || strings.Contains(err.Error(), "SeCrEt") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error %v: must name the host, not the path", err)
	}
}

func TestSubscribeChecksTheSubscription(t *testing.T) {
	f := setup(t, Config{})
	f.s.cfg.AllowHTTP = false
	b := notifytest.NewBrowser(t, "b")
	good := func(mut func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(b.Subscription("https://push.example/abc"), &m)
		mut(m)
		raw, _ := json.Marshal(m)
		return raw
	}
	keys := func(m map[string]any) map[string]any { return m["keys"].(map[string]any) }
	for _, tc := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"not json", []byte("{"), "not a PushSubscription"},
		{"http endpoint", good(func(m map[string]any) { m["endpoint"] = "http://push.example/abc" }), "https"},
		{"javascript endpoint", good(func(m map[string]any) { m["endpoint"] = "javascript:alert(1)" }), "https"},
		{"user info", good(func(m map[string]any) { m["endpoint"] = "https://u:p@push.example/abc" }), "https"},
		{"huge endpoint", good(func(m map[string]any) { m["endpoint"] = "https://push.example/" + strings.Repeat("a", 3000) }), "longer"},
		{"no keys", good(func(m map[string]any) { delete(m, "keys") }), "p256dh"},
		{"compressed point", good(func(m map[string]any) { keys(m)["p256dh"] = "A" + strings.Repeat("B", 43) }), "p256dh"},
		{"auth too short", good(func(m map[string]any) { keys(m)["auth"] = "AAAA" }), "auth"},
		{"auth not base64", good(func(m map[string]any) { keys(m)["auth"] = "!!!!!!!!!!!!!!!!!!!!!!" }), "auth"},
	} {
		if _, err := f.s.Subscribe(context.Background(), "alice", tc.raw); err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want %q matching ErrInvalid", tc.name, err, tc.want)
		}
	}
	if _, err := f.s.Subscribe(context.Background(), "", good(func(map[string]any) {})); err == nil {
		t.Error("subscription without admin accepted")
	}
	// Padded base64 (some browsers) is accepted; the same endpoint twice is one subscription.
	padded := good(func(m map[string]any) { keys(m)["auth"] = keys(m)["auth"].(string) + "==" })
	for range 2 {
		if _, err := f.s.Subscribe(context.Background(), "alice", padded); err != nil {
			t.Fatal(err)
		}
	}
	if subs, _ := f.store.Subscriptions("alice"); len(subs) != 1 {
		t.Fatalf("%d subscriptions", len(subs))
	}
	// Unsubscribe by another admin leaves it; by its admin removes it.
	f.s.Unsubscribe(context.Background(), "bob", "https://push.example/abc")
	if subs, _ := f.store.Subscriptions(""); len(subs) != 1 {
		t.Fatal("another admin removed alice's subscription")
	}
	f.s.Unsubscribe(context.Background(), "alice", "https://push.example/abc")
	if subs, _ := f.store.Subscriptions(""); len(subs) != 0 {
		t.Fatal("unsubscribe kept it")
	}
}

func TestSubscriptionsPerAdminAreBounded(t *testing.T) {
	f := setup(t, Config{MaxPerAdmin: 3})
	var subs []Subscription
	for i := range 5 {
		subs = append(subs, f.subscribe(t, "alice", notifytest.NewBrowser(t, fmt.Sprintf("b%d", i))))
	}
	f.subscribe(t, "bob", notifytest.NewBrowser(t, "bob"))
	got, _ := f.store.Subscriptions("alice")
	ids := map[string]bool{}
	for _, s := range got {
		ids[s.ID] = true
	}
	if len(got) != 3 || !ids[subs[2].ID] || !ids[subs[3].ID] || !ids[subs[4].ID] {
		t.Fatalf("alice keeps %d subscriptions %v, want her newest 3", len(got), ids)
	}
	if b, _ := f.store.Subscriptions("bob"); len(b) != 1 {
		t.Fatal("another admin's subscription was trimmed")
	}
}

func TestSubscriptionsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	d, err := db.Open(dir, db.Options{Sync: db.SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := NewDBStore(d)
	sub := Subscription{Admin: "alice", Endpoint: "https://push.example/1", Keys: SubKeys{P256dh: "p", Auth: "a"}}
	if err := st.SaveSubscription(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = db.Open(dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st, _ = NewDBStore(d)
	subs, err := st.Subscriptions("alice")
	if err != nil || len(subs) != 1 || subs[0].ID != SubscriptionID(sub.Endpoint) || subs[0].Endpoint != sub.Endpoint {
		t.Fatalf("after reopen: %+v %v", subs, err)
	}
	if subs, _ := st.Subscriptions("bob"); len(subs) != 0 {
		t.Fatalf("bob sees %+v", subs)
	}
}

func TestVAPIDKeysAreMadeOnceAndKeptPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeysFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode().Perm(), err)
	}
	k2, err := LoadOrCreateKeys(dir)
	if err != nil || k2 != k1 {
		t.Fatalf("second load: %v, keys changed %v", err, k2 != k1)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadOrCreateKeys(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("a 0644 key file was not tightened: %v", fi.Mode().Perm())
	}
	other, _ := LoadOrCreateKeys(t.TempDir())
	for _, tc := range []struct {
		name, content, want string
	}{
		{"truncated", `{"public": "BD`, "damaged"},
		{"empty", ``, "damaged"},
		{"keys of two pairs", `{"public":"` + other.Public + `","private":"` + k1.Private + `"}`, "does not match"},
		{"bad private", `{"public":"` + k1.Public + `","private":"AAAA"}`, "32 bytes"},
	} {
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateKeys(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming %s with %q", tc.name, err, path, tc.want)
		}
		if b, _ := os.ReadFile(path); string(b) != tc.content {
			t.Errorf("%s: the damaged file was overwritten", tc.name)
		}
	}
}

func TestNewChecksConfig(t *testing.T) {
	keys, _ := LoadOrCreateKeys(t.TempDir())
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Keys: keys}, "subject"},
		{Config{Keys: keys, Subject: "ops@example.com"}, "subject"},
		{Config{Keys: keys, Subject: "http://example.com"}, "subject"},
		{Config{Keys: Keys{Public: keys.Public}, Subject: "mailto:a@example.com"}, "VAPID"},
	} {
		if _, err := New(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg.Subject, err, tc.want)
		}
	}
	if _, err := New(Config{Keys: keys, Subject: "https://chat.example.com/"}, nil); err != nil {
		t.Fatal(err)
	}
}
