package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/store"
	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"
)

func TestFloodingVisitorIsLimitedOthersChat(t *testing.T) {
	// A rate so low that no token refills during the test: exactly the burst passes.
	ts := startServer(t, Config{MsgRate: 0.0001, MsgBurst: 3})
	adm, _, _ := ts.admin("adm", 0)
	flood, fid, _ := ts.visitor("flood", "Flo", "", 0)
	adm.expectStatus(fid.ID, true)
	tab2, _, _ := ts.visitor("flood-tab2", "Flo", fid.Token, 0)
	calm, cid, _ := ts.visitor("calm", "Cal", "", 0)
	adm.expectStatus(cid.ID, true)

	for i := range 10 {
		flood.send(evClientMessage, msg(fmt.Sprint("f", i), "spam"))
	}
	acks, limited := 0, 0
	for range 10 {
		f := flood.next()
		switch f.Type {
		case evClientMessage:
			acks++
		case evError:
			limited++
		}
	}
	if acks != 3 || limited != 7 {
		t.Fatalf("flooder: %d acks, %d rate_limited; want 3 and 7", acks, limited)
	}
	tab2.send(evClientMessage, msg("t2", "other tab"))
	for range 3 { // the three acks of the flooder's burst
		tab2.expect(evClientMessage, nil)
	}
	if e := tab2.expectError(codeRateLimited); e.CID != "t2" {
		t.Fatalf("rate_limited names cid %q", e.CID)
	}
	calm.send(evClientMessage, msg("c1", "may I ask something"))
	calm.expectMessage(evClientMessage, "c1")
	for range 3 {
		adm.expect(evAdminMessage, nil)
	}
	adm.expectMessage(evAdminMessage, "c1")
	if n := ts.hub.Stats().Rejected[codeRateLimited]; n != 8 {
		t.Fatalf("rate_limited counter %d, want 8", n)
	}
}

func TestSocketsPerVisitor(t *testing.T) {
	ts := startServer(t, Config{SocketsPerVisit: 2})
	_, id, _ := ts.visitor("t1", "Ann", "", 0)
	t2, _, _ := ts.visitor("t2", "Ann", id.Token, 0)
	t3 := ts.dial("t3", "/ws/client", nil)
	t3.send(evClientAdd, map[string]any{"name": "Ann", "token": id.Token})
	t3.expectError(codeTooMany)
	t3.expectClose(ClosePolicy)
	t2.close()
	waitFor(t, "one visitor socket", func() bool { return ts.hub.Stats().VisitorSockets == 1 })
	ts.visitor("t4", "Ann", id.Token, 0)
}

func TestSocketsPerIP(t *testing.T) {
	ts := startServer(t, Config{SocketsPerIP: 3})
	a := ts.dial("a", "/ws/client", nil)
	ts.dial("b", "/ws/client", nil)
	ts.dial("c", "/ws/admin", nil)
	d := ts.dial("d", "/ws/client", nil)
	d.expectError(codeTooMany)
	d.expectClose(ClosePolicy)
	a.close()
	waitFor(t, "a slot", func() bool {
		c, err := ts.tryDial("/ws/client", nil)
		if err != nil {
			return false
		}
		w := &ws{t: t, name: "e", c: c}
		w.send(evClientAdd, map[string]any{"name": "Eve"})
		f := w.next()
		c.Close()
		return f.Type == evClientID
	})
}

func TestNewVisitorsPerIP(t *testing.T) {
	ts := startServer(t, Config{NewVisitorsPerIP: 2})
	_, id, _ := ts.visitor("a", "A", "", 0)
	ts.visitor("b", "B", "", 0)
	c := ts.dial("c", "/ws/client", nil)
	c.send(evClientAdd, map[string]any{"name": "C"})
	c.expectError(codeRateLimited)
	// The socket stays open, and known visitors still come back.
	c.send(evClientAdd, map[string]any{"name": "A", "token": id.Token})
	var got visitorID
	c.expect(evClientID, &got)
	if got.ID != id.ID {
		t.Fatalf("restored %s, want %s", got.ID, id.ID)
	}
}

