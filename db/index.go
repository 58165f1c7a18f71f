package db

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"sort"

	"github.com/tidwall/buntdb"
)

// Index declares an in-memory index over one or two top-level fields, read
// from stored documents by the collection's Codec.Field. A unique index
// ignores documents whose indexed fields are all empty.
type Index struct {
	Name   string
	Fields []string
	Unique bool
}

// index is an Index held in memory. Its keys are the field values joined by
// appendKey. Collections whose ids are strings keep maps of strings; sequenced
// collections, which can hold millions of documents, keep ids as numbers: a
// non-unique index as one sorted []uint64 per key, a unique index as a hash
// table of 32-bit key hashes and ids (8 bytes a document) whose candidates are
// confirmed by reading the document (verify).
type index struct {
	Index
	seq bool

	uniq  map[string]string    // !seq, unique: key -> id
	multi map[string]*[]string // !seq: key -> ids in ascending order

	nmulti map[string]*[]uint64 // seq: key -> ids in ascending order
	nuniq  hashIDs              // seq, unique: hash of key -> id
	seed   maphash.Seed
}

func newIndex(in Index, seq bool) *index {
	ix := &index{Index: in, seq: seq, seed: maphash.MakeSeed()}
	ix.reset(0)
	return ix
}

func (ix *index) reset(hint int) {
	switch {
	case ix.seq && ix.Unique:
		ix.nuniq = hashIDs{}
		ix.nuniq.grow(hint)
	case ix.seq:
		ix.nmulti = map[string]*[]uint64{}
	case ix.Unique:
		ix.uniq = make(map[string]string, hint)
	default:
		ix.multi = map[string]*[]string{}
	}
}

// appendKey appends the index key made of values a and b (b only for a
// two-field index): a alone, or a, b and the length of a in 4 bytes, so that
// no two pairs share a key.
func appendKey(dst []byte, a, b []byte, two bool) []byte {
	dst = append(dst, a...)
	if two {
		dst = appendKeyLen(append(dst, b...), len(a))
	}
	return dst
}

// appendKeyLen ends a two-field key whose first value is n bytes long.
func appendKeyLen(dst []byte, n int) []byte { return binary.LittleEndian.AppendUint32(dst, uint32(n)) }

func (ix *index) hash(key []byte) uint32 {
	h := uint32(maphash.Bytes(ix.seed, key) >> 32)
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	return h
}

// add records that document id (n for a sequenced collection) has key.
// Callers hold the collection's write side.
func (ix *index) add(key []byte, id string, n uint64) {
	switch {
	case ix.seq && ix.Unique:
		ix.nuniq.insert(ix.hash(key), n)
	case ix.seq:
		p := ix.nmulti[string(key)]
		if p == nil {
			ix.nmulti[string(key)] = &[]uint64{n}
			return
		}
		if l := len(*p); (*p)[l-1] < n {
			*p = append(*p, n)
		} else if i, found := slices.BinarySearch(*p, n); !found {
			*p = slices.Insert(*p, i, n)
		}
	case ix.Unique:
		ix.uniq[string(key)] = id
	default:
		p := ix.multi[string(key)]
		if p == nil {
			ix.multi[string(key)] = &[]string{id}
			return
		}
		if l := len(*p); (*p)[l-1] < id {
			*p = append(*p, id)
		} else if i := sort.SearchStrings(*p, id); i == len(*p) || (*p)[i] != id {
			*p = slices.Insert(*p, i, id)
		}
	}
}

// remove forgets that document id (n) has key.
func (ix *index) remove(key []byte, id string, n uint64) {
	switch {
	case ix.seq && ix.Unique:
		ix.nuniq.remove(ix.hash(key), n)
	case ix.seq:
		p := ix.nmulti[string(key)]
		if p == nil {
			return
		}
		if i, found := slices.BinarySearch(*p, n); found {
			if *p = slices.Delete(*p, i, i+1); len(*p) == 0 {
				delete(ix.nmulti, string(key))
			}
		}
	case ix.Unique:
		if ix.uniq[string(key)] == id {
			delete(ix.uniq, string(key))
		}
	default:
		p := ix.multi[string(key)]
		if p == nil {
			return
		}
		if i := sort.SearchStrings(*p, id); i < len(*p) && (*p)[i] == id {
			if *p = slices.Delete(*p, i, i+1); len(*p) == 0 {
				delete(ix.multi, string(key))
			}
		}
	}
}

// clip gives each id list of a non-unique sequenced index its exact length,
// after loading appended to them.
func (ix *index) clip() {
	for _, p := range ix.nmulti {
		if cap(*p)-len(*p) > 4 {
			*p = slices.Clone(*p)
		}
	}
}

// maxIndices bounds the indices of one collection (docKeys holds their ends inline).
const maxIndices = 8

// docKeys holds the index keys of one document, one per index, in one buffer.
type docKeys struct {
	buf  []byte
	ends [maxIndices]int
	none uint8 // bit i: index i does not hold this document (unique, fields empty)
}

