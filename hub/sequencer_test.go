package hub

import (
	"slices"
	"testing"
)

func TestSequencerReleasesInOffsetOrder(t *testing.T) {
	type op struct {
		begin  int    // take this many tickets (numbered from 1 across the case)
		finish int    // finish this ticket...
		offset uint64 // ...with this offset (0 = the store call failed)
		want   []uint64
	}
	cases := []struct {
		name string
		ops  []op
	}{
		{"in order", []op{
			{begin: 1}, {finish: 1, offset: 10, want: []uint64{10}},
			{begin: 1}, {finish: 2, offset: 11, want: []uint64{11}},
		}},
		{"later finishes wait for an earlier call in flight", []op{
			{begin: 3},
			{finish: 2, offset: 11}, {finish: 3, offset: 12},
			{finish: 1, offset: 10, want: []uint64{10, 11, 12}},
		}},
		{"a failed call releases the others", []op{
			{begin: 2}, {finish: 2, offset: 7}, {finish: 1, want: []uint64{7}},
		}},
		{"a call started after a result does not hold it", []op{
			{begin: 2}, {finish: 2, offset: 8},
			{begin: 1}, // ticket 3 starts after 8 was stored: it cannot be below 8
			{finish: 1, offset: 6, want: []uint64{6, 8}}, // 3 is still in flight, yet 6 and 8 go
			{finish: 3, offset: 9, want: []uint64{9}},
		}},
		{"smallest first when results arrive reversed", []op{
			{begin: 4},
			{finish: 4, offset: 4}, {finish: 3, offset: 3}, {finish: 2, offset: 2},
			{finish: 1, offset: 1, want: []uint64{1, 2, 3, 4}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []uint64
			q := newSequencer(0, func(r release) { got = append(got, r.offset) })
			tickets := []uint64{0}
			for i, o := range c.ops {
				got = nil
				for range o.begin {
					tickets = append(tickets, q.begin())
				}
				if o.finish > 0 {
					q.finish(tickets[o.finish], release{offset: o.offset}, o.offset != 0)
				}
				if !slices.Equal(got, o.want) {
					t.Fatalf("op %d: released %v, want %v", i, got, o.want)
				}
			}
			if len(q.held) != 0 || len(q.inflight) != 0 || len(q.done) != 0 {
				t.Fatalf("left over: held %d inflight %d done %d", len(q.held), len(q.inflight), len(q.done))
			}
		})
	}
}
