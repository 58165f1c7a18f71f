package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
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

	s, done := strictSender(t, f, nil)

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

	// The subscription stored before: its push is refused at the dial, once
	// (no retry changes the address), counted refused, and the error (which
	// the queue logs) names the host, never the path, and the flag.
	s.Notify(Notification{Type: MessageCreated, Visitor: "v1", Offset: 1}, "alice")
	e := waitEnded(t, done)
	if !errors.Is(e.err, ErrPrivateAddress) || !notify.IsRefused(e.err) || e.attempts != 1 {
		t.Fatalf("push to %s ended with %v after %d attempts, want one refused attempt", stored.Endpoint, e.err, e.attempts)
	}
	if msg := e.err.Error(); !strings.Contains(msg, "--push-allow-private") || strings.Contains(msg, "/push/") {
		t.Errorf("refusal %q: want the flag named and no path", msg)
	}
	if got := s.cfg.Metrics.(*notify.Counters).Snapshot()[Channel]; got[notify.Refused] != 1 || got[notify.Failed] != 0 || got[notify.Retried] != 0 {
		t.Errorf("counts %v, want refused 1, failed 0, retried 0", got)
	}
	f.svc.None(t) // the service on 127.0.0.1 got nothing
}

// strictSender runs a Sender without AllowPrivate over f's store, 4
// attempts per push; proxy, when not nil, carries every request, and names
// in resolve stand in for DNS.
func strictSender(t *testing.T, f *fixture, proxy *url.URL, resolve ...map[string]string) (*Sender, chan ended) {
	t.Helper()
	keys, err := LoadOrCreateKeys(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan ended, 100)
	cfg := Config{Keys: keys, Subject: "mailto:ops@chatd.test", AllowHTTP: true, MinGap: time.Nanosecond, Metrics: &notify.Counters{},
		Backoff: notify.Backoff{Attempts: 4, Initial: time.Millisecond, Max: time.Millisecond},
		OnDone:  func(sub Subscription, n Notification, attempts int, err error) { done <- ended{sub, n, attempts, err} }}
	cfg.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	if proxy != nil {
		cfg.Proxy = http.ProxyURL(proxy)
	}
	if len(resolve) > 0 {
		names := resolve[0]
		cfg.resolve = func(_ context.Context, host string) ([]netip.Addr, error) {
			a, ok := names[host]
			if !ok {
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			}
			return []netip.Addr{netip.MustParseAddr(a)}, nil
		}
	}
	s, err := New(cfg, f.store)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return s, done
}

func waitEnded(t *testing.T, done chan ended) ended {
	t.Helper()
	return notifytest.Recv(t, done, 10*time.Second, "push ended")
}

// forwardProxy is an HTTP proxy on 127.0.0.1 (a private address, as an
// operator's egress proxy usually is) that carries every request to svc,
// keeping the Host the client asked for; it reports each host asked for.
func forwardProxy(t *testing.T, svc string) (*url.URL, chan string) {
	t.Helper()
	target, err := url.Parse(svc)
	if err != nil {
		t.Fatal(err)
	}
	asked := make(chan string, 100)
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		asked <- pr.In.Host
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // the VAPID audience is the endpoint's origin
	}}
	ts := httptest.NewServer(rp)
	t.Cleanup(ts.Close)
	u, _ := url.Parse(ts.URL)
	return u, asked
}

// TestPushThroughAProxy: with a proxy (HTTPS_PROXY in chatd), chatd dials
// the proxy even on a private address, and checks the endpoint's host
// instead before each request: a public endpoint is pushed to, one that is
// or resolves to a non-public address is refused (counted refused, never
// retried, never sent to the proxy), and a name chatd cannot resolve is
// left to the proxy.
func TestPushThroughAProxy(t *testing.T) {
	f := setup(t, Config{})
	proxy, asked := forwardProxy(t, f.svc.URL)
	s, done := strictSender(t, f, proxy, map[string]string{
		"push.example": "93.184.215.14", "intranet.example": "10.1.2.3", "rebind.example": "169.254.169.254",
	})
	port := strings.TrimPrefix(f.svc.URL[strings.LastIndex(f.svc.URL, ":"):], ":")
	for i, tc := range []struct {
		host    string
		refused bool
	}{
		{"push.example", false},
		{"8.8.8.8", false},
		{"unresolvable.example", false}, // the proxy resolves it, and must refuse internal ones itself
		{"intranet.example", true},
		{"rebind.example", true},
		{"127.0.0.1", true},
		{"localhost", true},
		{"[fd00::1]", true},
		{"100.64.0.1", true},
	} {
		b := notifytest.NewBrowser(t, fmt.Sprintf("b%d", i))
		ep := strings.Replace(f.svc.Add(b), f.svc.URL, "http://"+tc.host+":"+port, 1)
		// Stored directly: the subscribe-time check is TestPrivateEndpointsRefused's.
		sub := Subscription{ID: SubscriptionID(ep), Admin: b.Name, Endpoint: ep, Created: time.Now()}
		if err := json.Unmarshal(b.Subscription(ep), &struct {
			Keys *SubKeys `json:"keys"`
		}{&sub.Keys}); err != nil {
			t.Fatal(err)
		}
		if err := f.store.SaveSubscription(context.Background(), sub); err != nil {
			t.Fatal(err)
		}
		s.Notify(Notification{Type: MessageCreated, Visitor: "v", Offset: 1}, b.Name)
		e := waitEnded(t, done)
		if tc.refused {
			if !notify.IsRefused(e.err) || !errors.Is(e.err, ErrPrivateAddress) || e.attempts != 1 {
				t.Errorf("%s: ended with %v after %d attempts, want refused once", tc.host, e.err, e.attempts)
			}
			continue
		}
		if e.err != nil {
			t.Errorf("%s: %v after %d attempts, want it pushed through the proxy", tc.host, e.err, e.attempts)
			continue
		}
		if got := <-asked; got != tc.host+":"+port {
			t.Errorf("%s: the proxy was asked for %s", tc.host, got)
		}
		if p := f.svc.Next(t); p.Browser != b.Name {
			t.Errorf("%s: the service got a push for %s", tc.host, p.Browser)
		}
	}
	select {
	case h := <-asked:
		t.Errorf("the proxy was asked for %s, a refused endpoint", h)
	default:
	}
	if got := s.cfg.Metrics.(*notify.Counters).Snapshot()[Channel]; got[notify.Refused] != 6 || got[notify.Sent] != 3 || got[notify.Retried] != 0 {
		t.Errorf("counts %v, want refused 6, sent 3, retried 0", got)
	}
}
