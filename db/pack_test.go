package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/buntdb"
)

// packedNoteSchema is noteSchema with its documents packed into small blocks.
func packedNoteSchema() Schema[note] {
	s := noteSchema()
	s.PackBytes = 512
	return s
}

func openPacked(t testing.TB, dir string) (*DB, *Collection[note]) {
	t.Helper()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCollection(d, packedNoteSchema())
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	return d, c
}

// settle runs the packing steps until there is nothing left to pack.
func settle(t testing.TB, c *Collection[note]) {
	t.Helper()
	if err := c.foldAll(); err != nil {
		t.Fatal(err)
	}
}

// records counts the stored records of c: blocks and single records.
func records(c *Collection[note]) (blocks, loose int) {
	c.d.bdb.View(func(tx *buntdb.Tx) error {
		return tx.AscendKeys("*", func(k, _ string) bool {
			switch {
			case strings.HasPrefix(k, c.bprefix) && c.bprefix != "":
				blocks++
			case strings.HasPrefix(k, c.prefix):
				loose++
			}
			return true
		})
	})
	return blocks, loose
}

// TestHashIDs checks the unique-index table against a map, with hashes drawn
// from a small range so that many keys share one, across growth and removal.
func TestHashIDs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hashes uint32
		wide   bool
	}{
		{"spread", 1 << 31, false},
		{"crowded", 40, false},
		{"ids above 2^32", 1000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var tab hashIDs
			ref := map[uint64]uint32{} // id -> hash
			check := func() {
				t.Helper()
				if tab.n != len(ref) {
					t.Fatalf("table holds %d, want %d", tab.n, len(ref))
				}
				for id, h := range ref {
					found := false
					tab.find(h, func(got uint64) bool { found = got == id; return !found })
					if !found {
						t.Fatalf("id %d under hash %d not found", id, h)
					}
				}
				for i := 1; i < len(tab.h); i++ {
					if tab.h[i] != 0 && tab.h[i-1] != 0 && tab.h[i] < tab.h[i-1] {
						t.Fatalf("run not sorted at %d", i)
					}
				}
			}
			for round := 0; round < 4; round++ {
				for i := 0; i < 3000; i++ {
					id := rng.Uint64N(1 << 20)
					if tc.wide && i%3 == 0 {
						id += 1 << 33
					}
					h := uint32(rng.Uint32N(tc.hashes)) + 1
					if _, ok := ref[id]; ok {
						continue
					}
					ref[id] = h
					tab.insert(h, id)
				}
				check()
				n := 0
				for id, h := range ref {
					if n++; n%2 == 0 {
						tab.remove(h, id)
						delete(ref, id)
					}
				}
				tab.remove(12345, 1<<40) // absent: no effect
				check()
			}
			// The bulk build of load gives the same answers and reports shared hashes.
			var pairs []uint64
			for id, h := range ref {
				if id>>32 == 0 {
					pairs = append(pairs, uint64(h)<<32|id)
				}
			}
			var built hashIDs
			shared := 0
			built.build(pairs, func(a, b uint64) bool { shared++; return true })
			for _, p := range pairs {
				found := false
				built.find(uint32(p>>32), func(got uint64) bool { found = got == uint64(uint32(p)); return !found })
				if !found {
					t.Fatalf("built table lost id %d", uint32(p))
				}
			}
			if tc.hashes < 100 && shared == 0 {
				t.Fatal("crowded hashes but no shared hash reported")
			}
		})
	}
}

