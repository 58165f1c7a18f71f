package db

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/tidwall/buntdb"
)

// seqBounds reads a query's After and Before as sequence numbers: the walk
// takes ids strictly between lo and hi.
func seqBounds(q Query) (lo, hi uint64, err error) {
	lo, hi = 0, math.MaxUint64
	if q.After != "" {
		var ok bool
		if lo, ok = parseSeqID(q.After); !ok {
			return 0, 0, fmt.Errorf("query after %q: not an id made by SeqID", q.After)
		}
	}
	if q.Before != "" {
		var ok bool
		if hi, ok = parseSeqID(q.Before); !ok {
			return 0, 0, fmt.Errorf("query before %q: not an id made by SeqID", q.Before)
		}
	}
	return lo, hi, nil
}

// blockReader reads documents by number, remembering the last block it used
// (a visitor's messages often share blocks).
type blockReader struct {
	first, last uint64
	val         []byte
}

func (r *blockReader) get(c interface {
	blockAt(*buntdb.Tx, uint64) (uint64, []byte, bool)
	getRaw(*buntdb.Tx, uint64) ([]byte, bool, error)
}, tx *buntdb.Tx, n uint64) ([]byte, bool, error) {
	if r.val != nil && n >= r.first && n <= r.last {
		if raw, ok := findInBlock(r.first, r.val, n); ok {
			return raw, true, nil
		}
	} else if first, val, ok := c.blockAt(tx, n); ok {
		r.first, r.last, r.val = first, blockLast(first, val), val
		if raw, ok := findInBlock(first, val, n); ok {
			return raw, true, nil
		}
	}
	return c.getRaw(tx, n)
}

// walkSeqIndex is walkIndex for a sequenced collection.
func (c *Collection[T]) walkSeqIndex(ix *index, k []byte, q Query, fn func(T) bool) (int, error) {
	lo, hi, err := seqBounds(q)
	if err != nil {
		return 0, err
	}
	var ids []uint64
	c.d.imu.RLock()
	if ix.Unique {
		ix.nuniq.find(ix.hash(k), func(n uint64) bool {
			if n > lo && n < hi {
				ids = append(ids, n)
			}
			return true
		})
		slices.Sort(ids)
		if q.Reverse {
			slices.Reverse(ids)
		}
	} else if p := ix.nmulti[string(k)]; p != nil {
		all := *p
		a := sort.Search(len(all), func(i int) bool { return all[i] > lo })
		b := sort.Search(len(all), func(i int) bool { return all[i] >= hi })
		ids = pick(all, a, b, q)
	}
	c.d.imu.RUnlock()
	seen := 0
	var derr, damaged error
	err = c.d.bdb.View(func(tx *buntdb.Tx) error {
		var r blockReader
		var keys docKeys
		pos := slices.Index(c.list, ix)
		for _, n := range ids {
			raw, ok, err := r.get(c, tx, n)
			if err != nil {
				return err
			}
			if !ok {
				continue // removed since the index was read
			}
			if ix.Unique {
				// A hash hit is a candidate: confirm its key.
				c.keysOf(&keys, raw)
				if got, ok := keys.key(pos); !ok || string(got) != string(k) {
					continue
				}
			}
			var doc T
			if derr = c.decode("", raw, n, &doc); derr != nil {
				if skipDamaged(derr, &damaged) {
					derr = nil
					continue
				}
				return nil
			}
			seen++
			if !fn(doc) || (q.Limit > 0 && seen >= q.Limit) {
				return nil
			}
		}
		return nil
	})
	if err == nil {
		err = derr
	}
	if err == nil && seen == 0 {
		err = damaged // what the index names exists, but only damaged
	}
	return seen, err
}

// walkPacked is Walk over all documents of a packed collection: the blocks,
// then the loose documents above them (forward), or the reverse.
func (c *Collection[T]) walkPacked(q Query, fn func(T) bool) error {
	lo, hi, err := seqBounds(q)
	if err != nil || hi == 0 {
		return err
	}
	emitted := 0
	var derr error
	done := false
	emit := func(n uint64, raw []byte) bool {
		var doc T
		if derr = c.decode("", raw, n, &doc); derr != nil {
			if skipDamaged(derr, new(error)) {
				derr = nil
				return true
			}
			done = true
			return false
		}
		emitted++
		if !fn(doc) || (q.Limit > 0 && emitted >= q.Limit) {
			done = true
			return false
		}
		return true
	}
	var entries []blockEntry
	// block visits the entries of one block in walk order.
	block := func(k, v string) bool {
		if !strings.HasPrefix(k, c.bprefix) {
			return false
		}
		first, ok := parseSeqID(k[len(c.bprefix):])
		val := stringBytes(unwrapValue(v))
		var perr error
		if entries, perr = parseBlock(first, val, entries[:0]); !ok || perr != nil {
			derr, done = fmt.Errorf("read block %s: %v", k, perr), true
			return false
		}
		for i := range entries {
			e := entries[i]
			if q.Reverse {
				e = entries[len(entries)-1-i]
			}
			switch {
			case e.id <= lo:
				if q.Reverse {
					done = true
					return false
				}
			case e.id >= hi:
				if !q.Reverse {
					done = true
					return false
				}
			default:
				if !emit(e.id, val[e.off:e.end]) {
					return false
				}
			}
		}
		return true
	}
	// loose visits one loose document; ids at or below floor are packed.
	loose := func(floor uint64) func(k, v string) bool {
		return func(k, v string) bool {
			if !strings.HasPrefix(k, c.prefix) {
				return false
			}
			n, ok := parseSeqID(k[len(c.prefix):])
			switch {
			case !ok:
				return true
			case n <= floor:
				return !q.Reverse
			case n >= hi:
				if !q.Reverse {
					done = true
					return false
				}
				return true
			}
			return emit(n, stringBytes(unwrapValue(v)))
		}
	}
	err = c.d.bdb.View(func(tx *buntdb.Tx) error {
		last := c.lastPacked(tx)
		floor := max(lo, last)
		if !q.Reverse {
			if lo < last {
				start := c.blockKey(lo + 1)
				if first, _, ok := c.blockAt(tx, lo+1); ok {
					start = c.blockKey(first)
				}
				if err := tx.AscendGreaterOrEqual("", start, block); err != nil || done {
					return err
				}
			}
			return tx.AscendGreaterOrEqual("", c.prefix+SeqID(floor+1), loose(floor))
		}
		pivot := c.prefix + "\xff"
		if hi != math.MaxUint64 {
			pivot = c.prefix + SeqID(hi-1)
		}
		if err := tx.DescendLessOrEqual("", pivot, loose(floor)); err != nil || done || lo >= last {
			return err
		}
		return tx.DescendLessOrEqual("", c.blockKey(min(hi-1, last)), block)
	})
	if err == nil {
		err = derr
	}
	return err
}