// slowDialer opens connections with a tiny receive buffer, so a client that
// does not read pushes back on the server quickly.
func slowDial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	d := websocket.Dialer{HandshakeTimeout: wait, NetDialContext: nd.DialContext}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSlowReaderIsClosedOthersUnaffected(t *testing.T) {
	ts := startServer(t, Config{SendBuffer: 8, MsgRate: 1e6, MsgBurst: 1e6, QuotaVisitor: 1 << 30, QuotaAddress: 1 << 30})
	adm, _, _ := ts.admin("adm", 0)
	v, vid, _ := ts.visitor("v", "Ann", "", 0)
	adm.expectStatus(vid.ID, true)
	// A second tab of the same visitor that stops reading after identifying.
	slow := &ws{t: t, name: "slow", c: slowDial(t, ts.url+"/ws/client")}
	slow.send(evClientAdd, map[string]any{"name": "Ann", "token": vid.Token})
	slow.expect(evClientID, nil)
	slow.expect(evClientMessages, nil)
	other, oid, _ := ts.visitor("other", "Bob", "", 0)
	adm.expectStatus(oid.ID, true)

	// Lockstep: each message is acked to the reading tab and the admin before
	// the next, so only the tab that does not read falls behind. Kernel
	// buffers absorb a few hundred KiB first; stop once it is dropped.
	text := strings.Repeat("y", 4000)
	for i := 0; ts.hub.Stats().DroppedSlow == 0; i++ {
		if i == 5000 {
			t.Fatalf("slow tab not dropped after %d frames", i)
		}
		cid := fmt.Sprint("m", i)
		v.send(evClientMessage, msg(cid, text))
		v.expectMessage(evClientMessage, cid)
		adm.expectMessage(evAdminMessage, cid)
	}
	if !strings.Contains(ts.logs.String(), `"visitor":"`+vid.ID+`","admin":"","remote"`) ||
		!strings.Contains(ts.logs.String(), "closing slow socket") {
		t.Fatalf("no warning naming the visitor:\n%s", ts.logs)
	}
	waitFor(t, "the slow tab gone", func() bool { return ts.hub.Stats().VisitorSockets == 2 })
	slow.expectGone()
	// Everyone else carries on.
	other.send(evClientMessage, msg("o1", "still fine"))
	other.expectMessage(evClientMessage, "o1")
	adm.expectMessage(evAdminMessage, "o1")
	v.send(evClientMessage, msg("last", "and me"))
	v.expectMessage(evClientMessage, "last")
	adm.expectMessage(evAdminMessage, "last")
}

func TestShutdownSends1012(t *testing.T) {
	ts := startServer(t, Config{})
	adm, _, _ := ts.admin("adm", 0)
	v, _, _ := ts.visitor("v", "Ann", "", 0)
	raw := ts.dial("raw", "/ws/client", nil) // never identified
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := ts.hub.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for _, w := range []*ws{adm, v, raw} {
		w.expectClose(CloseRestart)
	}
	_, err := ts.tryDial("/ws/client", nil)
	if err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("dial after shutdown: %v, want HTTP 503", err)
	}
}

