package db

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/buntdb"
)

// Packing (Schema.PackBytes) keeps a sequenced collection's documents in
// blocks: one record holds the encodings of consecutive documents, so the
// store pays its per-record costs (key, framing, CRC, buntdb's item and tree
// slot, ~150 bytes in memory) once per block instead of once per document.
//
// A document is first written as its own record, "loose" (prefix + SeqID), by
// the commit that acknowledges it. A background step (fold) later copies the
// oldest loose documents into a block, one block per commit, and a later
// commit deletes their loose copies. Until then a document exists twice, with
// the same bytes; readers take the block's copy for any id the blocks cover.
// The two steps never share a commit because buntdb writes a commit's records
// in no particular order: a torn commit could otherwise keep the deletions and
// lose the block.
//
// A block is stored at blockPrefix + name + ":" + SeqID(first id), and its
// value is: uvarint count, uvarint (last id - first id), then for each
// document in id order uvarint (id - previous id; the first is relative to the
// first id, so 0), uvarint length, and the codec's bytes.

const blockPrefix = "_blk:"

// foldEvery is how many inserts pass between two checks for a block to fold.
const foldEvery = 64

type blockEntry struct {
	id       uint64
	off, end int
}

// parseBlock lists the entries of block val (first id first) into dst.
func parseBlock(first uint64, val []byte, dst []blockEntry) ([]blockEntry, error) {
	n, p := binary.Uvarint(val)
	span, q := binary.Uvarint(val[max(p, 0):])
	if p <= 0 || q <= 0 || n == 0 || n > uint64(len(val)) {
		return dst, errors.New("bad block header")
	}
	pos, id := p+q, first
	for i := uint64(0); i < n; i++ {
		d, a := binary.Uvarint(val[pos:])
		if a <= 0 {
			return dst, errors.New("bad block entry")
		}
		l, b := binary.Uvarint(val[pos+a:])
		if b <= 0 || l > uint64(len(val)-pos-a-b) {
			return dst, errors.New("bad block entry")
		}
		id += d
		pos += a + b
		dst = append(dst, blockEntry{id: id, off: pos, end: pos + int(l)})
		pos += int(l)
	}
	if pos != len(val) || id != first+span {
		return dst, errors.New("block length or last id does not match its header")
	}
	return dst, nil
}

// blockLast is the last id of block val from its header alone.
func blockLast(first uint64, val []byte) uint64 {
	_, p := binary.Uvarint(val)
	if p <= 0 {
		return first
	}
	span, _ := binary.Uvarint(val[p:])
	return first + span
}

// blockCount is the number of documents in block val, from its header.
func blockCount(val []byte) int {
	n, _ := binary.Uvarint(val)
	return int(n)
}

// findInBlock returns the bytes of document id in block val, scanning it.
func findInBlock(first uint64, val []byte, id uint64) ([]byte, bool) {
	n, p := binary.Uvarint(val)
	_, q := binary.Uvarint(val[max(p, 0):])
	if p <= 0 || q <= 0 {
		return nil, false
	}
	pos, cur := p+q, first
	for i := uint64(0); i < n && pos < len(val); i++ {
		d, a := binary.Uvarint(val[pos:])
		l, b := binary.Uvarint(val[pos+max(a, 0):])
		if a <= 0 || b <= 0 || l > uint64(len(val)-pos-a-b) {
			return nil, false
		}
		cur += d
		pos += a + b
		if cur == id {
			return val[pos : pos+int(l)], true
		}
		if cur > id {
			return nil, false
		}
		pos += int(l)
	}
	return nil, false
}

type packDoc struct {
	id  uint64
	raw []byte
}

// appendBlock encodes docs (ascending ids, none below base) as the value of
// the block whose key holds base.
func appendBlock(dst []byte, base uint64, docs []packDoc) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(docs)))
	dst = binary.AppendUvarint(dst, docs[len(docs)-1].id-base)
	prev := base
	for _, d := range docs {
		dst = binary.AppendUvarint(dst, d.id-prev)
		dst = binary.AppendUvarint(dst, uint64(len(d.raw)))
		dst = append(dst, d.raw...)
		prev = d.id
	}
	return dst
}

// blockEntrySize is the size of a document's entry in a block.
func blockEntrySize(delta uint64, raw []byte) int {
	return uvarintLen(delta) + uvarintLen(uint64(len(raw))) + len(raw)
}

// blockHeaderMax bounds the size of a block's header (two uvarints).
const blockHeaderMax = 2 * 5

// sealValue fills the CRC prefix of val (crcLen bytes reserved at its start)
// for key and returns val as the stored string, without copying.
func sealValue(key string, val []byte) string {
	sum := recordCRC(stringBytes(key), val[crcLen:])
	hex.Encode(val[:crcLen], sum[:])
	return bytesString(val)
}

