package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/db"
)

func TestMessageCodecRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.UTC)
	for _, m := range []Message{
		{Client: "0123456789abcdef", From: FromClient, CID: "c1", Text: "hello", At: now},
		{Client: "0123456789abcdef", From: FromAdmin, Admin: "alice", CID: "r-1", Text: "Hi Ann!", At: now},
		{Client: "0123456789abcdef", From: FromAdmin, Admin: "alice", Display: "Alice from Acme", CID: "r-2", Text: "with a display name", At: now},
		{Client: "0123456789abcdef", From: FromAdmin, Admin: "alice", Display: "Alice from Acme", CID: "n-1", Text: "an internal note", At: now, Note: true},
		{Client: "0123456789ABCDEF", From: FromClient, CID: "c", Text: "upper-case hex id is kept as text", At: now},
		{Client: "visitor with spaces", From: "system", CID: strings.Repeat("x", MaxCIDLen), Text: "a from that is neither", At: now},
		{Client: "0123456789abcde", From: FromClient, CID: "short id", Text: "日本語 \u2028 \x00 <b>&amp;</b> 🙂", At: now},
		{Client: "0123456789abcdef", From: FromClient, CID: "zero time", Text: "t"},
		{Client: "0123456789abcdef", From: FromClient, CID: "far", Text: "t", At: time.Date(3000, 1, 1, 0, 0, 0, 1, time.UTC)},
		{Client: "0123456789abcdef", From: FromClient, CID: "old", Text: "t", At: time.Date(1200, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Client: "", From: "", CID: "", Text: strings.Repeat("long ", 2000), At: now},
	} {
		t.Run(m.CID, func(t *testing.T) {
			var c messageCodec
			raw, err := c.Append([]byte("prefix"), &m)
			if err != nil {
				t.Fatal(err)
			}
			raw = raw[len("prefix"):]
			if raw[0] == '{' {
				t.Fatal("binary form starts like JSON")
			}
			var got Message
			if err := c.Decode(raw, &got); err != nil {
				t.Fatal(err)
			}
			if !got.At.Equal(m.At) || got.At.Location() != time.UTC && !m.At.IsZero() {
				t.Fatalf("at %v, want %v", got.At, m.At)
			}
			got.At = m.At
			if got != m {
				t.Fatalf("got %+v\nwant %+v", got, m)
			}
			for field, want := range map[string]string{"client": m.Client, "cid": m.CID, "text": ""} {
				if f := string(c.Field(nil, raw, field)); f != want {
					t.Errorf("field %s = %q, want %q", field, f, want)
				}
			}
			// Every shorter prefix and any extra byte is refused, never half read.
			for i := 0; i < len(raw); i++ {
				if c.Decode(raw[:i], &got) == nil {
					t.Fatalf("decoded a %d-byte prefix of %d", i, len(raw))
				}
			}
			if c.Decode(append(raw[:len(raw):len(raw)], 0), &got) == nil {
				t.Fatal("decoded trailing garbage")
			}
		})
	}
}

// TestMessageCodecReadsVersion1 decodes the JSON documents schema version 1
// stored, so that a file interrupted during its migration still reads.
func TestMessageCodecReadsVersion1(t *testing.T) {
	m := Message{Offset: 7, Client: "0123456789abcdef", From: FromAdmin, Admin: "bob", CID: "x", Text: "hi", At: time.Now().UTC()}
	raw, _ := json.Marshal(m)
	var c messageCodec
	var got Message
	if err := c.Decode(raw, &got); err != nil || got != m {
		t.Fatalf("%+v, %v", got, err)
	}
	if f := string(c.Field(nil, raw, "cid")); f != "x" {
		t.Fatalf("cid %q", f)
	}
}