func TestLongReplayIsChunked(t *testing.T) {
	ts := startServer(t, Config{SendBuffer: 2})
	ctx := context.Background()
	vis, token, err := ts.st.CreateVisitor(ctx, "Ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1234
	for i := range n {
		if _, _, err := ts.st.AddMessage(ctx, store.NewMessage{Client: vis.ID, From: store.FromClient, CID: fmt.Sprint("c", i), Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(w *ws, typ string, after uint64, want []int) {
		t.Helper()
		var prev uint64 = after
		for _, size := range want {
			var msgs []store.Message
			w.expect(typ, &msgs)
			if len(msgs) != size {
				t.Fatalf("%s: chunk of %d, want %d", typ, len(msgs), size)
			}
			for _, m := range msgs {
				if m.Offset <= prev {
					t.Fatalf("offset %d after %d", m.Offset, prev)
				}
				prev = m.Offset
			}
		}
	}
	w := ts.dial("v", "/ws/client", nil)
	w.send(evClientAdd, map[string]any{"name": "Ann", "token": token})
	w.expect(evClientID, nil)
	check(w, evClientMessages, 234, []int{500, 500}) // the newest 1000 (replayCap)
	var end replayEnd
	if w.expect(evClientReplayed, &end); !end.More || end.Resync {
		t.Fatalf("client:replayed %+v, want more", end)
	}
	// Then live messages follow the replay.
	w.send(evClientMessage, msg("live", "after replay"))
	w.expectMessage(evClientMessage, "live")

	a := ts.dial("a", "/ws/admin", nil)
	a.send(evAdminAdd, map[string]any{"token": adminToken, "after": 100})
	a.expect(evAdminList, nil)
	check(a, evAdminMessages, 234, []int{500, 500})
	if a.expect(evAdminReplayed, &end); !end.More || end.Resync {
		t.Fatalf("admin:replayed %+v, want more", end)
	}
}

// TestConcurrentOrderAndReplayJoin: many visitors write at once while admins
// join mid-stream; every socket sees each message once, in offset order, and
// the admins that joined late miss nothing between replay and live.
func TestConcurrentOrderAndReplayJoin(t *testing.T) {
	ts := startServer(t, Config{MsgRate: 1e6, MsgBurst: 1e6})
	const visitors, each = 12, 40
	type joined struct {
		w      *ws
		replay []store.Message
	}
	admins := make(chan joined, 3)
	first, _, replay := ts.admin("adm0", 0)
	admins <- joined{first, replay}

	var wg sync.WaitGroup
	errs := make(chan error, visitors)
	vs := make([]*ws, visitors)
	for i := range vs {
		vs[i], _, _ = ts.visitor(fmt.Sprint("v", i), fmt.Sprint("V", i), "", 0)
	}
	for i, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prev uint64
			for j := range each {
				b := fmt.Appendf(nil, `{"type":"client:message","data":{"cid":"c%d","text":"n%d"}}`, j, j)
				if err := v.c.WriteMessage(websocket.TextMessage, b); err != nil {
					errs <- err
					return
				}
			}
			for range each {
				f, err := v.read()
				if err != nil {
					errs <- err
					return
				}
				var m store.Message
				if f.Type != evClientMessage || decode(f, &m) != nil || m.Offset <= prev {
					errs <- fmt.Errorf("visitor %d: frame %s after offset %d", i, f.raw, prev)
					return
				}
				prev = m.Offset
			}
		}()
		if i == visitors/3 || i == 2*visitors/3 {
			a, _, replay := ts.admin(fmt.Sprint("adm", i), 0)
			admins <- joined{a, replay}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	close(admins)
	total := visitors * each
	for j := range admins {
		// The replay came with admin(); read the rest and check the whole stream.
		a := j.w
		seen := map[uint64]bool{}
		var prev uint64
		for _, m := range j.replay {
			if m.Offset <= prev {
				t.Fatalf("%s: replay offset %d after %d", a.name, m.Offset, prev)
			}
			prev = m.Offset
			seen[m.Offset] = true
		}
		for len(seen) < total {
			f, err := a.read()
			if err != nil {
				var missing []uint64
				for o := uint64(1); o <= uint64(total); o++ {
					if !seen[o] {
						missing = append(missing, o)
					}
				}
				t.Fatalf("%s: %v; have %d of %d, missing %v", a.name, err, len(seen), total, missing)
			}
			var batch []store.Message
			switch f.Type {
			case evAdminMessage:
				var m store.Message
				decode(f, &m)
				batch = []store.Message{m}
			case evAdminMessages:
				decode(f, &batch)
			case evAdminStatus:
				continue
			default:
				t.Fatalf("%s: unexpected %s", a.name, f.raw)
			}
			for _, m := range batch {
				if m.Offset <= prev || seen[m.Offset] {
					t.Fatalf("%s: offset %d after %d", a.name, m.Offset, prev)
				}
				prev = m.Offset
				seen[m.Offset] = true
			}
		}
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	ts := startServer(t, Config{})
	adm, _, _ := ts.admin("adm", 0)
	v, id, _ := ts.visitor("v", "Ann", "", 0)
	adm.expectStatus(id.ID, true)
	v.send(evClientMessage, msg("s1", "my-credit-card-4111"))
	v.expectMessage(evClientMessage, "s1")
	bad := ts.dial("bad", "/ws/admin", nil)
	bad.send(evAdminAdd, map[string]any{"token": "forged-token-xyz"})
	bad.expectError(codeUnauthorized)
	v.drop()
	adm.expect(evAdminMessage, nil)
	adm.expectStatus(id.ID, false)
	logs := ts.logs.String()
	for _, secret := range []string{id.Token, adminToken, "forged-token-xyz", "my-credit-card-4111"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("logs hold %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, `"admin":"alice"`) {
		t.Fatalf("admin login not logged with its name:\n%s", logs)
	}
}

func TestLimiterSetStaysSmall(t *testing.T) {
	s := newLimiters(1e9, 1) // refills within a nanosecond
	held := s.acquire("held")
	held.Allow()
	for i := range 1000 {
		s.allow(fmt.Sprint("ip", i))
	}
	if s.size() != 1001 {
		t.Fatalf("size %d before sweep", s.size())
	}
	s.mu.Lock()
	s.swept = time.Time{} // the minute has passed
	s.mu.Unlock()
	s.allow("new")
	if got := s.size(); got != 2 {
		t.Fatalf("size %d after sweep, want 2 (held + new)", got)
	}
	s.release("held")
}

func decode(f inFrame, v any) error {
	if err := json.Unmarshal(f.Data, v); err != nil {
		return errors.Join(fmt.Errorf("decode %s", f.raw), err)
	}
	return nil
}

// TestStoreFailureIsUnavailable: when the store fails nothing is acked, the
// sender gets unavailable with its cid, and the socket stays open.
func TestStoreFailureIsUnavailable(t *testing.T) {
	st, err := store.Open(t.TempDir(), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{}, st, &testAuth{m: map[string]string{adminToken: "alice"}}, zerolog.Nop())
	srv := httptest.NewServer(http.HandlerFunc(h.ServeClient))
	ts := &testServer{t: t, hub: h, st: st, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
	}()
	w := ts.dial("v", "", nil)
	w.send(evClientAdd, map[string]any{"name": "Ann"})
	w.expect(evClientID, nil)
	w.expect(evClientMessages, nil)
	w.expect(evClientReplayed, nil)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	w.send(evClientMessage, msg("u1", "into the void"))
	if e := w.expectError(codeUnavailable); e.CID != "u1" {
		t.Fatalf("unavailable names cid %q", e.CID)
	}
	w.send(evClientMessage, msg("", "still answered"))
	w.expectError(codeBadRequest)
}

// stuckStore holds AddMessage until gate closes: a store that stopped answering.
type stuckStore struct {
	*store.Store
	entered chan struct{}
	gate    chan struct{}
}

func (s *stuckStore) AddMessage(ctx context.Context, m store.NewMessage) (store.Message, bool, error) {
	s.entered <- struct{}{}
	<-s.gate
	return s.Store.AddMessage(ctx, m)
}

// TestShutdownIsBounded: a socket stuck in a store call does not hold
// Shutdown past its deadline; the other sockets were told 1012 first.
func TestShutdownIsBounded(t *testing.T) {
	st, err := store.Open(t.TempDir(), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stuck := &stuckStore{Store: st, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	h := New(Config{}, stuck, &testAuth{}, zerolog.Nop())
	srv := httptest.NewServer(http.HandlerFunc(h.ServeClient))
	ts := &testServer{t: t, hub: h, st: st, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	defer func() {
		srv.Close()
		st.Close()
	}()
	a, _, _ := ts.visitor("a", "Ann", "", 0)
	b, _, _ := ts.visitor("b", "Bob", "", 0)
	a.send(evClientMessage, msg("x", "this store call never returns"))
	<-stuck.entered

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := h.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown: %v, want deadline exceeded", err)
	}
	b.expectClose(CloseRestart)
	close(stuck.gate) // the store answers at last; the stuck socket's handler ends
	a.expectGone()
	waitFor(t, "no socket left", func() bool { return h.Stats().VisitorSockets == 0 })
}

// TestPipeliningSenderIsThrottledNotDropped: a sender with many messages in
// flight waits for its own acks to drain; it is never taken for a slow reader.
func TestPipeliningSenderIsThrottledNotDropped(t *testing.T) {
	ts := startServer(t, Config{SendBuffer: 4, MsgRate: 1e6, MsgBurst: 1e6})
	v, _, _ := ts.visitor("v", "Ann", "", 0)
	const n = 300
	for i := range n {
		v.send(evClientMessage, msg(fmt.Sprint("p", i), "pipelined"))
	}
	for i := range n {
		v.expectMessage(evClientMessage, fmt.Sprint("p", i))
	}
	if d := ts.hub.Stats().DroppedSlow; d != 0 {
		t.Fatalf("%d sockets dropped", d)
	}
}

// TestPipelinedSenderIsSlowedNotDropped: visitors that send far more messages
// than their send buffer holds before reading a single ack are slowed down by
// backpressure (acks held back for offset order count too), never dropped as slow.
func TestPipelinedSenderIsSlowedNotDropped(t *testing.T) {
	ts := startServer(t, Config{MsgRate: 1e6, MsgBurst: 1e6})
	const visitors, each = 12, 300 // each is several times DefaultSendBuffer
	var wg sync.WaitGroup
	for i := 0; i < visitors; i++ {
		v, _, _ := ts.visitor(fmt.Sprint("p", i), fmt.Sprint("P", i), "", 0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				b := fmt.Appendf(nil, `{"type":"client:message","data":{"cid":"c%d","text":"n%d"}}`, j, j)
				if err := v.c.WriteMessage(websocket.TextMessage, b); err != nil {
					t.Errorf("visitor %d write %d: %v", i, j, err)
					return
				}
			}
			for j := range each {
				if f, err := v.read(); err != nil || f.Type != evClientMessage {
					t.Errorf("visitor %d ack %d: %v %s", i, j, err, f.raw)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := ts.hub.Stats(); st.DroppedSlow != 0 {
		t.Fatalf("%d sockets dropped as slow", st.DroppedSlow)
	}
}
