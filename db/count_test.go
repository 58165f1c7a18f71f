package db

import (
	"context"
	"fmt"
	"testing"
)

// TestCountIndex compares CountIndex with counting what Find returns, for a
// sequenced collection packed into blocks (its compact indices: numbers per
// key, and the unique index's hash table) over every pair of bounds.
func TestCountIndex(t *testing.T) {
	d, c := openPacked(t, t.TempDir())
	defer d.Close()
	ctx := context.Background()
	for i := 0; i < 120; i++ {
		who := []string{"ann", "bob", "cy"}[i%3]
		if i%7 == 0 {
			who = "ann"
		}
		if _, err := c.Insert(ctx, note{Who: who, Ref: fmt.Sprint("r", i), Body: "some text to fill blocks"}); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, c) // most in blocks, the newest single
	if blocks, _ := records(c); blocks == 0 {
		t.Fatal("nothing packed")
	}
	bounds := []string{"", SeqID(1), SeqID(2), SeqID(40), SeqID(41), SeqID(119), SeqID(120), SeqID(121), SeqID(1000)}
	for _, who := range []string{"ann", "bob", "cy", "nobody"} {
		for _, after := range bounds {
			for _, before := range bounds {
				q := Query{Index: "who", Values: []string{who}, After: after, Before: before}
				docs, err := c.Find(q)
				if err != nil {
					t.Fatal(err)
				}
				n, err := c.CountIndex("who", []string{who}, after, before)
				if err != nil || n != len(docs) {
					t.Fatalf("%s after %q before %q: CountIndex %d (%v), Find %d", who, after, before, n, err, len(docs))
				}
			}
		}
	}
	for _, tc := range []struct {
		who, ref, after, before string
		want                    int
	}{
		{"bob", "r1", "", "", 1},
		{"bob", "r1", SeqID(2), "", 0},
		{"bob", "r1", "", SeqID(2), 0},
		{"bob", "r1", SeqID(1), SeqID(3), 1},
		{"ann", "r1", "", "", 0},
	} {
		if n, err := c.CountIndex("ref", []string{tc.who, tc.ref}, tc.after, tc.before); err != nil || n != tc.want {
			t.Errorf("ref %s/%s after %q before %q: %d (%v), want %d", tc.who, tc.ref, tc.after, tc.before, n, err, tc.want)
		}
	}
	if _, err := c.CountIndex("who", []string{"ann"}, "not-a-seq-id", ""); err == nil {
		t.Error("a bound that is not a sequence id was taken")
	}
	if _, err := c.CountIndex("nope", []string{"ann"}, "", ""); err == nil {
		t.Error("an unknown index was taken")
	}
}
