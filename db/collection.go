package db

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tidwall/buntdb"
)

// Schema describes a collection of documents of type T.
type Schema[T any] struct {
	Name string
	// ID returns the document's primary key. Ids order iteration (as strings).
	ID func(*T) string
	// Seq, when set, makes the collection auto-increment: Insert calls it with
	// the next sequence number (strictly increasing, never reused, also across
	// restarts and removals) before calling ID, which must return SeqID of it.
	// Documents read back get their number through Seq too, so a Codec need
	// not store it.
	Seq     func(*T, uint64)
	Indices []Index
	// Codec encodes documents for storage; nil is JSONCodec. A different codec
	// is a different file format: switching needs a migration (Options.Migrate).
	Codec Codec[T]
	// PackBytes, for a sequenced collection, packs documents into blocks of
	// at most this many stored bytes once they are written (see pack.go): far
	// less memory and file per document, for collections that grow by
	// inserts. 0 writes one record per document (blocks already stored are
	// still read).
	PackBytes int
}

// Collection is a typed set of documents with in-memory indices.
type Collection[T any] struct {
	d        *DB
	s        Schema[T]
	codec    Codec[T]
	prefix   string // a document's record: prefix + id
	bprefix  string // packed blocks: bprefix + SeqID(first id); "" when not packed
	seqKey   string
	indices  map[string]*index
	list     []*index
	seq      uint64 // last sequence number handed out; guarded by d.wmu
	reserved uint64 // highest sequence number reserved durably; guarded by d.wmu
	count    int    // guarded by d.imu

	looseBytes int // bytes of single records above the blocks, at load

	folding     atomic.Bool  // a packing step is running
	foldScratch [2][]packDoc // reused by fold; guarded by d.wmu
	workMu      sync.Mutex
	work        sync.WaitGroup
	stopped     bool // guarded by workMu
}

