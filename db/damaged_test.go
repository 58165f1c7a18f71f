package db

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDamagedDocumentIsSkipped: a record that is whole (its CRC matches) but
// does not hold a document of its collection (valid JSON of the wrong shape,
// not JSON, another id than its key: a hand-edited file or another program)
// does not stop Open and does not break any walk: walks skip it, Get
// and Modify of it answer ErrDamaged (FindOne too, or ErrNotFound when its
// index key cannot be read out of it) naming its key, it is logged
// once and counted, and it stays in the file as it was, also through a
// compaction.
func TestDamagedDocumentIsSkipped(t *testing.T) {
	type coll struct {
		name string
		open func(d *DB) (walk func() ([]string, error), get func(id string) error, find func() error, modify func(id string) error)
		key  string // key of the second of three documents
	}
	pairs := coll{"plain", func(d *DB) (func() ([]string, error), func(string) error, func() error, func(string) error) {
		c, err := NewCollection(d, pairSchema())
		if err != nil {
			t.Fatal(err)
		}
		if c.Count() == 0 {
			for _, k := range []string{"a", "b", "c"} {
				if _, err := c.Insert(context.Background(), pair{K: k, G: "g" + k}); err != nil {
					t.Fatal(err)
				}
			}
		}
		return func() ([]string, error) {
				var ids []string
				err := c.Walk(Query{}, func(p pair) bool { ids = append(ids, p.K); return true })
				if err != nil {
					return ids, err
				}
				err = c.Walk(Query{Index: "g", Values: []string{"ga"}}, func(p pair) bool { ids = append(ids, "g:"+p.K); return true })
				return ids, err
			}, func(id string) error { _, err := c.Get(id); return err },
			func() error { _, err := c.FindOne("g", "gb"); return err },
			func(id string) error {
				_, err := c.Modify(context.Background(), id, func(p *pair, _ bool) error { p.G = "changed"; return nil })
				return err
			}
	}, "pairs:b"}
	seq := func(name string, packed bool) coll {
		return coll{name, func(d *DB) (func() ([]string, error), func(string) error, func() error, func(string) error) {
			s := noteSchema()
			if packed {
				s = packedNoteSchema()
			}
			c, err := NewCollection(d, s)
			if err != nil {
				t.Fatal(err)
			}
			if c.Count() == 0 {
				for _, w := range []string{"a", "b", "c"} {
					if _, err := c.Insert(context.Background(), note{Who: w, Ref: w, Body: "hello"}); err != nil {
						t.Fatal(err)
					}
				}
			}
			return func() ([]string, error) {
					var ids []string
					err := c.Walk(Query{}, func(n note) bool { ids = append(ids, n.Who); return true })
					if err != nil {
						return ids, err
					}
					err = c.Walk(Query{Reverse: true}, func(n note) bool { ids = append(ids, "r:"+n.Who); return true })
					if err != nil {
						return ids, err
					}
					err = c.Walk(Query{Index: "who", Values: []string{"a"}}, func(n note) bool { ids = append(ids, "who:"+n.Who); return true })
					return ids, err
				}, func(id string) error { _, err := c.Get(id); return err },
				func() error { _, err := c.FindOne("ref", "b", "b"); return err },
				func(id string) error {
					_, err := c.Modify(context.Background(), id, func(n *note, _ bool) error { n.Body = "changed"; return nil })
					return err
				}
		}, "notes:" + SeqID(2)}
	}
	shapes := []struct {
		name, val string
		seqOK     bool // a sequenced document's id comes from its key: this one is fine there
	}{
		{"number for a string", `{"k":5,"n":5,"who":5,"ref":"b"}`, false},
		{"array", `[]`, false},
		{"null", `null`, true},
		{"string", `"b"`, false},
		{"number", `7`, false},
		{"object for a string", `{"k":"b","g":{"x":1},"who":{"x":1},"ref":"b"}`, false},
		{"another id", `{"k":"zz","g":"gb","who":"b","ref":"b"}`, true},
		{"no id", `{"g":"gb"}`, true},
		{"cut JSON", `{"k":"b","g":"gb","who":"b"`, false},
		{"not JSON", `k=b`, false},
		{"empty", ``, false},
	}
	for _, cl := range []coll{pairs, seq("sequenced", false), seq("packed", true)} {
		for _, sh := range shapes {
			seqColl := cl.name != "plain"
			if seqColl && sh.seqOK {
				continue
			}
			t.Run(cl.name+"/"+sh.name, func(t *testing.T) {
				dir := t.TempDir()
				d, err := Open(dir, Options{})
				if err != nil {
					t.Fatal(err)
				}
				cl.open(d)
				d.Close()
				path := filepath.Join(dir, "chatd.db")
				f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				rec := appendSet(nil, cl.key, wrapValue(cl.key, sh.val))
				if _, err := f.Write(rec); err != nil {
					t.Fatal(err)
				}
				f.Close()

				var log bytes.Buffer
				d, err = Open(dir, Options{Logger: logTo(&log)})
				if err != nil {
					t.Fatalf("open refused a file with one damaged document: %v", err)
				}
				walk, get, find, modify := cl.open(d)
				want := "a,c,g:a"
				if seqColl {
					want = "a,c,r:c,r:a,who:a"
				}
				for i := 0; i < 2; i++ { // met twice, logged once
					ids, err := walk()
					if err != nil || strings.Join(ids, ",") != want {
						t.Fatalf("walks gave %v, %v; want %s and no error", ids, err, want)
					}
				}
				id := strings.TrimPrefix(strings.TrimPrefix(cl.key, "pairs:"), "notes:")
				// By its index the document is found only if its key can be
				// read out of it; then it is ErrDamaged too.
				if err := find(); !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrNotFound) {
					t.Errorf("find by the damaged document's index key: %v, want ErrDamaged or ErrNotFound", err)
				}
				for what, err := range map[string]error{"get": get(id), "modify": modify(id)} {
					if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), cl.key) {
						t.Errorf("%s of the damaged document: %v, want ErrDamaged naming %s", what, err, cl.key)
					}
				}
				if got := d.Stats().Damaged; got != 1 {
					t.Errorf("Stats.Damaged %d, want 1", got)
				}
				if n := strings.Count(log.String(), cl.key); n != 1 {
					t.Errorf("the damaged key is named in %d log lines, want 1:\n%s", n, log.String())
				}
				if err := d.Shrink(); err != nil {
					t.Fatal(err)
				}
				d.Close()
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(b, []byte(wrapValue(cl.key, sh.val)+"\r\n")) {
					t.Errorf("the damaged record is no longer in the file after a compaction")
				}
			})
		}
	}
}
