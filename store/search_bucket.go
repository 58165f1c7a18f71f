package store

import "encoding/binary"

// The word index's posting lists (see Search in search.go).

// A bucket is a list of blocks of at most blockPostings postings each: a
// block holds its first offset, then each posting as a varint delta from the
// previous one (signed: concurrent writers may append slightly out of order)
// and a check byte. Full blocks never change, so a search reads them without
// holding the index's lock, newest block first.
type bucket struct {
	blocks []block
}

type block struct {
	first, last uint64
	n           int
	data        []byte
}

// blockPostings is how many postings a block holds.
const blockPostings = 128

// append adds one posting.
func (b *bucket) append(offset uint64, check byte) {
	if len(b.blocks) == 0 || b.blocks[len(b.blocks)-1].n >= blockPostings {
		if k := len(b.blocks); k > 0 { // a full block never changes again: keep it at its size
			b.blocks[k-1].data = append([]byte(nil), b.blocks[k-1].data...)
		}
		b.blocks = append(b.blocks, block{first: offset, last: offset})
	}
	blk := &b.blocks[len(b.blocks)-1]
	var tmp [binary.MaxVarintLen64 + 1]byte
	n := binary.PutVarint(tmp[:], int64(offset)-int64(blk.last))
	tmp[n] = check
	blk.data = append(blk.data, tmp[:n+1]...)
	blk.last = offset
	blk.n++
}

// each calls fn for every posting of blk, oldest first.
func (blk *block) each(fn func(offset uint64, check byte)) {
	cur := int64(blk.first)
	d := blk.data
	for len(d) > 0 {
		v, n := binary.Varint(d)
		if n <= 0 || n >= len(d) {
			return
		}
		cur += v
		fn(uint64(cur), d[n])
		d = d[n+1:]
	}
}

// size is the bytes the bucket's postings take.
func (b *bucket) size() int {
	n := 0
	for i := range b.blocks {
		n += cap(b.blocks[i].data)
	}
	return n
}

// snapshot returns the bucket's blocks as of now: the full ones shared (they
// never change), the last one copied. Call it under the index's lock.
func (b *bucket) snapshot() []block {
	k := len(b.blocks)
	if k == 0 {
		return nil
	}
	out := make([]block, k)
	copy(out, b.blocks[:k-1])
	out[k-1] = b.blocks[k-1]
	out[k-1].data = out[k-1].data[:len(out[k-1].data):len(out[k-1].data)]
	return out
}
