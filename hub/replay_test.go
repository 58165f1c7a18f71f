package hub

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/store"
)

// fill stores n messages of a new visitor straight into the store and
// returns the visitor's id and token.
func fill(t *testing.T, st *store.Store, n int) (id, token string) {
	t.Helper()
	ctx := context.Background()
	v, token, err := st.CreateVisitor(ctx, "Ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, _, err := st.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: fmt.Sprint("c", i), Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	return v.ID, token
}

// readReplay reads the frames of one replay up to its marker, returning the
// size of each frame and the marker.
func readReplay(t *testing.T, w *ws, typ, marker string) (sizes []int, msgs []store.Message, end replayEnd) {
	t.Helper()
	for {
		f := w.next()
		switch f.Type {
		case typ:
			var chunk []store.Message
			if err := decode(f, &chunk); err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(chunk))
			msgs = append(msgs, chunk...)
		case marker:
			if err := decode(f, &end); err != nil {
				t.Fatal(err)
			}
			return sizes, msgs, end
		default:
			t.Fatalf("%s: %s during the replay", w.name, f.raw)
		}
	}
}

// TestReplayEndsAtExactSizes: a replay is always ended by its marker, so a
// history of exactly 500 (one full frame) or 1000 messages is known to be
// over; above the cap of 1000 the newest 1000 come with more: true and the
// rest is paged with client:history.
func TestReplayEndsAtExactSizes(t *testing.T) {
	for _, tc := range []struct {
		n     int
		sizes []int
		more  bool
	}{
		{0, []int{0}, false},
		{1, []int{1}, false},
		{499, []int{499}, false},
		{500, []int{500}, false},
		{501, []int{500, 1}, false},
		{1000, []int{500, 500}, false},
		{1001, []int{500, 500}, true},
		{1501, []int{500, 500}, true},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			ts := startServer(t, Config{SendBuffer: 4})
			id, token := fill(t, ts.st, tc.n)
			w := ts.dial("v", "/ws/client", nil)
			w.send(evClientAdd, map[string]any{"token": token, "after": 0})
			var cid visitorID
			w.expect(evClientID, &cid)
			sizes, msgs, end := readReplay(t, w, evClientMessages, evClientReplayed)
			if fmt.Sprint(sizes) != fmt.Sprint(tc.sizes) || end.More != tc.more || end.Resync || end.Epoch != cid.Epoch {
				t.Fatalf("frames %v end %+v, want %v more %v", sizes, end, tc.sizes, tc.more)
			}
			if end.Last < ts.st.LastOffset() {
				t.Fatalf("last %d below the store's %d with nothing in flight", end.Last, ts.st.LastOffset())
			}
			if tc.n > 0 && msgs[len(msgs)-1].CID != fmt.Sprint("c", tc.n-1) {
				t.Fatalf("the replay does not end with the newest message: %s", msgs[len(msgs)-1].CID)
			}
			// Page back to the first message with client:history.
			all := len(msgs)
			before := uint64(0)
			if len(msgs) > 0 {
				before = msgs[0].Offset
			}
			for more := end.More; more; {
				w.send(evClientHistory, map[string]any{"before": before, "limit": 500, "client": "someone-else"})
				var h historyReply
				w.expect(evClientHistory, &h)
				if h.Client != id || len(h.Messages) == 0 || len(h.Messages) > 500 {
					t.Fatalf("client:history %s %d messages", h.Client, len(h.Messages))
				}
				if h.Messages[len(h.Messages)-1].Offset >= before {
					t.Fatalf("history not before %d", before)
				}
				all += len(h.Messages)
				before, more = h.Messages[0].Offset, h.More
			}
			if all != tc.n {
				t.Fatalf("replay and history gave %d of %d messages", all, tc.n)
			}
			// Live messages come after the marker.
			w.send(evClientMessage, msg("live", "after the replay"))
			w.expectMessage(evClientMessage, "live")

			// The admin replay: limit 0 and limits above the cap are capped.
			for _, limit := range []int{0, 5000, 700} {
				a := ts.dial("a", "/ws/admin", nil)
				a.send(evAdminAdd, map[string]any{"token": adminToken, "after": 0, "limit": limit})
				a.expect(evAdminList, nil)
				_, got, end := readReplay(t, a, evAdminMessages, evAdminReplayed)
				want := min(tc.n+1, replayCap) // +1: the live message
				if limit == 700 {
					want = min(tc.n+1, 700)
				}
				if len(got) != want || end.More != (tc.n+1 > want) || end.ListMore == nil || *end.ListMore {
					t.Fatalf("admin limit %d: %d messages, end %+v; want %d", limit, len(got), end, want)
				}
				a.close()
			}
		})
	}
}

// TestClientHistory: defaults, bounds, and a visitor reads only its own.
func TestClientHistory(t *testing.T) {
	ts := startServer(t, Config{})
	fill(t, ts.st, 3) // someone else's conversation
	v, id, _ := ts.visitor("v", "Bob", "", 0)
	for i := range 3 {
		v.send(evClientMessage, msg(fmt.Sprint("b", i), "x"))
		v.expectMessage(evClientMessage, fmt.Sprint("b", i))
	}
	var h historyReply
	v.send(evClientHistory, map[string]any{})
	v.expect(evClientHistory, &h)
	if h.Client != id.ID || len(h.Messages) != 3 || h.More {
		t.Fatalf("client:history %+v", h)
	}
	v.send(evClientHistory, map[string]any{"before": h.Messages[2].Offset, "limit": 1})
	v.expect(evClientHistory, &h)
	if len(h.Messages) != 1 || h.Messages[0].CID != "b1" || !h.More {
		t.Fatalf("client:history before/limit %+v", h)
	}
	v.send(evClientHistory, map[string]any{"limit": -1})
	v.expectError(codeBadRequest)
	v.send(evClientHistory, map[string]any{"before": "x"})
	v.expectError(codeBadRequest)
	e := ts.dial("e", "/ws/client", nil)
	e.send(evClientHistory, map[string]any{})
	e.expectError(codeNotIdentified)
}

