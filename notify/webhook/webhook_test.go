package webhook

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/notify"
)

const secret = "whsec-0123456789abcdef"

// hit is one request the receiver (internal/notifytest) got, its body decoded.
type hit struct {
	notifytest.Hit
	ev Event
}

// receiver is a real HTTP endpoint on 127.0.0.1 that answers fail[i] (or
// 200 once the list is used up) to the i-th request, checking signatures
// with secret.
type receiver struct{ *notifytest.WebhookReceiver }

func newReceiver(t testing.TB, fail ...int) *receiver {
	return &receiver{notifytest.NewWebhookReceiver(t, secret, fail...)}
}

func (r *receiver) next(t testing.TB) hit {
	t.Helper()
	h := hit{Hit: r.Next(t)}
	json.Unmarshal(h.Body, &h.ev)
	return h
}

func start(t testing.TB, cfg Config) (*Notifier, *notify.Counters) {
	t.Helper()
	var c notify.Counters
	cfg.Metrics = &c
	if cfg.Backoff == (notify.Backoff{}) {
		cfg.Backoff = notify.Backoff{Attempts: 4, Initial: time.Millisecond, Max: 5 * time.Millisecond}
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return n, &c
}

// waitLog waits until the delivery log's newest entry has a final status.
func waitLog(t *testing.T, n *Notifier, want int) []Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		log := n.Deliveries()
		done := 0
		for _, d := range log {
			if d.Status != StatusPending && d.Status != StatusRetrying {
				done++
			}
		}
		if done >= want {
			return log
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery log not final within 10s: %+v", log)
		}
		time.Sleep(2 * time.Millisecond) // polling with a deadline
	}
}

var ann = Visitor{ID: "9f2c1a7e5b3d4c21", Name: "Ann", Email: "ann@example.com", Meta: map[string]string{"plan": "pro"}}

func TestRetriesUntilDeliveredWithValidSignature(t *testing.T) {
	r := newReceiver(t, 503, 500, 429)
	n, c := start(t, Config{Endpoints: []Endpoint{{URL: r.URL + "/hooks/chatd", Secret: secret}}})
	msg := Message{Offset: 43, Client: ann.ID, From: "client", CID: "k1x9q2", Text: `<b>"hi" & bye</b>`, At: time.Date(2026, 11, 22, 10, 0, 1, 0, time.UTC)}
	n.MessageCreated(msg, ann)

	var first hit
	for i := range 4 {
		h := r.next(t)
		if !h.SigOK {
			t.Fatalf("attempt %d: signature does not verify", i+1)
		}
		if h.Event != MessageCreated || h.ev.Type != MessageCreated || h.Delivery != h.ev.ID || !strings.HasPrefix(h.ev.ID, "evt_") {
			t.Fatalf("attempt %d: headers %q %q, event %+v", i+1, h.Event, h.Delivery, h.ev)
		}
		if i == 0 {
			first = h
		} else if h.Delivery != first.Delivery || string(h.Body) != string(first.Body) {
			t.Fatalf("attempt %d: a retry must resend the same event and id", i+1)
		}
	}
	if got := first.ev.Data.Message; got == nil || *got != msg {
		t.Fatalf("message in body = %+v, want %+v", got, msg)
	}
	if first.ev.Data.Visitor.Name != "Ann" || first.ev.Data.Visitor.Meta["plan"] != "pro" {
		t.Fatalf("visitor in body = %+v", first.ev.Data.Visitor)
	}
	if !strings.Contains(string(first.Body), `"text":"<b>\"hi\" & bye</b>"`) {
		t.Fatalf("text must be sent as written (no HTML escaping): %s", first.Body)
	}
	log := waitLog(t, n, 1)
	d := log[0]
	if d.Status != StatusDelivered || d.Attempts != 4 || d.Code != 200 || d.Error != "" || d.ID != first.Delivery || d.Endpoint != r.URL {
		t.Fatalf("log entry %+v", d)
	}
	if c.Get(Channel, notify.Sent) != 1 || c.Get(Channel, notify.Retried) != 3 || c.Get(Channel, notify.Failed) != 0 {
		t.Fatalf("counts %v", c.Snapshot())
	}
}

func TestPermanentAnswersAreNotRetried(t *testing.T) {
	for _, code := range []int{400, 401, 404, 410, 302} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			r := newReceiver(t, code)
			n, c := start(t, Config{Endpoints: []Endpoint{{URL: r.URL, Secret: secret}}})
			n.ConversationCreated(ann)
			if h := r.next(t); h.ev.Type != ConversationCreated || h.ev.Data.Message != nil {
				t.Fatalf("body %s", h.Body)
			}
			d := waitLog(t, n, 1)[0]
			if d.Status != StatusFailed || d.Attempts != 1 || d.Code != code || !strings.Contains(d.Error, strconv.Itoa(code)) {
				t.Fatalf("log entry %+v", d)
			}
			if c.Get(Channel, notify.Failed) != 1 || c.Get(Channel, notify.Retried) != 0 {
				t.Fatalf("counts %v", c.Snapshot())
			}
			select {
			case h := <-r.Received():
				t.Fatalf("a %d was retried (or the redirect followed): %+v", code, h)
			default:
			}
		})
	}
}