// TestPackedMatchesUnpacked runs the same writes on a packed and an unpacked
// collection, then the same queries, before and after packing and reopening:
// packing changes where documents live, never what a query returns.
func TestPackedMatchesUnpacked(t *testing.T) {
	ctx := context.Background()
	dirs := [2]string{t.TempDir(), t.TempDir()}
	var ds [2]*DB
	var cs [2]*Collection[note]
	ds[0], cs[0] = openNotes(t, dirs[0], Options{})
	ds[1], cs[1] = openPacked(t, dirs[1])
	write := func(f func(c *Collection[note]) error) {
		t.Helper()
		var errs [2]error
		for i, c := range cs {
			errs[i] = f(c)
		}
		if (errs[0] == nil) != (errs[1] == nil) || (errs[0] != nil && !errors.Is(errs[1], ErrDuplicate) && !errors.Is(errs[1], ErrNotFound)) {
			t.Fatalf("unpacked: %v, packed: %v", errs[0], errs[1])
		}
	}
	for i := 0; i < 400; i++ {
		write(func(c *Collection[note]) error {
			_, err := c.Insert(ctx, note{Who: fmt.Sprint("w", i%7), Ref: fmt.Sprint(i), Body: strings.Repeat("é", i%13)})
			return err
		})
	}
	// A duplicate, updates and removals of documents that are packed by now
	// (first of a block, middle, last) and of recent single ones.
	write(func(c *Collection[note]) error { _, err := c.Insert(ctx, note{Who: "w3", Ref: "3"}); return err })
	settle(t, cs[1])
	for _, n := range []uint64{1, 2, 50, 51, 200, 399} {
		write(func(c *Collection[note]) error {
			doc, err := c.Get(SeqID(n))
			if err != nil {
				return err
			}
			doc.Who, doc.Body = "moved", "updated"
			return c.Update(ctx, doc)
		})
	}
	for _, n := range []uint64{3, 4, 5, 100, 398, 400, 9999} {
		write(func(c *Collection[note]) error { return c.Remove(ctx, SeqID(n)) })
	}
	write(func(c *Collection[note]) error { _, err := c.Insert(ctx, note{Who: "w0", Ref: "3"}); return err })
	queries := []Query{
		{}, {Reverse: true}, {Limit: 7}, {Limit: 7, Reverse: true},
		{After: SeqID(0)}, {After: SeqID(37), Before: SeqID(300)}, {After: SeqID(37), Before: SeqID(300), Limit: 25, Reverse: true},
		{After: SeqID(398)}, {Before: SeqID(2)}, {Before: SeqID(0)}, {After: SeqID(5000)},
		{Index: "who", Values: []string{"w3"}}, {Index: "who", Values: []string{"moved"}, Reverse: true, Limit: 2},
		{Index: "who", Values: []string{"w1"}, After: SeqID(100), Before: SeqID(350), Limit: 4},
		{Index: "ref", Values: []string{"w2", "9"}}, {Index: "ref", Values: []string{"w0", "3"}}, {Index: "who", Values: []string{"nobody"}},
	}
	compare := func(stage string) {
		t.Helper()
		for _, q := range queries {
			a, errA := cs[0].Find(q)
			b, errB := cs[1].Find(q)
			if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: query %+v:\nunpacked %v %v\npacked   %v %v", stage, q, a, errA, b, errB)
			}
		}
		for _, v := range [][]string{{"w2", "9"}, {"w0", "3"}, {"w3", "3"}, {"w1", "1"}, {"moved", "50"}} {
			a, errA := cs[0].FindOne("ref", v...)
			b, errB := cs[1].FindOne("ref", v...)
			if (errA == nil) != (errB == nil) || a != b {
				t.Fatalf("%s: FindOne %v: %v %v / %v %v", stage, v, a, errA, b, errB)
			}
		}
		for n := uint64(0); n <= 402; n++ {
			a, errA := cs[0].Get(SeqID(n))
			b, errB := cs[1].Get(SeqID(n))
			if (errA == nil) != (errB == nil) || a != b || cs[0].Has(SeqID(n)) != cs[1].Has(SeqID(n)) {
				t.Fatalf("%s: Get %d: %v %v / %v %v", stage, n, a, errA, b, errB)
			}
		}
		if id0, ok0 := cs[0].LastID("who", "w4"); true {
			id1, ok1 := cs[1].LastID("who", "w4")
			if id0 != id1 || ok0 != ok1 {
				t.Fatalf("%s: LastID %s %v / %s %v", stage, id0, ok0, id1, ok1)
			}
		}
		if cs[0].Count() != cs[1].Count() || cs[0].Seq() != cs[1].Seq() {
			t.Fatalf("%s: count %d/%d seq %d/%d", stage, cs[0].Count(), cs[1].Count(), cs[0].Seq(), cs[1].Seq())
		}
	}
	compare("written")
	settle(t, cs[1])
	compare("packed")
	if blocks, loose := records(cs[1]); blocks < 20 || loose > 20 {
		t.Fatalf("%d blocks and %d single records after packing", blocks, loose)
	}
	for i := range ds {
		ds[i].Close()
	}
	ds[0], cs[0] = openNotes(t, dirs[0], Options{})
	ds[1], cs[1] = openPacked(t, dirs[1])
	defer ds[0].Close()
	defer ds[1].Close()
	compare("reopened")
}