func (k *docKeys) key(i int) ([]byte, bool) {
	start := 0
	if i > 0 {
		start = k.ends[i-1]
	}
	return k.buf[start:k.ends[i]], k.none&(1<<i) == 0
}

// keysOf reads the index keys of the encoded document raw into k.
func (c *Collection[T]) keysOf(k *docKeys, raw []byte) {
	if k.buf == nil {
		k.buf = make([]byte, 0, 64)
	}
	k.buf, k.none = k.buf[:0], 0
	// field appends a field's value, read once per document.
	var seen [4]struct {
		name       string
		start, end int
	}
	nseen := 0
	field := func(name string) {
		for _, f := range seen[:nseen] {
			if f.name == name {
				k.buf = append(k.buf, k.buf[f.start:f.end]...)
				return
			}
		}
		start := len(k.buf)
		k.buf = c.codec.Field(k.buf, raw, name)
		if nseen < len(seen) {
			seen[nseen] = struct {
				name       string
				start, end int
			}{name, start, len(k.buf)}
			nseen++
		}
	}
	for i, ix := range c.list {
		start := len(k.buf)
		field(ix.Fields[0])
		empty := len(k.buf) == start
		if len(ix.Fields) == 2 {
			mid := len(k.buf)
			field(ix.Fields[1])
			empty = empty && len(k.buf) == mid
			k.buf = appendKeyLen(k.buf, mid-start)
		}
		if ix.Unique && empty {
			k.none |= 1 << i
		}
		k.ends[i] = len(k.buf)
	}
}

// owned returns a copy of k that outlives the caller's buffers.
func (k *docKeys) owned() docKeys {
	o := *k
	o.buf = append([]byte(nil), k.buf...)
	return o
}

// queryKey builds the index key for values given to FindOne, LastID or a Query.
func (c *Collection[T]) queryKey(name string, values []string) (*index, []byte, error) {
	ix := c.indices[name]
	if ix == nil {
		return nil, nil, fmt.Errorf("collection %s has no index %q", c.s.Name, name)
	}
	if len(values) != len(ix.Fields) {
		return nil, nil, fmt.Errorf("index %s.%s takes %d values", c.s.Name, name, len(ix.Fields))
	}
	if len(values) == 1 {
		return ix, []byte(values[0]), nil
	}
	return ix, appendKey(nil, stringBytes(values[0]), stringBytes(values[1]), true), nil
}

// hasKey reports whether document n, as tx sees it, has key in unique index ix.
func (c *Collection[T]) hasKey(tx *buntdb.Tx, ix *index, n uint64, key []byte) bool {
	raw, ok, err := c.getRaw(tx, n)
	if err != nil || !ok {
		return false
	}
	var k docKeys
	c.keysOf(&k, raw)
	for i, x := range c.list {
		if x == ix {
			got, ok := k.key(i)
			return ok && string(got) == string(key)
		}
	}
	return false
}

// owner returns the id of the document holding key in unique index ix, as tx
// sees the store (without this batch's claims).
func (c *Collection[T]) owner(tx *buntdb.Tx, ix *index, key []byte) (string, bool) {
	if !ix.seq {
		id, ok := ix.uniq[string(key)]
		return id, ok
	}
	var id string
	found := false
	ix.nuniq.find(ix.hash(key), func(n uint64) bool {
		if c.hasKey(tx, ix, n, key) {
			id, found = SeqID(n), true
			return false
		}
		return true
	})
	return id, found
}

func (c *Collection[T]) collection() string { return c.s.Name }

// hashIDs is a hash table from the 32-bit hash of a unique index key to a
// document's sequence number. It does not hold the keys: a hit is a candidate
// that the caller confirms from the document itself, so two keys sharing a
// hash cost a second look, never a wrong answer.
//
// It is an ordered linear-probing table (Amble and Knuth): the home slot of
// hash h is h scaled to the table size, so homes grow with h, and every run
// of occupied slots is kept sorted by hash. A lookup stops at the first larger
// hash, a miss costs about as little as a hit even at 80% load, and growing
// re-inserts the entries in order without probing. Slots past the last home
// absorb the end of the last run instead of wrapping around.
type hashIDs struct {
	h    []uint32 // key hashes; 0 is an empty slot
	lo   []uint32 // low 32 bits of each id
	hi   []uint32 // high 32 bits, allocated only once an id needs them
	size int      // number of home slots (len(h) adds the overflow slots)
	n    int
}

const hashOverflow = 64

func (t *hashIDs) home(h uint32) int { return int(uint64(h) * uint64(t.size) >> 32) }

func (t *hashIDs) id(i int) uint64 {
	if t.hi == nil {
		return uint64(t.lo[i])
	}
	return uint64(t.hi[i])<<32 | uint64(t.lo[i])
}

