package hub

import (
	"bytes"
	"testing"

	"github.com/chatd/chatd/store"
)

// TestRecheckAdminsEndsRevokedSocketsAtOnce: a socket whose token was revoked
// gets unauthorized and 1008 without sending anything; others stay open.
func TestRecheckAdminsEndsRevokedSocketsAtOnce(t *testing.T) {
	ts := startServer(t, Config{})
	alice, _, _ := ts.admin("alice", 0)
	bob := ts.dial("bob", "/ws/admin", nil)
	bob.send(evAdminAdd, map[string]any{"token": "bob-token", "after": 0})
	bob.expect(evAdminList, nil)
	bob.replayAll(evAdminMessages, evAdminReplayed)

	if n := ts.hub.RecheckAdmins(); n != 0 {
		t.Fatalf("closed %d sockets with nothing revoked", n)
	}
	ts.auth.revoke("bob-token")
	if n := ts.hub.RecheckAdmins(); n != 1 {
		t.Fatalf("closed %d sockets, want bob's", n)
	}
	bob.expectError(codeUnauthorized)
	bob.expectClose(ClosePolicy)

	// Alice still gets messages.
	v, id, _ := ts.visitor("v", "Ann", "", 0)
	alice.expectStatus(id.ID, true)
	v.send(evClientMessage, msg("c1", "hi"))
	v.expectMessage(evClientMessage, "c1")
	alice.expectMessage(evAdminMessage, "c1")
}

// TestVisitorsNeverSeeTheLogin: a reply reaches visitor sockets (live,
// replay, client:history) with the display name in admin, and admin sockets with the
// login in admin and the display name in display.
func TestVisitorsNeverSeeTheLogin(t *testing.T) {
	ts := startServer(t, Config{})
	if err := ts.st.ReseedAdmins([]store.Admin{{Name: "alice", Hash: "x", Display: "Alice from Acme"}, {Name: "bob", Hash: "x"}}); err != nil {
		t.Fatal(err)
	}
	adm, _, _ := ts.admin("alice", 0)
	v, id, _ := ts.visitor("v", "Ann", "", 0)
	adm.expectStatus(id.ID, true)
	var seen [][]byte // every frame a visitor socket received

	adm.send(evAdminMessage, map[string]any{"client": id.ID, "cid": "r1", "text": "hello"})
	fa := adm.expect(evAdminMessage, nil)
	var am store.Message
	mustDecode(t, fa, &am)
	if am.Admin != "alice" || am.Display != "Alice from Acme" {
		t.Fatalf("admin socket got admin %q display %q", am.Admin, am.Display)
	}
	fv := v.expect(evClientMessage, nil)
	seen = append(seen, fv.raw)
	var vm store.Message
	mustDecode(t, fv, &vm)
	if vm.Admin != "Alice from Acme" || vm.From != store.FromAdmin {
		t.Fatalf("visitor got admin %q", vm.Admin)
	}

	// bob has no display name: visitors see the default.
	bobWS := ts.dial("bob", "/ws/admin", nil)
	bobWS.send(evAdminAdd, map[string]any{"token": "bob-token", "after": 0})
	bobWS.expect(evAdminList, nil)
	bobWS.replayAll(evAdminMessages, evAdminReplayed)
	bobWS.send(evAdminMessage, map[string]any{"client": id.ID, "cid": "r2", "text": "me too"})
	fv = v.expect(evClientMessage, nil)
	seen = append(seen, fv.raw)
	mustDecode(t, fv, &vm)
	if vm.Admin != store.DefaultDisplay {
		t.Fatalf("visitor got admin %q for an agent without display name", vm.Admin)
	}

	// Replay after a reconnect.
	v2 := ts.dial("v2", "/ws/client", nil)
	v2.send(evClientAdd, map[string]any{"name": "Ann", "token": id.Token, "after": 0})
	f := v2.expect(evClientID, nil)
	seen = append(seen, f.raw)
	f = v2.expect(evClientMessages, nil)
	seen = append(seen, f.raw)
	var replay []store.Message
	mustDecode(t, f, &replay)
	if len(replay) != 2 || replay[0].Admin != "Alice from Acme" || replay[1].Admin != store.DefaultDisplay {
		t.Fatalf("replay %+v", replay)
	}
	seen = append(seen, v2.expect(evClientReplayed, nil).raw)
	// client:history too.
	v2.send(evClientHistory, map[string]any{"before": 0, "limit": 10})
	f = v2.expect(evClientHistory, nil)
	seen = append(seen, f.raw)
	var hist struct{ Messages []store.Message }
	mustDecode(t, f, &hist)
	if len(hist.Messages) != 2 || hist.Messages[0].Admin != "Alice from Acme" || hist.Messages[1].Admin != store.DefaultDisplay {
		t.Fatalf("client:history %s", f.raw)
	}
	// A visitor's retry of its own message (answered to it alone).
	v2.send(evClientMessage, msg("own-1", "hello"))
	seen = append(seen, v2.expect(evClientMessage, nil).raw)
	v2.send(evClientMessage, msg("own-1", "hello"))
	seen = append(seen, v2.expect(evClientMessage, nil).raw)
	for _, raw := range seen {
		if bytes.Contains(raw, []byte(`"alice"`)) || bytes.Contains(raw, []byte(`"bob"`)) {
			t.Fatalf("a login reached a visitor: %s", raw)
		}
	}
}

func mustDecode(t *testing.T, f inFrame, v any) {
	t.Helper()
	if err := decode(f, v); err != nil {
		t.Fatalf("decode %s: %v", f.raw, err)
	}
}