// parseSeqID reads an id written by SeqID.
func parseSeqID(s string) (uint64, bool) {
	if len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func (c *Collection[T]) blockKey(first uint64) string { return c.bprefix + SeqID(first) }

// blockAt returns the block that covers id if there is one: the block with
// the greatest first id not above id, when its last id is not below id.
func (c *Collection[T]) blockAt(tx *buntdb.Tx, id uint64) (first uint64, val []byte, ok bool) {
	_ = tx.DescendLessOrEqual("", c.blockKey(id), func(k, v string) bool {
		if !strings.HasPrefix(k, c.bprefix) {
			return false
		}
		f, isID := parseSeqID(k[len(c.bprefix):])
		if !isID {
			return false
		}
		b := stringBytes(unwrapValue(v))
		if blockLast(f, b) >= id {
			first, val, ok = f, b, true
		}
		return false
	})
	return first, val, ok
}

// lastPacked is the highest id the blocks cover (0 when there are none).
// Every loose document at or below it has a copy in a block.
func (c *Collection[T]) lastPacked(tx *buntdb.Tx) uint64 {
	if c.bprefix == "" {
		return 0
	}
	var last uint64
	_ = tx.DescendLessOrEqual("", c.bprefix+"\xff", func(k, v string) bool {
		if strings.HasPrefix(k, c.bprefix) {
			if f, ok := parseSeqID(k[len(c.bprefix):]); ok {
				last = blockLast(f, stringBytes(unwrapValue(v)))
			}
		}
		return false
	})
	return last
}

// getRaw returns the stored bytes of document n of a sequenced collection:
// its block's copy when the blocks cover it, else its loose record.
func (c *Collection[T]) getRaw(tx *buntdb.Tx, n uint64) ([]byte, bool, error) {
	if c.bprefix != "" {
		if first, val, ok := c.blockAt(tx, n); ok {
			if raw, ok := findInBlock(first, val, n); ok {
				return raw, true, nil
			}
		}
	}
	v, err := tx.Get(c.prefix + SeqID(n))
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return stringBytes(unwrapValue(v)), true, nil
}

// kickFold starts the background packing step unless it is running or the
// store is closing.
func (c *Collection[T]) kickFold() {
	if c.s.PackBytes == 0 || !c.folding.CompareAndSwap(false, true) {
		return
	}
	c.workMu.Lock()
	defer c.workMu.Unlock()
	if c.stopped {
		c.folding.Store(false)
		return
	}
	c.work.Add(1)
	go c.foldLoop()
}

// stopWork waits for the packing step and keeps it from starting again; the
// store calls it when closing.
func (c *Collection[T]) stopWork() {
	c.workMu.Lock()
	c.stopped = true
	c.workMu.Unlock()
	c.work.Wait()
}

// foldLoop runs foldAll in the background.
func (c *Collection[T]) foldLoop() {
	defer c.work.Done()
	defer c.folding.Store(false)
	if err := c.foldAll(); err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, buntdb.ErrDatabaseClosed) {
		c.d.log.Error().Err(err).Str("collection", c.s.Name).Msg("packing documents into blocks failed; they stay as single records")
	}
}

// foldAll runs fold, one commit at a time, until there is nothing to do.
func (c *Collection[T]) foldAll() error {
	for {
		var changed bool
		err := c.d.exec(context.Background(), func(b *batch) error {
			var err error
			changed, err = c.fold(b)
			return err
		})
		if err != nil || !changed {
			return err
		}
	}
}

// fold is one packing step, inside one commit: it deletes the loose copies of
// documents that earlier commits put into blocks, then writes at most one new
// block of the oldest loose documents, when they fill one (the newest stay
// loose until more follow them). It reports whether it changed anything.
func (c *Collection[T]) fold(b *batch) (bool, error) {
	last := c.lastPacked(b.tx)
	// The scratch slices are the collection's: one fold runs at a time (each
	// is a commit op, under the commit lock).
	shadowed, docs := c.foldScratch[0][:0], c.foldScratch[1][:0]
	defer func() {
		clear(shadowed) // keep no stored bytes alive
		clear(docs)
		c.foldScratch = [2][]packDoc{shadowed[:0], docs[:0]}
	}()
	size, full := 0, false
	limit := c.s.PackBytes - crcLen - blockHeaderMax
	err := b.tx.AscendGreaterOrEqual("", c.prefix, func(k, v string) bool {
		if !strings.HasPrefix(k, c.prefix) {
			return false
		}
		n, ok := parseSeqID(k[len(c.prefix):])
		if !ok {
			return true // not a sequence id: never packed
		}
		raw := stringBytes(unwrapValue(v))
		if n <= last {
			shadowed = append(shadowed, packDoc{n, raw})
			return true
		}
		prev := n
		if len(docs) > 0 {
			prev = docs[len(docs)-1].id
		}
		es := blockEntrySize(n-prev, raw)
		if len(docs) > 0 && size+es > limit {
			full = true
			return false
		}
		docs = append(docs, packDoc{n, raw})
		size += es
		return true
	})
	if err != nil {
		return false, err
	}
	changed := false
	for _, s := range shadowed {
		// Delete a loose copy only when its block holds the same bytes.
		first, val, ok := c.blockAt(b.tx, s.id)
		if !ok {
			continue
		}
		if raw, ok := findInBlock(first, val, s.id); !ok || string(raw) != string(s.raw) {
			continue
		}
		if err := b.del(c.prefix + SeqID(s.id)); err != nil {
			return changed, err
		}
		changed = true
	}
	if !full {
		return changed, nil
	}
	key := c.blockKey(docs[0].id)
	val := make([]byte, crcLen, crcLen+blockHeaderMax+size)
	val = appendBlock(val, docs[0].id, docs)
	if err := b.set(key, sealValue(key, val)); err != nil {
		return changed, fmt.Errorf("write block %s: %w", key, err)
	}
	return true, nil
}