// TestAdminListPages: admin:list holds at most 500 visitors, admin:replayed
// says list_more with list_next, admin:visitors walks the rest.
func TestAdminListPages(t *testing.T) {
	ts := startServer(t, Config{})
	ctx := context.Background()
	const n = listMax + 23
	for i := range n {
		if _, _, err := ts.st.CreateVisitor(ctx, fmt.Sprint("v", i), map[string]string{"k": "v"}); err != nil {
			t.Fatal(err)
		}
	}
	a := ts.dial("a", "/ws/admin", nil)
	a.send(evAdminAdd, map[string]any{"token": adminToken})
	var list []listRow
	a.expect(evAdminList, &list)
	_, _, end := readReplay(t, a, evAdminMessages, evAdminReplayed)
	if len(list) != listMax || end.ListMore == nil || !*end.ListMore || end.ListNext == "" {
		t.Fatalf("admin:list of %d, end %+v", len(list), end)
	}
	seen := map[string]bool{}
	for _, r := range list {
		seen[r.ID] = true
	}
	next := end.ListNext
	for more := true; more; {
		a.send(evAdminVisitors, map[string]any{"before": next, "limit": 10})
		var page struct {
			Visitors []listRow `json:"visitors"`
			More     bool      `json:"more"`
			Next     string    `json:"next"`
		}
		a.expect(evAdminVisitors, &page)
		if len(page.Visitors) > 10 {
			t.Fatalf("page of %d", len(page.Visitors))
		}
		for _, r := range page.Visitors {
			if seen[r.ID] {
				t.Fatalf("visitor %s listed twice", r.ID)
			}
			seen[r.ID] = true
		}
		next, more = page.Next, page.More
	}
	if len(seen) != n {
		t.Fatalf("walked %d of %d visitors", len(seen), n)
	}
	// The last id of a page works as a cursor too; a forged cursor is refused.
	a.send(evAdminVisitors, map[string]any{"before": list[len(list)-1].ID, "limit": 1})
	var page visitorsReply
	a.expect(evAdminVisitors, &page)
	if len(page.Visitors) != 1 || seen[page.Visitors[0].ID] && page.Visitors[0].ID == list[len(list)-1].ID {
		t.Fatalf("page after an id: %+v", page)
	}
	a.send(evAdminVisitors, map[string]any{"before": "forged!"})
	a.expectError(codeBadRequest)
	a.send(evAdminVisitors, map[string]any{"limit": -1})
	a.expectError(codeBadRequest)
	a.send(evAdminVisitors, map[string]any{"limit": 100000})
	a.expect(evAdminVisitors, &page)
	if len(page.Visitors) != listMax || !page.More {
		t.Fatalf("limit above 500: %d visitors", len(page.Visitors))
	}
}

// TestTextOnTheWireAsSent: the frames carry '<' and '&', not \u003c.
func TestTextOnTheWireAsSent(t *testing.T) {
	ts := startServer(t, Config{})
	v, _, _ := ts.visitor("v", "<Ann & co>", "", 0)
	// Sent raw: Go's json.Marshal would escape each '<' into six bytes (a
	// 24.6 KB frame, above the 16 KiB frame limit), as browsers do not.
	v.sendRaw(`{"type":"client:message","data":{"cid":"lt","text":"` + strings.Repeat("<", 4096) + `"}}`)
	f := v.next()
	if f.Type != evClientMessage || strings.Contains(string(f.raw), `\u003c`) || len(f.raw) > 4096+300 {
		t.Fatalf("ack of 4096 '<' is %d bytes: %.80s...", len(f.raw), f.raw)
	}
	a, list, msgs := ts.admin("a", 0)
	if list[0].Name != "<Ann & co>" || len(msgs) != 1 {
		t.Fatalf("list %+v, %d messages", list, len(msgs))
	}
	a.close()
}

// TestIPv6GroupedByPrefix: every per-address limit counts one IPv6 /64 as
// one address: sockets per IP, new visitors per IP, storage budgets.
func TestIPv6GroupedByPrefix(t *testing.T) {
	ts := startServer(t, Config{
		SocketsPerIP: 2, NewVisitorsPerIP: 1,
		ClientIP: func(r *http.Request) string { return r.Header.Get("X-Test-IP") },
	})
	from := func(ip string) http.Header { return http.Header{"X-Test-IP": {ip}} }
	a := ts.dial("a", "/ws/client", from("2001:db8:1:2::1"))
	b := ts.dial("b", "/ws/client", from("2001:db8:1:2:ffff::2"))
	c := ts.dial("c", "/ws/client", from("2001:db8:1:2:abcd:ef01:2345:6789"))
	c.expectError(codeTooMany) // sockets per IP: the third socket of the /64
	c.expectClose(ClosePolicy)
	a.send(evClientAdd, map[string]any{"name": "first of the /64"})
	a.expect(evClientID, nil)
	b.send(evClientAdd, map[string]any{"name": "second of the /64"})
	b.expectError(codeRateLimited) // new visitors per IP: the /64's one of this minute is used
	for _, ip := range []string{"2001:db8:1:3::1", "192.0.2.1", "192.0.2.2", "::ffff:198.51.100.7"} {
		w := ts.dial(ip, "/ws/client", from(ip))
		w.send(evClientAdd, map[string]any{"name": "elsewhere"})
		w.expect(evClientID, nil)
	}
}
