package db

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/buntdb"
	"github.com/tidwall/gjson"
)

// Index declares an in-memory index over one or two top-level JSON fields.
// A unique index ignores documents whose indexed fields are all empty.
type Index struct {
	Name   string
	Fields []string
	Unique bool
}

// Schema describes a collection of documents of type T.
type Schema[T any] struct {
	Name string
	// ID returns the document's primary key. Ids order iteration (as strings).
	ID func(*T) string
	// Seq, when set, makes the collection auto-increment: Insert calls it with
	// the next sequence number (strictly increasing, never reused, also across
	// restarts and removals) before calling ID.
	Seq     func(*T, uint64)
	Indices []Index
}

// ikey is an index key: the values of the index's one or two fields.
type ikey struct{ a, b string }

// clone copies k's bytes (one allocation). Keys read from a document point
// into its JSON; an index that kept them would keep every version of the
// document it was read from alive after the document was replaced.
func (k ikey) clone() ikey {
	switch {
	case k.b == "":
		return ikey{a: strings.Clone(k.a)}
	case k.a == "":
		return ikey{b: strings.Clone(k.b)}
	}
	s := k.a + k.b
	return ikey{a: s[:len(k.a)], b: s[len(k.a):]}
}

type index struct {
	Index
	uniq  map[ikey]string    // unique: key -> id
	multi map[ikey]*[]string // non-unique: key -> ids in ascending order
}

// add indexes id under k. A new map key is a copy of k (see ikey.clone); an
// existing one is never reassigned, so it keeps pointing to its own copy.
func (ix *index) add(k ikey, id string) {
	if ix.Unique {
		ix.uniq[k.clone()] = id
		return
	}
	p := ix.multi[k]
	if p == nil {
		ix.multi[k.clone()] = &[]string{id}
		return
	}
	ids := *p
	if n := len(ids); ids[n-1] < id {
		*p = append(ids, id)
		return
	}
	i := sort.SearchStrings(ids, id)
	if i < len(ids) && ids[i] == id {
		return
	}
	ids = append(ids, "")
	copy(ids[i+1:], ids[i:])
	ids[i] = id
	*p = ids
}

func (ix *index) remove(k ikey, id string) {
	if ix.Unique {
		if ix.uniq[k] == id {
			delete(ix.uniq, k)
		}
		return
	}
	p := ix.multi[k]
	if p == nil {
		return
	}
	ids := *p
	i := sort.SearchStrings(ids, id)
	if i < len(ids) && ids[i] == id {
		ids = append(ids[:i], ids[i+1:]...)
		if len(ids) == 0 {
			delete(ix.multi, k)
		} else {
			*p = ids
		}
	}
}

func (ix *index) reset() {
	if ix.Unique {
		ix.uniq = map[ikey]string{}
	} else {
		ix.multi = map[ikey]*[]string{}
	}
}

// Collection is a typed set of JSON documents with in-memory indices.
type Collection[T any] struct {
	d       *DB
	s       Schema[T]
	prefix  string
	seqKey  string
	indices map[string]*index
	list    []*index
	// fieldIndex numbers the distinct indexed fields (at most 4) so keys() reads each once.
	fieldIndex map[string]int
	seq        uint64 // last sequence number handed out; guarded by d.wmu
	reserved   uint64 // highest sequence number reserved durably; guarded by d.wmu
	count      int    // guarded by d.imu
}