func TestGivesUpAfterTheLastAttempt(t *testing.T) {
	r := newReceiver(t, 500, 500, 500, 500, 500)
	n, c := start(t, Config{Endpoints: []Endpoint{{URL: r.URL, Secret: secret}}})
	n.ConversationCreated(ann)
	d := waitLog(t, n, 1)[0]
	if d.Status != StatusFailed || d.Attempts != 4 || d.Code != 500 {
		t.Fatalf("log entry %+v", d)
	}
	if c.Get(Channel, notify.Failed) != 1 || c.Get(Channel, notify.Retried) != 3 {
		t.Fatalf("counts %v", c.Snapshot())
	}
}

func TestDeadEndpointNeverBlocksAndHidesItsPath(t *testing.T) {
	// A port nothing listens on, with a Slack-like credential in the path.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dead := "http://" + addr + "/services/T0001/B0002/SeCrEtPaTh"
	ok := newReceiver(t)
	n, c := start(t, Config{QueueSize: 2, Endpoints: []Endpoint{
		{URL: dead, Secret: secret},
		{URL: ok.URL, Secret: secret},
	}, Backoff: notify.Backoff{Attempts: 3, Initial: time.Hour, Max: time.Hour}})
	// The dead endpoint's worker waits an hour after its first failure; its
	// queue of 2 fills and the rest is dropped. Publishing returns at once.
	for range 10 {
		n.ConversationCreated(ann)
		ok.next(t) // the healthy endpoint is not held up by the dead one
	}
	if c.Get(Channel, notify.Dropped) < 7 {
		t.Fatalf("drops %v", c.Snapshot())
	}
	var dropped, delivered int
	for _, d := range waitLog(t, n, 17) {
		if strings.Contains(d.Error, "SeCrEt") || strings.Contains(d.Endpoint, "SeCrEt") {
			t.Fatalf("log leaks the URL path: %+v", d)
		}
		switch d.Status {
		case StatusDropped:
			dropped++
		case StatusDelivered:
			delivered++
		}
	}
	if dropped < 7 || delivered != 10 {
		t.Fatalf("dropped %d delivered %d", dropped, delivered)
	}
}

func TestSlowEndpointAttemptIsBounded(t *testing.T) {
	r := newReceiver(t)
	r.Hang()
	defer r.Release()
	n, c := start(t, Config{Timeout: 50 * time.Millisecond, Endpoints: []Endpoint{{URL: r.URL, Secret: secret}},
		Backoff: notify.Backoff{Attempts: 2, Initial: time.Millisecond, Max: time.Millisecond}})
	n.ConversationCreated(ann)
	d := waitLog(t, n, 1)[0]
	if d.Status != StatusFailed || d.Attempts != 2 || d.Code != 0 || !strings.Contains(d.Error, "deadline") {
		t.Fatalf("log entry %+v", d)
	}
	if c.Get(Channel, notify.Retried) != 1 || c.Get(Channel, notify.Failed) != 1 {
		t.Fatalf("counts %v", c.Snapshot())
	}
}

func TestEventFilterAndSlackFormat(t *testing.T) {
	all := newReceiver(t)
	slack := newReceiver(t)
	n, _ := start(t, Config{Endpoints: []Endpoint{
		{URL: all.URL, Secret: secret},
		{URL: slack.URL, Secret: secret, Events: []string{MessageCreated}, Format: FormatSlack},
	}})
	hostile := Visitor{ID: "v2", Name: "<!channel> Bob"}
	n.ConversationCreated(hostile)
	n.MessageCreated(Message{Offset: 7, Client: "v2", From: "client", CID: "c1", Text: "see <https://evil.example|your bank> & <@U123>"}, hostile)
	n.MessageCreated(Message{Offset: 8, Client: "v2", From: "admin", Admin: "alice", Display: "Alice", CID: "c2", Text: "hello"}, hostile)
	for _, want := range []string{ConversationCreated, MessageCreated, MessageCreated} {
		if h := all.next(t); h.ev.Type != want || !h.SigOK {
			t.Fatalf("json endpoint got %s (sig %v), want %s", h.ev.Type, h.SigOK, want)
		}
	}
	for _, want := range []string{
		`&lt;!channel&gt; Bob: see &lt;https://evil.example|your bank&gt; &amp; &lt;@U123&gt;`,
		`Alice → &lt;!channel&gt; Bob: hello`,
	} {
		h := slack.next(t)
		var body map[string]string
		if err := json.Unmarshal(h.Body, &body); err != nil || body["text"] != want || !h.SigOK || h.Event != MessageCreated {
			t.Fatalf("slack body %s (sig %v), want text %q", h.Body, h.SigOK, want)
		}
	}
}