// copyStore copies a store's data file to a new directory, as a crash at
// that moment would leave it.
func copyStore(t *testing.T, d *DB) string {
	t.Helper()
	b, err := os.ReadFile(d.Path())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "chatd.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPackingInterrupted opens the files a crash leaves at each point of a
// packing step: block written but single copies not yet deleted, and block
// torn. Every document is there once, and the next steps finish the job.
func TestPackingInterrupted(t *testing.T) {
	ctx := context.Background()
	d, c := openPacked(t, t.TempDir())
	defer d.Close()
	c.stopWork() // no background packing: the test runs each step
	for i := 0; i < 60; i++ {
		if _, err := c.Insert(ctx, note{Who: "w", Ref: fmt.Sprint(i), Body: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	step := func() {
		t.Helper()
		if err := d.exec(ctx, func(b *batch) error { _, err := c.fold(b); return err }); err != nil {
			t.Fatal(err)
		}
	}
	step() // writes the first block; its documents are now stored twice
	before, _ := os.ReadFile(d.Path())
	shadowed := copyStore(t, d)
	step() // deletes the copies, writes the next block
	for _, tc := range []struct {
		name string
		dir  func() string
	}{
		{"block written, copies kept", func() string { return shadowed }},
		{"block torn", func() string {
			dir := t.TempDir()
			// The last record of the shadowed file is the block: cut it in half.
			cut := bytes.LastIndex(before, []byte("*3\r\n$3\r\nset\r\n$"+fmt.Sprint(len(c.bprefix)+20)))
			if cut < 0 {
				t.Fatal("no block record in the file")
			}
			os.WriteFile(filepath.Join(dir, "chatd.db"), before[:cut+60], 0o600)
			return dir
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d2, c2 := openPacked(t, tc.dir())
			defer d2.Close()
			check := func() {
				t.Helper()
				all, err := c2.Find(Query{})
				if err != nil || len(all) != 60 || c2.Count() != 60 {
					t.Fatalf("%d documents (count %d), %v", len(all), c2.Count(), err)
				}
				for i, doc := range all {
					if doc.N != uint64(i+1) {
						t.Fatalf("document %d is %d", i+1, doc.N)
					}
				}
				back, _ := c2.Find(Query{Reverse: true, Limit: 60})
				if len(back) != 60 || back[0].N != 60 || back[59].N != 1 {
					t.Fatalf("reverse walk: %d documents", len(back))
				}
				if _, err := c2.FindOne("ref", "w", "7"); err != nil {
					t.Fatal(err)
				}
			}
			check()
			settle(t, c2)
			check()
			if _, loose := records(c2); loose >= 60 {
				t.Fatalf("%d single records left after packing", loose)
			}
		})
	}
}

// TestPackedBlockDamageIsCaught flips one byte in each part of a stored block:
// the record's CRC covers the whole block, so the file check refuses it.
func TestPackedBlockDamageIsCaught(t *testing.T) {
	dir := t.TempDir()
	d, c := openPacked(t, dir)
	fill(t, c, 200)
	settle(t, c)
	d.Close()
	orig, _ := os.ReadFile(filepath.Join(dir, "chatd.db"))
	at := bytes.Index(orig, []byte(blockPrefix))
	if at < 0 {
		t.Fatal("no block in the file")
	}
	valStart := at + bytes.Index(orig[at:], []byte("\r\n$")) + 3
	valStart += bytes.Index(orig[valStart:], []byte("\r\n")) + 2
	for _, off := range []int{0, crcLen, crcLen + 1, crcLen + 5, 200} {
		bad := slices.Clone(orig)
		bad[valStart+off] ^= 0x01
		os.WriteFile(filepath.Join(dir, "chatd.db"), bad, 0o600)
		if d, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
			if err == nil {
				d.Close()
			}
			t.Fatalf("byte %d of a block flipped: %v", off, err)
		}
	}
}

func TestKill9WhilePacking(t *testing.T) {
	dir := t.TempDir()
	acked, lines := runChild(t, "pack", dir, "never", 5000)
	if len(acked) < 5000 {
		t.Fatalf("child acked %d writes; output %q", len(acked), lines)
	}
	d, c := openPacked(t, dir)
	defer d.Close()
	for _, n := range acked {
		if _, err := c.Get(SeqID(n)); err != nil {
			t.Fatalf("acknowledged note %d lost after kill -9: %v", n, err)
		}
	}
	all, err := c.Find(Query{})
	if err != nil || len(all) != c.Count() {
		t.Fatalf("walk %d, count %d: %v", len(all), c.Count(), err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].N <= all[i-1].N {
			t.Fatalf("walk out of order or repeated at %d: %d after %d", i, all[i].N, all[i-1].N)
		}
	}
	if blocks, _ := records(c); blocks == 0 {
		t.Fatal("nothing was packed")
	}
}

// TestPackedFileReadWithoutPacking opens a packed collection with a schema
// that does not pack: every document is still there, and new ones are added.
func TestPackedFileReadWithoutPacking(t *testing.T) {
	dir := t.TempDir()
	d, c := openPacked(t, dir)
	fill(t, c, 300)
	settle(t, c)
	d.Close()
	d, c = openNotes(t, dir, Options{})
	defer d.Close()
	for i := 0; i < 10; i++ {
		if _, err := c.Insert(context.Background(), note{Who: "new", Ref: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := c.Find(Query{})
	if err != nil || len(all) != 310 || c.Count() != 310 {
		t.Fatalf("%d documents (count %d): %v", len(all), c.Count(), err)
	}
	if got, err := c.FindOne("ref", "w1", "100"); err != nil || got.N != 101 {
		t.Fatalf("packed document by unique key: %+v %v", got, err)
	}
	if blocks, _ := records(c); blocks == 0 {
		t.Fatal("the blocks are gone")
	}
}

// TestPackingWhileReading reads while writers insert and the packing steps
// move documents into blocks: every read sees ids 1..n without a gap or a
// repeat (a commit's documents appear together), whichever copy it reads.
func TestPackingWhileReading(t *testing.T) {
	ctx := context.Background()
	d, c := openPacked(t, t.TempDir())
	defer d.Close()
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w := 0; w < 4; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Insert(ctx, note{Who: fmt.Sprint("w", w), Ref: fmt.Sprint(i), Body: strings.Repeat("b", i%40)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(3 * time.Second)
	reads := 0
	for time.Now().Before(deadline) || reads < 20 {
		all, err := c.Find(Query{})
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range all {
			if doc.N != uint64(i+1) {
				t.Fatalf("read %d: document %d of %d is %d", reads, i+1, len(all), doc.N)
			}
		}
		back, err := c.Find(Query{Reverse: true, Limit: 100, Before: SeqID(uint64(len(all) + 1))})
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range back {
			if doc.N != uint64(len(all)-i) {
				t.Fatalf("reverse read: %d at %d, want %d", doc.N, i, len(all)-i)
			}
		}
		mine, err := c.Find(Query{Index: "who", Values: []string{"w1"}})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(mine); i++ {
			if mine[i].N <= mine[i-1].N || mine[i].Who != "w1" {
				t.Fatalf("index read out of order at %d", i)
			}
		}
		reads++
	}
	close(stop)
	writers.Wait()
	settle(t, c)
	if blocks, _ := records(c); blocks < 10 {
		t.Fatalf("only %d blocks after %d documents", blocks, c.Count())
	}
}

// TestScanSeqReadsBlocks: after a compaction, ids that live only in blocks
// still count for the highest sequence number a restore must stay above,
// also when the sequence record itself is unreadable.
func TestScanSeqReadsBlocks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, c := openPacked(t, dir)
	fill(t, c, 300)
	settle(t, c)
	var last uint64
	d.bdb.View(func(tx *buntdb.Tx) error { last = c.lastPacked(tx); return nil })
	for n := last + 1; n <= 300; n++ { // only packed documents remain
		if err := c.Remove(ctx, SeqID(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Shrink(); err != nil {
		t.Fatal(err)
	}
	d.Close()
	path := filepath.Join(dir, "chatd.db")
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte("\r\nnotes:0")) || last == 0 {
		t.Fatalf("expected a file of blocks only (last packed %d)", last)
	}
	at := bytes.Index(b, []byte(metaPrefix+"seq:notes"))
	clear(b[at : at+60]) // the reservation record is gone
	os.WriteFile(path, b, 0o600)
	rep, err := ScanSeq(path, "notes")
	if err != nil || rep.MaxID != last || rep.Reserved != 0 || rep.Damaged != 1 {
		t.Fatalf("report %+v (%v), want max id %d from the blocks", rep, err, last)
	}
}
