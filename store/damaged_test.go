package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/db"
)

// TestDamagedRecordDoesNotStopTheStore: one whole record (its CRC matches)
// holding what is not a document of its kind, as a hand edit or another
// program leaves it, costs that document only: the store opens, every other
// visitor, conversation and message is served, the record is named once in
// the log and stays in the file; a damaged epoch is replaced by a new one
// (clients resync). Before, a damaged visitor or epoch stopped the start
// and a damaged message failed every replay that reached it.
func TestDamagedRecordDoesNotStopTheStore(t *testing.T) {
	for _, tc := range []struct {
		name, key, val string // key: V is Ann's id, M2 the key of her second message
		annVisible     bool   // Ann is still listed
		annMessages    int    // of her 3 messages, those still read
	}{
		{"visitor id a number", "visitors:V", `{"id":5,"name":"Ann"}`, false, 3},
		{"visitor an array", "visitors:V", `[]`, false, 3},
		{"visitor null", "visitors:V", `null`, false, 3},
		{"visitor a string", "visitors:V", `"Ann"`, false, 3},
		{"visitor of another id", "visitors:V", `{"id":"0123456789abcdef","name":"Mallory"}`, false, 3},
		{"visitor token hash a number", "visitors:V", `{"id":"V","token_hash":7}`, false, 3},
		{"visitor created not a time", "visitors:V", `{"id":"V","created":"yesterday"}`, false, 3},
		{"visitor meta an array", "visitors:V", `{"id":"V","meta":["a"]}`, false, 3},
		{"message client a number", "messages:M2", `{"client":5,"text":"x"}`, true, 2},
		{"message JSON null", "messages:M2", `null`, true, 2},
		{"message JSON array", "messages:M2", `[1,2]`, true, 2},
		{"message binary garbage", "messages:M2", "\x01\x02\x03", true, 2},
		{"message empty", "messages:M2", ``, true, 2},
		{"epoch a number", "settings:epoch", `{"id":"epoch","value":5}`, true, 3},
		{"epoch an array", "settings:epoch", `[]`, true, 3},
		{"epoch of another id", "settings:epoch", `{"id":"other","value":"abc"}`, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			ctx := context.Background()
			ann, _, err := s.CreateVisitor(ctx, "Ann", nil)
			if err != nil {
				t.Fatal(err)
			}
			bob, _, err := s.CreateVisitor(ctx, "Bob", nil)
			if err != nil {
				t.Fatal(err)
			}
			var second uint64
			for i := 0; i < 3; i++ {
				m, _, err := s.AddMessage(ctx, NewMessage{Client: ann.ID, From: FromClient, CID: fmt.Sprint("a", i), Text: "hello"})
				if err != nil {
					t.Fatal(err)
				}
				if i == 1 {
					second = m.Offset
				}
				if _, _, err := s.AddMessage(ctx, NewMessage{Client: bob.ID, From: FromClient, CID: fmt.Sprint("b", i), Text: "hi"}); err != nil {
					t.Fatal(err)
				}
			}
			epoch := s.Epoch()
			s.Close()

			key := strings.Replace(strings.Replace(tc.key, "V", ann.ID, 1), "M2", db.SeqID(second), 1)
			val := strings.Replace(tc.val, `"V"`, `"`+ann.ID+`"`, 1)
			rec := db.WrapValueForTest(key, val)
			path := filepath.Join(dir, "chatd.db")
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(f, "*3\r\n$3\r\nset\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(key), key, len(rec), rec)
			f.Close()

			var log bytes.Buffer
			s, err = Open(dir, db.Options{Logger: zerolog.New(&log)})
			if err != nil {
				t.Fatalf("the store did not open: %v", err)
			}
			defer s.Close()
			vs, err := s.Visitors()
			if err != nil {
				t.Fatal(err)
			}
			listed := map[string]bool{}
			for _, v := range vs {
				listed[v.ID] = true
			}
			if !listed[bob.ID] || listed[ann.ID] != tc.annVisible || len(vs) > 2 {
				t.Errorf("listed %v; want Bob, and Ann %v", listed, tc.annVisible)
			}
			if ms, err := s.MessagesOf(bob.ID, 0, 10); err != nil || len(ms) != 3 {
				t.Errorf("Bob's conversation: %d messages, %v; want 3", len(ms), err)
			}
			if ms, err := s.MessagesOf(ann.ID, 0, 10); err != nil || len(ms) != tc.annMessages {
				t.Errorf("Ann's conversation: %d messages, %v; want %d", len(ms), err, tc.annMessages)
			}
			if ms, err := s.MessagesAfter(0, 10); err != nil || len(ms) != 3+tc.annMessages {
				t.Errorf("all messages: %d, %v; want %d", len(ms), err, 3+tc.annMessages)
			}
			if _, _, err := s.AddMessage(ctx, NewMessage{Client: bob.ID, From: FromClient, CID: "after", Text: "still here"}); err != nil {
				t.Errorf("a new message: %v", err)
			}
			if tc.key == "settings:epoch" {
				if s.Epoch() == epoch || s.Epoch() == "" {
					t.Errorf("epoch %q after a damaged epoch record, want a new one (was %q)", s.Epoch(), epoch)
				}
			} else if s.Epoch() != epoch {
				t.Errorf("epoch changed: %q, was %q", s.Epoch(), epoch)
			}
			if !strings.Contains(log.String(), key) {
				t.Errorf("the log does not name %s:\n%s", key, log.String())
			}
			if tc.key != "settings:epoch" { // the new epoch replaces it; everything else stays
				b, _ := os.ReadFile(path)
				if !bytes.Contains(b, []byte(rec)) {
					t.Errorf("the damaged record is gone from the file")
				}
			}
		})
	}
}