func TestDeliveryLogIsBoundedNewestFirst(t *testing.T) {
	r := newReceiver(t)
	n, _ := start(t, Config{LogSize: 3, Endpoints: []Endpoint{{URL: r.URL, Secret: secret}}})
	var ids []string
	for range 5 {
		n.ConversationCreated(ann)
		ids = append(ids, r.next(t).Delivery)
	}
	log := waitLog(t, n, 3)
	if len(log) != 3 || log[0].ID != ids[4] || log[1].ID != ids[3] || log[2].ID != ids[2] {
		t.Fatalf("log %+v, want the last 3 of %v newest first", log, ids)
	}
}

func TestNewRefusesBadEndpoints(t *testing.T) {
	for _, tc := range []struct {
		ep   Endpoint
		want string
	}{
		{Endpoint{URL: "ftp://x.example/", Secret: secret}, "http or https"},
		{Endpoint{URL: "/relative", Secret: secret}, "http or https"},
		{Endpoint{URL: "https://user:pw@x.example/", Secret: secret}, "user info"},
		{Endpoint{URL: "https://x.example/T/B/secretpath", Secret: "short"}, "at least 16"},
		{Endpoint{URL: "https://x.example/", Secret: secret, Events: []string{"message.deleted"}}, "unknown event"},
		{Endpoint{URL: "https://x.example/", Secret: secret, Format: "xml"}, "format"},
	} {
		_, err := New(Config{Endpoints: []Endpoint{tc.ep}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.ep, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "secretpath") || strings.Contains(err.Error(), "pw@")) {
			t.Errorf("error leaks the URL: %v", err)
		}
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_790_000_000, 0)
	body := []byte(`{"id":"evt_1","type":"message.created"}`)
	good := Sign(secret, now, body)
	other := Sign("another-secret-0123", now, body)
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", good, body, now, nil},
		{"valid 4 min later", good, body, now.Add(4 * time.Minute), nil},
		{"second v1 matches (rotation)", other + ",v1=" + strings.Split(good, "v1=")[1], body, now, nil},
		{"tampered body", good, []byte(`{"id":"evt_1","type":"message.created "}`), now, ErrBadSignature},
		{"other secret", other, body, now, ErrBadSignature},
		{"replayed 6 min later", good, body, now.Add(6 * time.Minute), ErrStale},
		{"from the future", good, body, now.Add(-6 * time.Minute), ErrStale},
		{"timestamp changed", strings.Replace(good, "t=1790000000", "t=1790000001", 1), body, now, ErrBadSignature},
		{"empty", "", body, now, ErrNoSignature},
		{"no v1", "t=1790000000", body, now, ErrNoSignature},
		{"no t", "v1=" + strings.Split(good, "v1=")[1], body, now, ErrNoSignature},
		{"v1 not hex", "t=1790000000,v1=zz", body, now, ErrNoSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(secret, tc.header, tc.body, tc.now, 0)
			if tc.want == nil && err != nil || tc.want != nil && (err == nil || !strings.Contains(err.Error(), tc.want.Error())) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEndpointsHideThePathAndSecret(t *testing.T) {
	n, err := New(Config{Endpoints: []Endpoint{
		{URL: "https://hooks.slack.example/services/T0/B0/SeCrEt", Secret: secret, Events: []string{MessageCreated}, Format: FormatSlack},
		{URL: "http://127.0.0.1:9/chatd?token=SeCrEt", Secret: secret},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := n.Endpoints()
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), "SeCrEt") || strings.Contains(string(b), secret) {
		t.Fatalf("endpoint list leaks a credential: %s", b)
	}
	want := `[{"endpoint":"https://hooks.slack.example","events":["message.created"],"format":"slack","queued":0},` +
		`{"endpoint":"http://127.0.0.1:9","events":["conversation.created","message.created"],"format":"json","queued":0}]`
	if string(b) != want {
		t.Fatalf("endpoints %s\nwant %s", b, want)
	}
}

func TestDefaultTransportSpeaksHTTP1(t *testing.T) {
	// Cloning the default transport makes it offer h2 over TLS (ALPN);
	// the endpoints' transport must not, or an h2 server's answer would be
	// read as HTTP/1.1 (every delivery to an https receiver failed so).
	_ = http.DefaultTransport.(*http.Transport).Clone()
	n, err := New(Config{Endpoints: []Endpoint{{URL: "https://hooks.example/x", Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	tr := n.eps[0].client.Transport.(*http.Transport)
	if tr.Protocols == nil || tr.Protocols.HTTP2() || !tr.Protocols.HTTP1() {
		t.Fatalf("protocols %v", tr.Protocols)
	}
	if tr.TLSClientConfig != nil && slices.Contains(tr.TLSClientConfig.NextProtos, "h2") {
		t.Fatalf("ALPN offers %v", tr.TLSClientConfig.NextProtos)
	}
}
