package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/db"
)

// TestDeleteVisitorFromPackedBlocks deletes a visitor whose messages share
// packed blocks with another visitor's: after the compaction the deletion
// schedules, neither the data file nor a backup holds any of its texts or its
// id (as text or in the codec's 8-byte form), a backup taken before it reads
// as without the visitor, while the other visitor's
// messages in the same blocks are whole and found by search after a restart
// (the search index is built again over the packed blocks).
func TestDeleteVisitorFromPackedBlocks(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	ann, _, _ := s.CreateVisitor(ctx, "Ann Packed", nil)
	bob, _, _ := s.CreateVisitor(ctx, "Bob Stays", nil)
	const n = 300 // each; interleaved, so every block holds both
	pad := strings.Repeat(".", 80)
	for i := 0; i < n; i++ {
		for _, m := range []NewMessage{
			{Client: ann.ID, From: FromClient, CID: fmt.Sprint("a", i), Text: fmt.Sprintf("quokka %d annsecret%d %s", i, i, pad)},
			{Client: bob.ID, From: FromClient, CID: fmt.Sprint("b", i), Text: fmt.Sprintf("wombat %d bobkeeps%d %s", i, i, pad)},
			{Client: ann.ID, From: FromAdmin, Admin: "alice", CID: fmt.Sprint("n", i), Text: fmt.Sprintf("koala note %d", i), Note: i%50 == 0},
		} {
			if _, _, err := s.AddMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.Close()

	// Reopened: the loose records are packed before Open returns; compacted,
	// the file holds the blocks and only the newest messages as single records.
	s = open(t, dir)
	if err := s.d.Shrink(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "chatd.db"))
	blocks, loose := bytes.Count(raw, []byte("_blk:messages:")), bytes.Count(raw, []byte("\r\nmessages:"))
	if blocks < 10 || loose > 3*n/4 {
		t.Fatalf("not packed: %d blocks, %d single message records of %d", blocks, loose, 3*n)
	}
	if rs, more, err := s.Search(ctx, "quokka", 5); err != nil || len(rs) != 5 || !more || rs[0].Client != ann.ID {
		t.Fatalf("search over packed messages before deletion: %+v more=%v %v", rs, more, err)
	}

	d, err := s.DeleteVisitor(ctx, ann.ID)
	if err != nil || d.Messages != 2*n {
		t.Fatalf("delete: %+v %v", d, err)
	}
	// A backup taken before the compaction still has the removed records'
	// bytes (it reads as without Ann); one taken after it has none.
	var early, backup bytes.Buffer
	if err := s.Backup(&early); err != nil {
		t.Fatal(err)
	}
	if err := s.d.Shrink(); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := db.CheckFile(filepath.Join(dir, "chatd.db")); err != nil {
		t.Fatalf("compacted file: %v", err)
	}
	bin, _ := hex.DecodeString(ann.ID)
	raw, _ = os.ReadFile(filepath.Join(dir, "chatd.db"))
	for name, b := range map[string][]byte{"the compacted data file": raw, "a backup": backup.Bytes()} {
		for _, secret := range [][]byte{[]byte("quokka"), []byte("annsecret"), []byte("koala"), []byte("Ann Packed"), []byte(ann.ID), bin} {
			if bytes.Contains(b, secret) {
				t.Errorf("%s still holds %q", name, secret)
			}
		}
		if !bytes.Contains(b, []byte("_blk:messages:")) {
			t.Errorf("%s holds no block", name)
		}
	}

	bdir, edir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(bdir, "chatd.db"), backup.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(edir, "chatd.db"), early.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, bdir, edir} {
		s := open(t, d)
		ms, err := s.MessagesOf(bob.ID, 0, 0)
		if err != nil || len(ms) != n {
			t.Fatalf("%s: Bob has %d messages, %v", d, len(ms), err)
		}
		for i, m := range ms {
			if m.CID != fmt.Sprint("b", i) || !strings.HasPrefix(m.Text, fmt.Sprintf("wombat %d bobkeeps%d ", i, i)) || m.Client != bob.ID {
				t.Fatalf("%s: Bob's message %d is %+v", d, i, m)
			}
		}
		if ms, _ := s.MessagesOf(ann.ID, 0, 0); len(ms) != 0 {
			t.Fatalf("%s: Ann has %d messages", d, len(ms))
		}
		if rs, _, err := s.Search(ctx, "wombat bobkeeps7", 10); err != nil || len(rs) != 1 || rs[0].Client != bob.ID {
			t.Fatalf("%s: search for Bob's packed message: %+v %v", d, rs, err)
		}
		if rs, _, err := s.Search(ctx, "quokka", 10); err != nil || len(rs) != 0 {
			t.Fatalf("%s: search still finds Ann: %+v %v", d, rs, err)
		}
		if c := s.MessageCount(); c != n {
			t.Fatalf("%s: %d messages counted", d, c)
		}
		s.Close()
	}
}