// TestMigrateVersion1File writes a schema version 1 file the way version 1
// wrote it (JSON documents, one record each, 3,000 messages), opens it with
// this version, and checks every message, cid and offset.
func TestMigrateVersion1File(t *testing.T) {
	dir := t.TempDir()
	f, err := os.OpenFile(filepath.Join(dir, "chatd.db"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	put := func(key, val string) {
		v := db.WrapValueForTest(key, val)
		fmt.Fprintf(w, "*3\r\n$3\r\nset\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(key), key, len(v), v)
	}
	put("_meta:schema", "1")
	put("_meta:seq:messages", "10000")
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ids := []string{"00000000000000aa", "00000000000000bb", "visitor-from-old"}
	for _, id := range ids {
		v, _ := json.Marshal(Visitor{ID: id, Name: id, TokenHash: HashToken(id), Created: at, LastSeen: at})
		put("visitors:"+id, string(v))
	}
	const n = 3000
	for i := 1; i <= n; i++ {
		m, _ := json.Marshal(Message{Offset: uint64(i), Client: ids[i%3], From: FromClient, CID: fmt.Sprint("c", i), Text: fmt.Sprint("message ", i), At: at})
		put("messages:"+db.SeqID(uint64(i)), string(m))
	}
	w.Flush()
	f.Close()

	for round := 0; round < 2; round++ { // migrated, then reopened as version 2
		s := open(t, dir)
		if s.MessageCount() != n+round {
			t.Fatalf("round %d: %d messages", round, s.MessageCount())
		}
		for k, id := range ids {
			ms, err := s.MessagesBefore(id, n+1, n)
			if err != nil || len(ms) != n/3 {
				t.Fatalf("round %d: %s has %d messages, %v", round, id, len(ms), err)
			}
			for j, m := range ms {
				off := uint64(j*3 + k)
				if k == 0 {
					off += 3
				}
				if m.Offset != off || m.Text != fmt.Sprint("message ", off) || m.CID != fmt.Sprint("c", off) || m.Client != id || !m.At.Equal(at) {
					t.Fatalf("round %d: message %+v, want offset %d", round, m, off)
				}
			}
		}
		if _, dup, err := s.AddMessage(context.Background(), NewMessage{Client: ids[1], From: FromClient, CID: "c1", Text: "again"}); err != nil || !dup {
			t.Fatalf("round %d: cid of a migrated message: dup=%v %v", round, dup, err)
		}
		if m, _, err := s.AddMessage(context.Background(), NewMessage{Client: ids[1], From: FromClient, CID: fmt.Sprint("new", round), Text: "new"}); err != nil || m.Offset <= 10000 {
			t.Fatalf("round %d: new offset %d, %v", round, m.Offset, err)
		}
		if all, _ := s.MessagesAfter(0, 0); len(all) != n+round+1 || all[n-1].Offset != n {
			t.Fatalf("round %d: %d messages after 0", round, len(all))
		}
		s.Close()
	}
	b, _ := os.ReadFile(filepath.Join(dir, "chatd.db"))
	if !strings.Contains(string(b), "_blk:messages:") {
		t.Fatal("migrated messages were not packed")
	}
}

// TestMessageCodecKeepsEveryField fills every field of Message and checks it
// survives the binary form: a field added to Message without a place in the
// codec fails here instead of being dropped from the file.
func TestMessageCodecKeepsEveryField(t *testing.T) {
	var m Message
	v := reflect.ValueOf(&m).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch name := v.Type().Field(i).Name; f.Kind() {
		case reflect.String:
			f.SetString("value of " + name)
		case reflect.Uint64:
			f.SetUint(7)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Struct:
			if f.Type() != reflect.TypeOf(time.Time{}) {
				t.Fatalf("field %s: teach this test (and the codec) its type", name)
			}
			f.Set(reflect.ValueOf(time.Date(2026, 12, 1, 2, 3, 4, 5, time.UTC)))
		default:
			t.Fatalf("field %s: teach this test (and the codec) its kind %s", name, f.Kind())
		}
	}
	var c messageCodec
	raw, _ := c.Append(nil, &m)
	var got Message
	if err := c.Decode(raw, &got); err != nil {
		t.Fatal(err)
	}
	got.Offset = m.Offset // the offset is the document id, not stored
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("lost in the binary form:\ngot  %+v\nwant %+v", got, m)
	}
}
