package db

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"
)

type pair struct {
	K string `json:"k"`
	G string `json:"g"`
}

func pairSchema() Schema[pair] {
	return Schema[pair]{
		Name:    "pairs",
		ID:      func(p *pair) string { return p.K },
		Indices: []Index{{Name: "g", Fields: []string{"g"}}},
	}
}

// TestWalkLetsFnUseTheStore walks more than one chunk of each kind of
// collection (by id, by index, sequenced, packed) while fn reads the walked
// collection and commits a write to another one: the write must finish while
// fn is still running. Under a held read lock it would wait for the walk to
// end (and a read nested in it could wait forever behind that writer).
func TestWalkLetsFnUseTheStore(t *testing.T) {
	const n = 2*walkChunk + 37
	d, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	notes, err := NewCollection(d, noteSchema())
	if err != nil {
		t.Fatal(err)
	}
	packed, err := NewCollection(d, func() Schema[note] { s := packedNoteSchema(); s.Name = "packed"; return s }())
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := NewCollection(d, pairSchema())
	if err != nil {
		t.Fatal(err)
	}
	side, err := NewCollection(d, func() Schema[pair] { s := pairSchema(); s.Name = "side"; return s }())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var noteIDs, pairIDs []string
	var noteA, pairA []string // ids whose "who"/"g" is "a"
	for i := range n {
		g := []string{"a", "b"}[i%3/2]
		for _, c := range []*Collection[note]{notes, packed} {
			if _, err := c.Insert(ctx, note{Who: g, Ref: strconv.Itoa(i), Body: "body " + strconv.Itoa(i)}); err != nil {
				t.Fatal(err)
			}
		}
		noteIDs = append(noteIDs, SeqID(uint64(i+1)))
		k := "k" + strconv.Itoa(100000+i*7%n)
		if _, err := pairs.Insert(ctx, pair{K: k, G: g}); err != nil {
			t.Fatal(err)
		}
		pairIDs = append(pairIDs, k)
		if g == "a" {
			noteA = append(noteA, SeqID(uint64(i+1)))
			pairA = append(pairA, k)
		}
	}
	settle(t, packed)
	if blocks, _ := records(packed); blocks == 0 {
		t.Fatal("the packed collection holds no blocks")
	}
	slices.Sort(pairIDs)
	slices.Sort(pairA)

	// useStore reads c and commits to side; it reports false when the commit
	// did not finish within 10 s while fn was running.
	writes := 0
	useStore := func(get func() error) bool {
		if err := get(); err != nil {
			t.Errorf("read inside fn: %v", err)
		}
		writes++
		done := make(chan error, 1)
		go func() {
			_, err := side.Insert(ctx, pair{K: "w" + strconv.Itoa(writes)})
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("write inside fn: %v", err)
			}
			return true
		case <-time.After(10 * time.Second):
			t.Error("a write from fn waited for the walk: fn runs under the read lock")
			return false
		}
	}
	rev := func(s []string) []string { s = slices.Clone(s); slices.Reverse(s); return s }
	cases := []struct {
		name string
		q    Query
		want func(all, a []string) []string
	}{
		{"all", Query{}, func(all, _ []string) []string { return all }},
		{"all reverse", Query{Reverse: true}, func(all, _ []string) []string { return rev(all) }},
		{"all limited", Query{Limit: walkChunk + 1}, func(all, _ []string) []string { return all[:walkChunk+1] }},
		{"reverse limited", Query{Reverse: true, Limit: walkChunk + 3}, func(all, _ []string) []string { return rev(all)[:walkChunk+3] }},
		{"index", Query{Index: "who", Values: []string{"a"}}, func(_, a []string) []string { return a }},
		{"index reverse", Query{Index: "who", Values: []string{"a"}, Reverse: true}, func(_, a []string) []string { return rev(a) }},
		{"after and before", Query{After: "#5", Before: "#-6"}, func(all, _ []string) []string { return all[5 : len(all)-6] }},
	}
	for _, tc := range cases {
		for _, kind := range []string{"notes", "packed", "pairs"} {
			ok := t.Run(tc.name+"/"+kind, func(t *testing.T) {
				q := tc.q
				all, a := noteIDs, noteA
				if kind == "pairs" {
					all, a = pairIDs, pairA
					if q.Index != "" {
						q.Index = "g"
					}
				}
				// "#i" and "#-i" stand for the ids at i from either end.
				at := func(s string) string {
					if s == "" || s[0] != '#' {
						return s
					}
					i, _ := strconv.Atoi(s[1:])
					if i < 0 {
						return all[len(all)+i]
					}
					return all[i-1]
				}
				q.After, q.Before = at(q.After), at(q.Before)
				var got []string
				walk := func(id string, get func() error) bool {
					got = append(got, id)
					return len(got)%walkChunk != 1 || useStore(get)
				}
				var err error
				switch kind {
				case "pairs":
					err = pairs.Walk(q, func(p pair) bool { return walk(p.K, func() error { _, err := pairs.Get(p.K); return err }) })
				default:
					c := map[string]*Collection[note]{"notes": notes, "packed": packed}[kind]
					err = c.Walk(q, func(m note) bool {
						return walk(SeqID(m.N), func() error { _, err := c.Get(SeqID(m.N)); return err })
					})
				}
				if err != nil {
					t.Fatal(err)
				}
				if want := tc.want(all, a); !slices.Equal(got, want) {
					t.Fatalf("walked %d ids, want %d (first %v, want %v)", len(got), len(want), head(got), head(want))
				}
			})
			if !ok {
				return // one failure tells; each further one waits 10 s
			}
		}
	}
}

func head(s []string) []string { return s[:min(3, len(s))] }