// NewCollection opens collection s.Name of d and builds its indices from the
// stored documents.
func NewCollection[T any](d *DB, s Schema[T]) (*Collection[T], error) {
	if s.Name == "" || strings.ContainsAny(s.Name, ":*?") || strings.HasPrefix(s.Name, "_") || s.ID == nil {
		return nil, fmt.Errorf("collection %q: needs a name without ':*?' or a leading '_', and an ID func", s.Name)
	}
	if s.PackBytes != 0 && (s.Seq == nil || s.PackBytes < 256) {
		return nil, fmt.Errorf("collection %s: packing needs a sequenced collection and at least 256 bytes a block", s.Name)
	}
	c := &Collection[T]{
		d: d, s: s, codec: s.Codec,
		prefix:  s.Name + ":",
		seqKey:  metaPrefix + "seq:" + s.Name,
		indices: map[string]*index{},
	}
	if c.codec == nil {
		c.codec = JSONCodec[T]{}
	}
	if s.Seq != nil {
		// Blocks are read whether or not this schema packs: a file written
		// with packing stays readable.
		c.bprefix = blockPrefix + s.Name + ":"
	}
	for _, in := range s.Indices {
		if in.Name == "" || len(in.Fields) < 1 || len(in.Fields) > 2 || c.indices[in.Name] != nil || len(c.list) == maxIndices {
			return nil, fmt.Errorf("collection %s: index %q needs a unique name and one or two fields (at most %d indices)", s.Name, in.Name, maxIndices)
		}
		ix := newIndex(in, s.Seq != nil)
		c.indices[in.Name] = ix
		c.list = append(c.list, ix)
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.imu.Lock()
	defer d.imu.Unlock()
	if _, ok := d.colls[s.Name]; ok {
		return nil, fmt.Errorf("collection %s is already open", s.Name)
	}
	if err := d.bdb.View(c.load); err != nil {
		return nil, fmt.Errorf("load collection %s from %s: %w", s.Name, d.path, err)
	}
	d.colls[s.Name] = c
	if s.PackBytes == 0 {
		return c, nil
	}
	if c.looseBytes < 8*s.PackBytes {
		c.kickFold()
		return c, nil
	}
	// Many single records (a file written before packing, or by a version that
	// did not pack): pack them now, so that the store is compact once Open
	// returns. The file, which has grown by the blocks, is then mostly
	// superseded records, and the next background check compacts it.
	d.wmu.Unlock()
	d.imu.Unlock()
	err := c.foldAll()
	d.wmu.Lock()
	d.imu.Lock()
	if err != nil {
		delete(d.colls, s.Name)
		return nil, fmt.Errorf("pack collection %s of %s: %w", s.Name, d.path, err)
	}
	return c, nil
}

// load builds the indices from the stored documents; callers hold both locks.
func (c *Collection[T]) load(tx *buntdb.Tx) error {
	if v, err := tx.Get(c.seqKey); err == nil {
		c.seq, _ = strconv.ParseUint(unwrapValue(v), 10, 64)
		c.reserved = c.seq
	}
	// Size the unique tables for what is stored: packed blocks say how many
	// documents they hold, the file check counted the single records.
	hint := c.d.hints[c.prefix]
	if c.bprefix != "" {
		_ = tx.AscendGreaterOrEqual("", c.bprefix, func(k, v string) bool {
			if !strings.HasPrefix(k, c.bprefix) {
				return false
			}
			hint += blockCount(stringBytes(unwrapValue(v)))
			return true
		})
	}
	for _, ix := range c.list {
		if ix.Unique && !ix.seq {
			ix.reset(hint)
		}
	}
	var keys docKeys
	var err error
	// A unique sequenced index is filled in one pass at the end (hashIDs.build).
	pairs := make([][]uint64, len(c.list))
	for i, ix := range c.list {
		if ix.seq && ix.Unique {
			pairs[i] = make([]uint64, 0, hint)
		}
	}
	// Two documents with the same unique key (which only a bug or a
	// hand-edited file can produce) do not stop the load: the lower id keeps
	// the key and a warning names both.
	dups := 0
	dup := func(ix *index, kept, also string) {
		if dups++; dups <= 10 {
			c.d.log.Warn().Str("collection", c.s.Name).Str("index", ix.Name).Str("kept", kept).Str("also", also).
				Msg("two documents share a unique key; the first keeps it, the other stays stored")
		}
	}
	add := func(id string, n uint64, raw []byte) bool {
		c.keysOf(&keys, raw)
		for i, ix := range c.list {
			k, ok := keys.key(i)
			if !ok {
				continue
			}
			switch {
			case ix.seq && ix.Unique && n>>32 == 0:
				pairs[i] = append(pairs[i], uint64(ix.hash(k))<<32|n)
			case ix.seq && ix.Unique:
				other := uint64(0)
				ix.nuniq.find(ix.hash(k), func(m uint64) bool {
					if c.hasKey(tx, ix, m, k) {
						other = m
					}
					return other == 0
				})
				if other != 0 {
					dup(ix, SeqID(other), SeqID(n))
					continue
				}
				ix.nuniq.insert(ix.hash(k), n)
			case ix.Unique:
				if other, taken := c.owner(tx, ix, k); taken {
					dup(ix, other, id)
					continue
				}
				ix.add(k, id, n)
			default:
				ix.add(k, id, n)
			}
		}
		if n > c.seq {
			c.seq = n
		}
		c.count++
		return true
	}
	var last uint64
	if c.bprefix != "" {
		var entries []blockEntry
		e := tx.AscendGreaterOrEqual("", c.bprefix, func(k, v string) bool {
			if !strings.HasPrefix(k, c.bprefix) {
				return false
			}
			first, ok := parseSeqID(k[len(c.bprefix):])
			val := stringBytes(unwrapValue(v))
			var perr error
			if entries, perr = parseBlock(first, val, entries[:0]); !ok || perr != nil || first <= last {
				err = fmt.Errorf("block %s: %v", k, perr)
				return false
			}
			for _, e := range entries {
				if !add("", e.id, val[e.off:e.end]) {
					return false
				}
			}
			last = entries[len(entries)-1].id
			return true
		})
		if err == nil {
			err = e
		}
		if err != nil {
			return err
		}
	}
	e := tx.AscendGreaterOrEqual("", c.prefix, func(k, v string) bool {
		if !strings.HasPrefix(k, c.prefix) {
			return false
		}
		id := k[len(c.prefix):]
		var n uint64
		if c.s.Seq != nil {
			var ok bool
			if n, ok = parseSeqID(id); ok && n <= last {
				if first, val, ok := c.blockAt(tx, n); ok {
					if _, ok := findInBlock(first, val, n); ok {
						return true // a loose copy of a packed document (see pack.go)
					}
				}
				c.d.log.Warn().Str("collection", c.s.Name).Uint64("id", n).Msg("a document below the packed ones is not in a block; kept as a single record")
			}
			c.looseBytes += len(v)
		}
		return add(id, n, stringBytes(unwrapValue(v)))
	})
	if err == nil {
		err = e
	}
	for i, ix := range c.list {
		ix.clip()
		if err != nil || pairs[i] == nil {
			continue
		}
		wide := ix.nuniq // entries with ids of 2^32 and more, inserted one by one
		ix.nuniq.build(pairs[i], func(a, b uint64) bool {
			// Two documents whose keys share a hash: a duplicate if the keys
			// match; then the lower id, a, keeps the key.
			raw, ok, rerr := c.getRaw(tx, a)
			if rerr != nil || !ok {
				return true
			}
			var ka docKeys
			c.keysOf(&ka, raw)
			if k, ok := ka.key(i); ok && c.hasKey(tx, ix, b, k) {
				dup(ix, SeqID(a), SeqID(b))
				return false
			}
			return true
		})
		for j, h := range wide.h {
			if h != 0 {
				ix.nuniq.insert(h, wide.id(j))
			}
		}
	}
	if dups > 10 {
		c.d.log.Warn().Str("collection", c.s.Name).Int("documents", dups).Msg("documents sharing a unique key with an earlier one")
	}
	return err
}

// SeqID formats a sequence number as an id that sorts like the number.
func SeqID(n uint64) string {
	var b [20]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[:])
}

