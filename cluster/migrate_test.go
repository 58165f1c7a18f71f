package cluster

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/store"
)

// oneNode starts a one-node, one-replica cluster in this process.
func oneNode(t *testing.T) *Store {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	route := ln.Addr().String()
	ln.Close()
	s, err := Open(Config{Name: "t", Listen: route, Node: "solo", Secret: "test-secret-0123456789",
		DataDir: t.TempDir(), Replicas: 1, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestImportExportKeepOffsets moves a single-node store with gaps in its
// offsets into a cluster and back out, and checks that visitors, tokens,
// offsets and cids survive both ways, that a cid imported stays idempotent,
// and that import refuses a cluster that already has messages.
func TestImportExportKeepOffsets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, err := store.Open(t.TempDir(), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ann, annToken, err := src.CreateVisitor(ctx, "Ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	bob, _, err := src.CreateVisitor(ctx, "Bob", map[string]string{"page": "/x"})
	if err != nil {
		t.Fatal(err)
	}
	// Offsets 1..6 with 2, 3 and 5 unused (a gap as a crash leaves one).
	add := func(v store.Visitor, cid, text string) {
		t.Helper()
		if _, _, err := src.AddMessage(ctx, store.NewMessage{Client: v.ID, From: store.FromClient, CID: cid, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	add(ann, "a1", "hello <b>")
	for _, off := range []uint64{4, 6} {
		if err := src.ImportMessage(ctx, store.Message{Offset: off, Client: bob.ID, From: store.FromClient, CID: "b" + string(rune('0'+off)), Text: "hi é", At: time.Now().UTC()}); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := src.MessagesAfter(0, 0)
	// Details: a profile, an identity, a page, visits, a conversation, a canned reply.
	if err := src.ReseedAdmins([]store.Admin{{Name: "alice", Hash: "x"}}); err != nil {
		t.Fatal(err)
	}
	details := func(where string, st interface {
		Profile(string) (store.Profile, error)
		Conversation(string) (store.Conversation, error)
		Visits(string) (store.VisitInfo, error)
		Page(string) (store.PageView, []store.PageView, error)
		CannedReplies() ([]store.Canned, error)
	}) error {
		if p, err := st.Profile(ann.ID); err != nil || p.Email != "ann@example.com" || p.Attributes["plan"] != "pro" || p.Identity != "u-1" {
			return fmt.Errorf("%s: profile %+v %v", where, p, err)
		}
		if c, err := st.Conversation(bob.ID); err != nil || c.Status != store.StatusResolved || c.Assignee != "alice" || c.VisitorSeen != 4 {
			return fmt.Errorf("%s: conversation %+v %v", where, c, err)
		}
		if v, err := st.Visits(bob.ID); err != nil || v.Visits != 1 || v.Lang != "fr" {
			return fmt.Errorf("%s: visits %+v %v", where, v, err)
		}
		if cur, _, err := st.Page(bob.ID); err != nil || cur.URL != "https://shop.example/cart" {
			return fmt.Errorf("%s: page %+v %v", where, cur, err)
		}
		if cr, err := st.CannedReplies(); err != nil || len(cr) != 1 || cr[0].Text != "Hi {{name}}" {
			return fmt.Errorf("%s: canned %+v %v", where, cr, err)
		}
		return nil
	}
	if _, err := src.SetEmail(ctx, ann.ID, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.MergeAttributes(ctx, ann.ID, map[string]string{"plan": "pro"}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Identify(ctx, "u-1", ann.ID, "Ann", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.SetPage(ctx, bob.ID, store.PageView{URL: "https://shop.example/cart", Title: "Cart", At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.RecordVisit(ctx, bob.ID, store.VisitInfo{Lang: "fr"}, true); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		func() error { _, _, err := src.SetStatus(ctx, bob.ID, store.StatusResolved, time.Time{}); return err }(),
		func() error { _, _, err := src.Assign(ctx, bob.ID, "alice"); return err }(),
		func() error { _, _, err := src.SetVisitorSeen(ctx, bob.ID, 4); return err }(),
		func() error { _, _, err := src.SetCanned(ctx, "hi", "Hi {{name}}", "alice"); return err }(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := details("source", src); err != nil {
		t.Fatal(err)
	}

	cs := oneNode(t)
	if err := cs.ReseedAdmins(ctx, []store.Admin{{Name: "alice", Hash: "x"}}); err != nil {
		t.Fatal(err)
	}
	n, err := cs.Import(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if n.Messages != 3 || n.Visitors != 2 || n.Gaps != 3 || n.Last != 6 {
		t.Errorf("import counts %+v", n)
	}
	if err := cs.msgTail.waitFor(ctx, 6); err != nil {
		t.Fatal(err)
	}
	got, _ := cs.MessagesAfter(0, 0)
	sameMessages(t, "cluster", got, want)
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := details("cluster", cs)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // the buckets' tails apply the import
	}
	if v, err := cs.VisitorByToken(annToken); err != nil || v.ID != ann.ID {
		t.Errorf("token after import: %v %v", v.ID, err)
	}
	// Same offsets, same epoch: clients keep their cursors.
	for deadline := time.Now().Add(10 * time.Second); cs.Epoch() != src.Epoch(); {
		if time.Now().After(deadline) {
			t.Fatalf("cluster epoch %q after import, source %q", cs.Epoch(), src.Epoch())
		}
		time.Sleep(10 * time.Millisecond) // the meta bucket's tail applies the new epoch
	}
	// An imported cid stays idempotent; a new message goes after the last offset.
	m, dup, err := cs.AddMessage(ctx, store.NewMessage{Client: ann.ID, From: store.FromClient, CID: "a1", Text: "again"})
	if err != nil || !dup || m.Offset != 1 || m.Text != "hello <b>" {
		t.Errorf("re-sent imported cid: %+v dup=%v err=%v", m, dup, err)
	}
	m, dup, err = cs.AddMessage(ctx, store.NewMessage{Client: bob.ID, From: store.FromClient, CID: "new", Text: "after"})
	if err != nil || dup || m.Offset != 7 {
		t.Errorf("new message after import: %+v dup=%v err=%v", m, dup, err)
	}
	if _, err := cs.Import(ctx, src); err == nil {
		t.Error("a second import into a cluster with messages was accepted")
	}

	dstDir := filepath.Join(t.TempDir(), "out")
	dst, err := store.Open(dstDir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.ReseedAdmins([]store.Admin{{Name: "alice", Hash: "x"}}); err != nil {
		t.Fatal(err)
	}
	n, err = cs.Export(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	if n.Messages != 4 || n.Visitors != 2 || n.Last != 7 {
		t.Errorf("export counts %+v", n)
	}
	if dst.Epoch() != cs.Epoch() {
		t.Errorf("exported epoch %q, cluster %q", dst.Epoch(), cs.Epoch())
	}
	out, _ := dst.MessagesAfter(0, 0)
	sameMessages(t, "export", out, append(want, m))
	if v, err := dst.VisitorByToken(annToken); err != nil || v.ID != ann.ID {
		t.Errorf("token after export: %v %v", v.ID, err)
	}
	if _, dup, err := dst.AddMessage(ctx, store.NewMessage{Client: ann.ID, From: store.FromClient, CID: "a1", Text: "x"}); err != nil || !dup {
		t.Errorf("exported cid not idempotent: dup=%v err=%v", dup, err)
	}
	if err := details("export", dst); err != nil {
		t.Error(err)
	}
}

func sameMessages(t *testing.T, where string, got, want []store.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages, want %d", where, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Offset != w.Offset || g.Client != w.Client || g.CID != w.CID || g.Text != w.Text || g.From != w.From || !g.At.Equal(w.At) {
			t.Errorf("%s: message %d = %+v, want %+v", where, i, g, w)
		}
	}
}
