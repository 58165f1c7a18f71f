package push

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/notify"
)

// TestPrivateEndpointsRefused: without AllowPrivate, an agent cannot point
// chatd's pushes at what only chatd's host reaches. Endpoints naming a
// loopback, private, link-local, metadata or otherwise reserved address (in
// any spelling) or a localhost name are refused when subscribing; one
// stored anyway (before this rule, or through a name that resolves to such
// an address) is refused when connecting, and the service there gets nothing.
func TestPrivateEndpointsRefused(t *testing.T) {
	f := setup(t, Config{}) // AllowPrivate: stores a subscription on 127.0.0.1
	b := notifytest.NewBrowser(t, "b")
	stored := f.subscribe(t, "alice", b)

	keys, err := LoadOrCreateKeys(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 10)
	s, err := New(Config{Keys: keys, Subject: "mailto:ops@chatd.test", AllowHTTP: true, MinGap: time.Nanosecond,
		Backoff: notify.Backoff{Attempts: 1, Initial: time.Millisecond, Max: time.Millisecond},
		OnDone:  func(_ Subscription, _ Notification, _ int, err error) { done <- err }}, f.store)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	for _, ep := range []string{
		"https://127.0.0.1/x", "https://127.9.9.9:8443/x", "https://localhost/x", "https://LOCALHOST./x",
		"https://api.localhost/x", "https://[::1]/x", "https://[::ffff:127.0.0.1]/x", "https://[::ffff:7f00:1]/x",
		"https://10.1.2.3/x", "https://172.16.0.1/x", "https://192.168.1.1/x", "https://169.254.169.254/latest/meta-data",
		"https://[fe80::1]/x", "https://[fd00::1]/x", "https://0.0.0.0/x", "https://[::]/x", "https://100.64.0.1/x",
		"https://224.0.0.1/x", "https://255.255.255.255/x", "https://[64:ff9b::7f00:1]/x", "https://[2002:7f00:1::]/x",
		"https://192.0.2.1/x", "http://127.0.0.1:9/x",
	} {
		_, err := s.Subscribe(context.Background(), "alice", b.Subscription(ep))
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("subscribe %s: %v, want ErrInvalid and ErrPrivateAddress", ep, err)
		}
	}
	for _, ep := range []string{"https://push.example/x", "https://8.8.8.8/x", "https://[2606:4700::1111]/x", "https://fcm.googleapis.com/fcm/send/abc"} {
		if _, err := s.Subscribe(context.Background(), "bob", b.Subscription(ep)); err != nil {
			t.Errorf("subscribe %s: %v, want it taken", ep, err)
		}
	}

	// The subscription stored before: its push is refused at the dial.
	s.Notify(Notification{Type: MessageCreated, Visitor: "v1", Offset: 1}, "alice")
	select {
	case err := <-done:
		if !errors.Is(err, ErrPrivateAddress) {
			t.Fatalf("push to %s ended with %v, want ErrPrivateAddress", stored.Endpoint, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the push did not end")
	}
	f.svc.None(t) // the service on 127.0.0.1 got nothing
}