func (t *hashIDs) put(i int, h uint32, id uint64) {
	t.h[i], t.lo[i] = h, uint32(id)
	if id>>32 != 0 && t.hi == nil {
		t.hi = make([]uint32, len(t.h))
	}
	if t.hi != nil {
		t.hi[i] = uint32(id >> 32)
	}
}

// grow makes room for at least min entries at a load of at most 4/5.
func (t *hashIDs) grow(min int) {
	size := min + min/4 + 8
	if size <= t.size {
		return
	}
	old := *t
	n := size + hashOverflow
	t.h, t.lo, t.hi, t.size, t.n = make([]uint32, n), make([]uint32, n), nil, size, 0
	if old.hi != nil {
		t.hi = make([]uint32, n)
	}
	for i, h := range old.h {
		if h != 0 {
			t.insert(h, old.id(i))
		}
	}
}

// insert adds (h, id) and reports whether another id was stored under h.
func (t *hashIDs) insert(h uint32, id uint64) (shared bool) {
	if (t.n+1)*5 > t.size*4 {
		t.grow(t.n + t.n/2 + 16)
	}
	i := t.home(h)
	for ; i < len(t.h) && t.h[i] != 0 && t.h[i] <= h; i++ {
		if t.h[i] == h {
			if t.id(i) == id {
				return shared
			}
			shared = true
		}
	}
	j := i
	for j < len(t.h) && t.h[j] != 0 {
		j++
	}
	if j == len(t.h) { // the last run reached the end: make the table larger
		t.grow(t.size + t.size/2 + 16)
		t.insert(h, id)
		return shared
	}
	copy(t.h[i+1:j+1], t.h[i:j])
	copy(t.lo[i+1:j+1], t.lo[i:j])
	if t.hi != nil {
		copy(t.hi[i+1:j+1], t.hi[i:j])
	}
	t.put(i, h, id)
	t.n++
	return shared
}

// find calls fn with each id stored under hash h until fn returns false.
func (t *hashIDs) find(h uint32, fn func(id uint64) bool) {
	if t.size == 0 {
		return
	}
	for i := t.home(h); i < len(t.h) && t.h[i] != 0 && t.h[i] <= h; i++ {
		if t.h[i] == h && !fn(t.id(i)) {
			return
		}
	}
}

func (t *hashIDs) remove(h uint32, id uint64) {
	if t.size == 0 {
		return
	}
	i := t.home(h)
	for ; ; i++ {
		if i == len(t.h) || t.h[i] == 0 || t.h[i] > h {
			return
		}
		if t.h[i] == h && t.id(i) == id {
			break
		}
	}
	// Move the displaced entries after it one slot back, keeping the run sorted.
	j := i + 1
	for ; j < len(t.h) && t.h[j] != 0 && t.home(t.h[j]) < j; j++ {
		t.put(j-1, t.h[j], t.id(j))
	}
	t.h[j-1] = 0
	t.n--
}

// build fills an empty table from pairs (hash << 32 | id, ids below 2^32,
// given in ascending id order) in one pass: sorted by hash (stably), each
// entry goes to the first free slot from its home on, which is the ordered
// layout insert keeps. For an entry whose hash an earlier one shares, keep(a,
// b) says whether b is kept beside a (false: b is left out).
func (t *hashIDs) build(pairs []uint64, keep func(a, b uint64) bool) {
	sortHigh32(pairs)
	t.h, t.lo, t.hi, t.size, t.n = nil, nil, nil, 0, 0
	t.grow(len(pairs))
	next, run := 0, 0 // run: first slot of the current hash's entries
	for k, p := range pairs {
		h, id := uint32(p>>32), uint64(uint32(p))
		if k > 0 && uint32(pairs[k-1]>>32) == h {
			kept := true
			for j := run; j < next && kept; j++ {
				kept = keep(t.id(j), id)
			}
			if !kept {
				continue
			}
		} else {
			run = max(t.home(h), next)
		}
		i := max(t.home(h), next)
		if i >= len(t.h) { // an overflowing last run: fall back to inserting
			for _, p := range pairs[k:] {
				t.insert(uint32(p>>32), uint64(uint32(p)))
			}
			return
		}
		t.put(i, h, id)
		t.n++
		next = i + 1
	}
}

// sortHigh32 sorts a by its upper 32 bits: three stable radix passes of 11
// bits, whose counters stay in the first-level cache.
func sortHigh32(a []uint64) {
	if len(a) < 2 {
		return
	}
	tmp := make([]uint64, len(a))
	var count [1 << 11]int
	src, dst := a, tmp
	for shift := 32; shift < 64; shift += 11 {
		clear(count[:])
		for _, v := range src {
			count[(v>>shift)&(1<<11-1)]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, v := range src {
			d := (v >> shift) & (1<<11 - 1)
			dst[count[d]] = v
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] { // an odd number of passes left the result in tmp
		copy(a, src)
	}
}

// bytes is the memory the table holds.
func (t *hashIDs) bytes() int { return 4 * (len(t.h) + len(t.lo) + len(t.hi)) }
