package db

import "sort"

// CountIndex returns how many documents have indexed fields equal to values
// with an id after after and before before ("" = no bound), from the index
// alone (no document is read): O(log n) in the index entry's length.
func (c *Collection[T]) CountIndex(index string, values []string, after, before string) (int, error) {
	ix, k, err := c.index(index, values)
	if err != nil {
		return 0, err
	}
	c.d.imu.RLock()
	defer c.d.imu.RUnlock()
	if ix.Unique {
		if id, ok := ix.uniq[k]; ok && (after == "" || id > after) && (before == "" || id < before) {
			return 1, nil
		}
		return 0, nil
	}
	p := ix.multi[k]
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