// Get returns the document with id, or ErrNotFound.
func (c *Collection[T]) Get(id string) (T, error) {
	var doc T
	found := false
	err := c.d.bdb.View(func(tx *buntdb.Tx) error {
		raw, ok, err := c.rawByID(tx, id)
		if err != nil || !ok {
			return err
		}
		found = true
		return c.decode(id, raw, c.num(id), &doc)
	})
	if err == nil && !found {
		err = fmt.Errorf("%w: %s id %s", ErrNotFound, c.s.Name, id)
	}
	return doc, err
}

// Has reports whether a document with id exists, without decoding it.
func (c *Collection[T]) Has(id string) bool {
	found := false
	_ = c.d.bdb.View(func(tx *buntdb.Tx) error {
		_, found, _ = c.rawByID(tx, id)
		return nil
	})
	return found
}

func (c *Collection[T]) rawByID(tx *buntdb.Tx, id string) ([]byte, bool, error) {
	if c.s.Seq != nil {
		if n, ok := parseSeqID(id); ok {
			return c.getRaw(tx, n)
		}
	}
	v, err := tx.Get(c.prefix + id)
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return stringBytes(unwrapValue(v)), true, nil
}

// FindOne returns the first document (lowest id) whose indexed fields equal values.
func (c *Collection[T]) FindOne(index string, values ...string) (T, error) {
	var doc T
	n, err := c.walkIndex(Query{Index: index, Values: values, Limit: 1}, func(d T) bool {
		doc = d
		return false
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: %s.%s", ErrNotFound, c.s.Name, index)
	}
	return doc, err
}

// LastID returns the greatest id whose indexed fields equal values.
func (c *Collection[T]) LastID(index string, values ...string) (string, bool) {
	ix, k, err := c.queryKey(index, values)
	if err != nil {
		return "", false
	}
	if ix.seq && ix.Unique {
		var id string
		n, err := c.walkIndex(Query{Index: index, Values: values, Limit: 1, Reverse: true}, func(d T) bool {
			id = c.s.ID(&d)
			return false
		})
		return id, err == nil && n > 0
	}
	c.d.imu.RLock()
	defer c.d.imu.RUnlock()
	switch {
	case ix.seq:
		if p := ix.nmulti[string(k)]; p != nil {
			return SeqID((*p)[len(*p)-1]), true
		}
	case ix.Unique:
		id, ok := ix.uniq[string(k)]
		return id, ok
	default:
		if p := ix.multi[string(k)]; p != nil {
			return (*p)[len(*p)-1], true
		}
	}
	return "", false
}

// Query selects documents in id order.
type Query struct {
	Index   string   // "" walks all documents; else only those whose index fields equal Values
	Values  []string // index values
	After   string   // only ids > After ("" = no bound)
	Before  string   // only ids < Before ("" = no bound)
	Limit   int      // at most this many (0 = all)
	Reverse bool     // walk from the highest id down (with Limit: the newest Limit)
}

// Find returns the documents q selects, in the order it walks.
func (c *Collection[T]) Find(q Query) ([]T, error) {
	var out []T
	err := c.Walk(q, func(doc T) bool {
		out = append(out, doc)
		return true
	})
	return out, err
}

// walkChunk is how many documents Walk reads under one hold of the read lock.
const walkChunk = 256

// Walk calls fn for each document q selects, in q's order, until fn returns
// false. It reads up to walkChunk documents under buntdb's read lock, lets go
// of it, then calls fn for them: so fn may read or write the store. (A read
// nested in a held read lock would wait behind any waiting writer, which
// waits for the outer read: sync.RWMutex's documented rule that a blocked
// Lock excludes new readers.) A walk over more than walkChunk documents is
// therefore not one snapshot: each chunk sees the writes committed before it,
// and each document is passed at most once. A decoding error ends the walk
// after fn has seen the documents before it.
func (c *Collection[T]) Walk(q Query, fn func(T) bool) error {
	left := q.Limit
	var buf []T
	for {
		cq := q
		cq.Limit = walkChunk
		if left > 0 && left < walkChunk {
			cq.Limit = left
		}
		buf = buf[:0]
		err := c.walkLocked(cq, func(doc T) bool {
			buf = append(buf, doc)
			return true
		})
		for i := range buf {
			if !fn(buf[i]) {
				return nil
			}
		}
		if err != nil || len(buf) < cq.Limit {
			return err
		}
		if left > 0 {
			if left -= len(buf); left == 0 {
				return nil
			}
		}
		last := c.s.ID(&buf[len(buf)-1])
		if q.Reverse {
			q.Before = last
		} else {
			q.After = last
		}
		clear(buf) // keep no decoded documents alive between chunks
	}
}

// walkLocked is Walk with fn called under the read lock: fn must not call
// the store.
func (c *Collection[T]) walkLocked(q Query, fn func(T) bool) error {
	if q.Index != "" {
		_, err := c.walkIndex(q, fn)
		return err
	}
	if c.bprefix != "" {
		return c.walkPacked(q, fn)
	}
	n := 0
	var derr error
	visit := func(key, val string) bool {
		if !strings.HasPrefix(key, c.prefix) {
			return false
		}
		id := key[len(c.prefix):]
		if q.After != "" && id <= q.After {
			return !q.Reverse
		}
		if q.Before != "" && id >= q.Before {
			return q.Reverse
		}
		var doc T
		if err := c.decode(id, stringBytes(unwrapValue(val)), c.num(id), &doc); err != nil {
			if skipDamaged(err, new(error)) {
				return true
			}
			derr = err
			return false
		}
		n++
		return fn(doc) && (q.Limit == 0 || n < q.Limit)
	}
	err := c.d.bdb.View(func(tx *buntdb.Tx) error {
		if q.Reverse {
			pivot := c.prefix + "\xff"
			if q.Before != "" {
				pivot = c.prefix + q.Before
			}
			return tx.DescendLessOrEqual("", pivot, visit)
		}
		return tx.AscendGreaterOrEqual("", c.prefix+q.After, visit)
	})
	if err == nil {
		err = derr
	}
	return err
}

// walkIndex is Walk through an index; it returns how many documents it passed to fn.
func (c *Collection[T]) walkIndex(q Query, fn func(T) bool) (int, error) {
	ix, k, err := c.queryKey(q.Index, q.Values)
	if err != nil {
		return 0, err
	}
	if ix.seq {
		return c.walkSeqIndex(ix, k, q, fn)
	}
	var ids []string
	c.d.imu.RLock()
	if ix.Unique {
		if id, ok := ix.uniq[string(k)]; ok && (q.After == "" || id > q.After) && (q.Before == "" || id < q.Before) {
			ids = []string{id}
		}
	} else if p := ix.multi[string(k)]; p != nil {
		all := *p
		lo, hi := 0, len(all)
		if q.After != "" {
			lo = sort.Search(len(all), func(i int) bool { return all[i] > q.After })
		}
		if q.Before != "" {
			hi = sort.SearchStrings(all, q.Before)
		}
		ids = pick(all, lo, hi, q)
	}
	c.d.imu.RUnlock()
	var derr, damaged error
	seen := 0
	err = c.d.bdb.View(func(tx *buntdb.Tx) error {
		for _, id := range ids {
			raw, ok, err := c.rawByID(tx, id)
			if err != nil {
				return err
			}
			if !ok {
				continue // removed since the index was read
			}
			var doc T
			if derr = c.decode(id, raw, 0, &doc); derr != nil {
				if skipDamaged(derr, &damaged) {
					derr = nil
					continue
				}
				return nil
			}
			seen++
			if !fn(doc) {
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

// pick copies all[lo:hi], cut to q.Limit from the end q walks from, in walk order.
func pick[I any](all []I, lo, hi int, q Query) []I {
	if lo >= hi {
		return nil
	}
	sel := all[lo:hi]
	if q.Limit > 0 && len(sel) > q.Limit {
		if q.Reverse {
			sel = sel[len(sel)-q.Limit:]
		} else {
			sel = sel[:q.Limit]
		}
	}
	out := append([]I(nil), sel...)
	if q.Reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// Count returns the number of documents.
func (c *Collection[T]) Count() int {
	c.d.imu.RLock()
	defer c.d.imu.RUnlock()
	return c.count
}

// Seq returns the last sequence number handed out (0 if none).
func (c *Collection[T]) Seq() uint64 {
	c.d.wmu.Lock()
	defer c.d.wmu.Unlock()
	return c.seq
}
