package db

import (
	"slices"
	"sort"
)

// CountIndex returns how many documents have indexed fields equal to values
// with an id after after and before before ("" = no bound), from the index
// alone (no document is read, except to confirm the one candidate of a unique
// index of a sequenced collection): O(log n) in the index entry's length.
// In a sequenced collection the bounds must be ids made by SeqID.
func (c *Collection[T]) CountIndex(index string, values []string, after, before string) (int, error) {
	ix, k, err := c.queryKey(index, values)
	if err != nil {
		return 0, err
	}
	if ix.seq {
		lo, hi, err := seqBounds(Query{After: after, Before: before})
		if err != nil {
			return 0, err
		}
		if ix.Unique {
			id, ok := c.LastID(index, values...)
			n, _ := parseSeqID(id)
			if ok && n > lo && n < hi {
				return 1, nil
			}
			return 0, nil
		}
		c.d.imu.RLock()
		defer c.d.imu.RUnlock()
		p := ix.nmulti[string(k)]
		if p == nil {
			return 0, nil
		}
		all := *p
		from, _ := slices.BinarySearch(all, lo+1)
		if lo == ^uint64(0) {
			from = len(all)
		}
		to, _ := slices.BinarySearch(all, hi)
		return max(0, to-from), nil
	}
	c.d.imu.RLock()
	defer c.d.imu.RUnlock()
	if ix.Unique {
		if id, ok := ix.uniq[string(k)]; ok && (after == "" || id > after) && (before == "" || id < before) {
			return 1, nil
		}
		return 0, nil
	}
	p := ix.multi[string(k)]
	if p == nil {
		return 0, nil
	}
	all := *p
	lo, hi := 0, len(all)
	if after != "" {
		lo = sort.Search(len(all), func(i int) bool { return all[i] > after })
	}
	if before != "" {
		hi = sort.SearchStrings(all, before)
	}
	return max(0, hi-lo), nil
}