// NewCollection opens collection s.Name of d and builds its indices from the
// stored documents. Two documents with the same unique key (which only a bug
// or a hand-edited file can produce) do not stop the load: the lower id keeps
// the key and a warning names both.
func NewCollection[T any](d *DB, s Schema[T]) (*Collection[T], error) {
	if s.Name == "" || strings.ContainsAny(s.Name, ":*?") || s.ID == nil {
		return nil, fmt.Errorf("collection %q: needs a name without ':*?' and an ID func", s.Name)
	}
	c := &Collection[T]{
		d: d, s: s,
		prefix:  s.Name + ":",
		seqKey:  metaPrefix + "seq:" + s.Name,
		indices: map[string]*index{},
	}
	c.fieldIndex = map[string]int{}
	hint := d.hints[c.prefix]
	for _, in := range s.Indices {
		if in.Name == "" || len(in.Fields) < 1 || len(in.Fields) > 2 || c.indices[in.Name] != nil {
			return nil, fmt.Errorf("collection %s: index %q needs a unique name and one or two fields", s.Name, in.Name)
		}
		for _, f := range in.Fields {
			if _, ok := c.fieldIndex[f]; !ok {
				c.fieldIndex[f] = len(c.fieldIndex)
			}
		}
		if len(c.fieldIndex) > 4 {
			return nil, fmt.Errorf("collection %s: at most 4 distinct indexed fields", s.Name)
		}
		ix := &index{Index: in}
		ix.reset()
		if in.Unique && hint > 0 {
			ix.uniq = make(map[ikey]string, hint)
		}
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
	dups := 0
	kbuf := make([]ikey, len(c.list))
	err := d.bdb.View(func(tx *buntdb.Tx) error {
		if v, err := tx.Get(c.seqKey); err == nil {
			c.seq, _ = strconv.ParseUint(unwrapValue(v), 10, 64)
			c.reserved = c.seq
		}
		return tx.AscendGreaterOrEqual("", c.prefix, func(key, val string) bool {
			if !strings.HasPrefix(key, c.prefix) {
				return false
			}
			id := key[len(c.prefix):]
			ks := c.keysInto(unwrapValue(val), kbuf)
			for i, ix := range c.list {
				k := ks[i]
				if !indexed(k) {
					continue
				}
				if ix.Unique {
					if first, taken := ix.uniq[k]; taken {
						if dups++; dups <= 10 {
							d.log.Warn().Str("collection", s.Name).Str("index", ix.Name).Str("kept", first).Str("also", id).
								Msg("two documents share a unique key; the first keeps it, the other stays stored")
						}
						continue
					}
				}
				ix.add(k, id)
			}
			if s.Seq != nil {
				if n, err := strconv.ParseUint(id, 10, 64); err == nil && n > c.seq {
					c.seq = n
				}
			}
			c.count++
			return true
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load collection %s from %s: %w", s.Name, d.path, err)
	}
	if dups > 10 {
		d.log.Warn().Str("collection", s.Name).Int("documents", dups).Msg("documents sharing a unique key with an earlier one")
	}
	d.colls[s.Name] = c
	return c, nil
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

func (c *Collection[T]) keys(raw string) []ikey {
	return c.keysInto(raw, make([]ikey, len(c.list)))
}

// keysInto is keys writing into ks (len(c.list) long). The keys point into
// raw: index.add copies them.
func (c *Collection[T]) keysInto(raw string, ks []ikey) []ikey {
	var vals [4]string
	var got [4]bool
	for i, ix := range c.list {
		var k ikey
		for j, f := range ix.Fields {
			fi := c.fieldIndex[f]
			if !got[fi] {
				vals[fi], got[fi] = gjson.Get(raw, f).String(), true
			}
			if j == 0 {
				k.a = vals[fi]
			} else {
				k.b = vals[fi]
			}
		}
		if ix.Unique && k.a == "" && k.b == "" {
			k = ikey{a: "\x00none"}
		}
		ks[i] = k
	}
	return ks
}

func indexed(k ikey) bool { return k.a != "\x00none" }

// Get returns the document with id, or ErrNotFound.
func (c *Collection[T]) Get(id string) (T, error) {
	var doc T
	err := c.d.bdb.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(c.prefix + id)
		if errors.Is(err, buntdb.ErrNotFound) {
			return fmt.Errorf("%w: %s id %s", ErrNotFound, c.s.Name, id)
		}
		if err != nil {
			return err
		}
		return c.decode(v, &doc)
	})
	return doc, err
}

// Has reports whether a document with id exists, without decoding it.
func (c *Collection[T]) Has(id string) bool {
	found := false
	_ = c.d.bdb.View(func(tx *buntdb.Tx) error {
		_, err := tx.Get(c.prefix + id)
		found = err == nil
		return nil
	})
	return found
}

func (c *Collection[T]) decode(v string, doc *T) error {
	if err := json.Unmarshal([]byte(unwrapValue(v)), doc); err != nil {
		return fmt.Errorf("decode %s document: %w", c.s.Name, err)
	}
	return nil
}

func (c *Collection[T]) index(name string, values []string) (*index, ikey, error) {
	ix := c.indices[name]
	if ix == nil {
		return nil, ikey{}, fmt.Errorf("collection %s has no index %q", c.s.Name, name)
	}
	if len(values) != len(ix.Fields) {
		return nil, ikey{}, fmt.Errorf("index %s.%s takes %d values", c.s.Name, name, len(ix.Fields))
	}
	k := ikey{a: values[0]}
	if len(values) > 1 {
		k.b = values[1]
	}
	return ix, k, nil
}

// FindOne returns the first document (lowest id) whose indexed fields equal values.
func (c *Collection[T]) FindOne(index string, values ...string) (T, error) {
	var zero T
	ix, k, err := c.index(index, values)
	if err != nil {
		return zero, err
	}
	c.d.imu.RLock()
	var id string
	var ok bool
	if ix.Unique {
		id, ok = ix.uniq[k]
	} else if p := ix.multi[k]; p != nil {
		id, ok = (*p)[0], true
	}
	c.d.imu.RUnlock()
	if !ok {
		return zero, fmt.Errorf("%w: %s.%s", ErrNotFound, c.s.Name, index)
	}
	return c.Get(id)
}

// LastID returns the greatest id whose indexed fields equal values.
func (c *Collection[T]) LastID(index string, values ...string) (string, bool) {
	ix, k, err := c.index(index, values)
	if err != nil {
		return "", false
	}
	c.d.imu.RLock()
	defer c.d.imu.RUnlock()
	if ix.Unique {
		id, ok := ix.uniq[k]
		return id, ok
	}
	p := ix.multi[k]
	if p == nil {
		return "", false
	}
	return (*p)[len(*p)-1], true
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

// Walk calls fn for each document q selects until fn returns false. fn runs
// under the store's read lock: it must not call the store (a nested read
// waits behind a waiting writer, which waits for this read: a deadlock).
func (c *Collection[T]) Walk(q Query, fn func(T) bool) error {
	if q.Index != "" {
		return c.walkIndex(q, fn)
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
		if derr = c.decode(val, &doc); derr != nil {
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

func (c *Collection[T]) walkIndex(q Query, fn func(T) bool) error {
	ix, k, err := c.index(q.Index, q.Values)
	if err != nil {
		return err
	}
	var ids []string
	c.d.imu.RLock()
	if ix.Unique {
		if id, ok := ix.uniq[k]; ok && (q.After == "" || id > q.After) && (q.Before == "" || id < q.Before) {
			ids = []string{id}
		}
	} else {
		var all []string
		if p := ix.multi[k]; p != nil {
			all = *p
		}
		lo, hi := 0, len(all)
		if q.After != "" {
			lo = sort.Search(len(all), func(i int) bool { return all[i] > q.After })
		}
		if q.Before != "" {
			hi = sort.SearchStrings(all, q.Before)
		}
		if lo < hi {
			sel := all[lo:hi]
			if q.Limit > 0 && len(sel) > q.Limit {
				if q.Reverse {
					sel = sel[len(sel)-q.Limit:]
				} else {
					sel = sel[:q.Limit]
				}
			}
			ids = append([]string(nil), sel...)
		}
	}
	c.d.imu.RUnlock()
	if q.Reverse {
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
	}
	var derr error
	err = c.d.bdb.View(func(tx *buntdb.Tx) error {
		for _, id := range ids {
			v, err := tx.Get(c.prefix + id)
			if errors.Is(err, buntdb.ErrNotFound) {
				continue // removed since the index was read
			}
			if err != nil {
				return err
			}
			var doc T
			if derr = c.decode(v, &doc); derr != nil {
				return nil
			}
			if !fn(doc) {
				return nil
			}
		}
		return nil
	})
	if err == nil {
		err = derr
	}
	return err
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
