package db

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/buntdb"
)

// seqBlock is how many sequence numbers one durable reservation covers
// (DB.seqBlock, which tests may lower).
const seqBlock = 10000

// reserve makes sure the next sequence number is covered by a reservation on
// disk, so that no number handed out can be handed out again after a crash or
// power loss, whatever the fsync policy (one extra fsync per seqBlock inserts).
// The reservation is written and fsynced in the commit of the insert that
// needs it, before that commit returns any number of the block; if that
// commit fails, the reservation is forgotten with it.
func (c *Collection[T]) reserve(b *batch) error {
	if c.seq < c.reserved {
		return nil
	}
	r := c.seq + c.d.seqBlock
	if err := b.set(c.seqKey, wrapValue(c.seqKey, strconv.FormatUint(r, 10))); err != nil {
		return err
	}
	b.mustSync = true
	prev := c.reserved
	c.reserved = r
	b.onFail(func() { c.reserved = prev })
	return nil
}

// saveSeq records the exact last sequence number, so that a clean restart
// continues without a gap.
func (c *Collection[T]) saveSeq(b *batch) error {
	if c.s.Seq == nil || c.reserved == c.seq {
		return nil
	}
	prev := c.reserved
	c.reserved = c.seq
	b.onFail(func() { c.reserved = prev })
	return b.set(c.seqKey, wrapValue(c.seqKey, strconv.FormatUint(c.seq, 10)))
}

// encode stores doc under key: CRC prefix and the codec's bytes in one buffer.
func (c *Collection[T]) encode(key string, doc *T) (string, []byte, error) {
	buf := make([]byte, crcLen, crcLen+128)
	buf, err := c.codec.Append(buf, doc)
	if err != nil {
		return "", nil, fmt.Errorf("encode %s document: %w", c.s.Name, err)
	}
	return sealValue(key, buf), buf[crcLen:], nil
}

func (c *Collection[T]) num(id string) uint64 {
	if c.s.Seq == nil {
		return 0
	}
	n, _ := parseSeqID(id)
	return n
}

// Insert stores a new document and returns it as stored (with its sequence
// number when the collection has one). A taken id or unique key is ErrDuplicate.
func (c *Collection[T]) Insert(ctx context.Context, doc T) (T, error) {
	err := c.d.exec(ctx, func(b *batch) error {
		d := doc
		var n uint64
		if c.s.Seq != nil {
			if err := c.reserve(b); err != nil {
				return err
			}
			n = c.seq + 1
			c.s.Seq(&d, n)
		}
		id := c.s.ID(&d)
		if id == "" {
			return fmt.Errorf("insert into %s: empty id", c.s.Name)
		}
		key := c.prefix + id
		if c.s.Seq == nil { // a fresh sequence number is a fresh id
			if _, found, err := b.get(key); err != nil {
				return err
			} else if found {
				return fmt.Errorf("%w: %s id %s", ErrDuplicate, c.s.Name, id)
			}
		}
		val, raw, err := c.encode(key, &d)
		if err != nil {
			return err
		}
		var ks docKeys
		c.keysOf(&ks, raw)
		for i, ix := range c.list {
			if k, ok := ks.key(i); ix.Unique && ok {
				if err := b.claim(c, ix, k, id); err != nil {
					return err
				}
			}
		}
		if err := b.set(key, val); err != nil {
			return err
		}
		if c.s.Seq != nil {
			c.seq++
			b.onFail(func() { c.seq-- })
		}
		b.after = append(b.after, func() {
			for i, ix := range c.list {
				if k, ok := ks.key(i); ok {
					ix.add(k, id, n)
				}
			}
			c.count++
			if n%foldEvery == 0 {
				c.kickFold()
			}
		})
		doc = d
		return nil
	})
	return doc, err
}

// Update replaces the stored document with the same id; ErrNotFound if there is none.
// To change a document from what is stored, use Modify: an Update built from
// an earlier read overwrites whatever was written since.
func (c *Collection[T]) Update(ctx context.Context, doc T) error {
	return c.d.exec(ctx, func(b *batch) error {
		id := c.s.ID(&doc)
		loc, err := c.locate(b.tx, id)
		if err != nil {
			return err
		}
		if !loc.found {
			return fmt.Errorf("%w: %s id %s", ErrNotFound, c.s.Name, id)
		}
		val, raw, err := c.encode(c.prefix+id, &doc)
		if err != nil {
			return err
		}
		return c.put(b, id, loc, val, raw)
	})
}

// Modify changes document id atomically: fn gets the stored document (found
// false: none is stored, doc is the zero value) inside the commit, and what it
// leaves in doc is stored, in the same transaction, so no write made between
// a read and a write can be lost. fn returning an error stores nothing and
// Modify returns that error (return ErrNotFound to refuse to create). When the
// document comes out unchanged nothing is written. fn runs while the store's
// write lock is held: it must be quick and must not call the store. Modify
// cannot create documents of a sequenced collection (use Insert).
func (c *Collection[T]) Modify(ctx context.Context, id string, fn func(doc *T, found bool) error) (T, error) {
	var out T
	err := c.d.exec(ctx, func(b *batch) error {
		loc, err := c.locate(b.tx, id)
		if err != nil {
			return err
		}
		var doc T
		if loc.found {
			if err := c.decode(id, loc.raw, loc.n, &doc); err != nil {
				return err
			}
		} else if c.s.Seq != nil {
			return fmt.Errorf("%w: %s id %s", ErrNotFound, c.s.Name, id)
		}
		if err := fn(&doc, loc.found); err != nil {
			return err
		}
		if got := c.s.ID(&doc); got != id {
			return fmt.Errorf("modify %s id %s: the document's id became %q", c.s.Name, id, got)
		}
		val, raw, err := c.encode(c.prefix+id, &doc)
		if err != nil {
			return err
		}
		out = doc
		if loc.found && string(raw) == string(loc.raw) {
			return nil
		}
		return c.put(b, id, loc, val, raw)
	})
	return out, err
}

// put stores the encoding raw (val with its checksum) as document id, where
// loc says the document is (or is not yet): it claims the unique keys that
// change, writes the record and schedules the index changes.
func (c *Collection[T]) put(b *batch, id string, loc location, val string, raw []byte) error {
	var oks, nks docKeys
	if loc.found {
		c.keysOf(&oks, loc.raw)
		oks = oks.owned()
	} else {
		oks.none = ^uint8(0) // nothing indexed yet
	}
	c.keysOf(&nks, raw)
	nks = nks.owned()
	changed := func(i int) ([]byte, bool, []byte, bool, bool) {
		ok, okOK := oks.key(i)
		nk, nkOK := nks.key(i)
		return ok, okOK, nk, nkOK, okOK != nkOK || string(ok) != string(nk)
	}
	for i, ix := range c.list {
		if _, _, nk, nkOK, ch := changed(i); ix.Unique && ch && nkOK {
			if err := b.claim(c, ix, nk, id); err != nil {
				return err
			}
		}
	}
	for i, ix := range c.list {
		if ok, okOK, _, _, ch := changed(i); ix.Unique && ch && okOK {
			b.release(ix, ok)
		}
	}
	if err := c.replace(b, loc, c.prefix+id, val, raw); err != nil {
		return err
	}
	n := c.num(id)
	found := loc.found
	b.after = append(b.after, func() {
		for i, ix := range c.list {
			ok, okOK, nk, nkOK, ch := changed(i)
			if !ch {
				continue
			}
			if okOK {
				ix.remove(ok, id, n)
			}
			if nkOK {
				ix.add(nk, id, n)
			}
		}
		if !found {
			c.count++
		}
	})
	return nil
}

// Remove deletes the document with id; ErrNotFound if there is none.
func (c *Collection[T]) Remove(ctx context.Context, id string) error {
	return c.d.exec(ctx, func(b *batch) error {
		loc, err := c.locate(b.tx, id)
		if err != nil {
			return err
		}
		if !loc.found {
			return fmt.Errorf("%w: %s id %s", ErrNotFound, c.s.Name, id)
		}
		var oks docKeys
		c.keysOf(&oks, loc.raw)
		oks = oks.owned()
		if err := c.replace(b, loc, c.prefix+id, "", nil); err != nil {
			return err
		}
		for i, ix := range c.list {
			if k, ok := oks.key(i); ix.Unique && ok {
				b.release(ix, k)
			}
		}
		n := c.num(id)
		b.after = append(b.after, func() {
			for i, ix := range c.list {
				if k, ok := oks.key(i); ok {
					ix.remove(k, id, n)
				}
			}
			c.count--
		})
		return nil
	})
}

// location says where a document is stored.
type location struct {
	found bool
	raw   []byte // its stored bytes (a view; copy before the record changes)
	n     uint64
	loose bool   // a record of its own exists (also for a packed copy not yet deleted)
	first uint64 // packed: the first id of its block
	block []byte // packed: the block's value
}

func (c *Collection[T]) locate(tx *buntdb.Tx, id string) (location, error) {
	loc := location{n: c.num(id)}
	if c.bprefix != "" && loc.n > 0 {
		if first, val, ok := c.blockAt(tx, loc.n); ok {
			if raw, ok := findInBlock(first, val, loc.n); ok {
				loc.found, loc.raw, loc.first, loc.block = true, append([]byte(nil), raw...), first, val
			}
		}
	}
	v, err := tx.Get(c.prefix + id)
	if errors.Is(err, buntdb.ErrNotFound) {
		return loc, nil
	}
	if err != nil {
		return loc, err
	}
	loc.loose = true
	if !loc.found {
		loc.found, loc.raw = true, append([]byte(nil), unwrapValue(v)...)
	}
	return loc, nil
}

// replace stores val (the new encoding raw) where loc was, or deletes it
// when raw is nil: in its block when it is packed (rewriting the block and
// deleting a loose copy in the same commit), else in its own record.
func (c *Collection[T]) replace(b *batch, loc location, key, val string, raw []byte) error {
	if loc.block == nil {
		if raw == nil {
			return b.del(key)
		}
		return b.set(key, val)
	}
	entries, err := parseBlock(loc.first, loc.block, nil)
	if err != nil {
		return fmt.Errorf("block of %s: %w", key, err)
	}
	docs := make([]packDoc, 0, len(entries))
	for _, e := range entries {
		switch {
		case e.id != loc.n:
			docs = append(docs, packDoc{e.id, loc.block[e.off:e.end]})
		case raw != nil:
			docs = append(docs, packDoc{e.id, raw})
		}
	}
	bkey := c.blockKey(loc.first)
	if len(docs) == 0 {
		if err := b.del(bkey); err != nil {
			return err
		}
	} else {
		// The block keeps its key (the first id it was written with) even when
		// that document is removed: ids stay relative to it.
		nb := make([]byte, crcLen, crcLen+len(loc.block)+len(raw))
		nb = appendBlock(nb, loc.first, docs)
		if err := b.set(bkey, sealValue(bkey, nb)); err != nil {
			return err
		}
	}
	if loc.loose {
		return b.del(key)
	}
	return nil
}

// Reseed replaces every document of the collection with docs in one
// transaction: either all of docs are stored or nothing changes.
func (c *Collection[T]) Reseed(ctx context.Context, docs []T) error {
	if c.s.Seq != nil {
		return fmt.Errorf("reseed %s: not supported on sequenced collections", c.s.Name)
	}
	vals := make([]string, len(docs))
	ids := make([]string, len(docs))
	keys := make([]docKeys, len(docs))
	seen := map[string]bool{}
	for i := range docs {
		ids[i] = c.s.ID(&docs[i])
		if ids[i] == "" || seen[ids[i]] {
			return fmt.Errorf("reseed %s: %w: id %q", c.s.Name, ErrDuplicate, ids[i])
		}
		seen[ids[i]] = true
		val, raw, err := c.encode(c.prefix+ids[i], &docs[i])
		if err != nil {
			return err
		}
		vals[i] = val
		c.keysOf(&keys[i], raw)
	}
	for n, ix := range c.list {
		if !ix.Unique {
			continue
		}
		taken := map[string]bool{}
		for i := range docs {
			if k, ok := keys[i].key(n); ok {
				if taken[string(k)] {
					return fmt.Errorf("reseed %s: %w: %s", c.s.Name, ErrDuplicate, ix.Name)
				}
				taken[string(k)] = true
			}
		}
	}
	return c.d.exec(ctx, func(b *batch) error {
		var old []string
		err := b.tx.AscendGreaterOrEqual("", c.prefix, func(k, _ string) bool {
			if !strings.HasPrefix(k, c.prefix) {
				return false
			}
			old = append(old, k)
			return true
		})
		if err != nil {
			return err
		}
		// Write only what changes: a reseed at every start of an unchanged
		// set leaves no garbage in the file.
		for _, k := range old {
			if seen[k[len(c.prefix):]] {
				continue
			}
			if err := b.del(k); err != nil {
				return err
			}
		}
		for i := range vals {
			key := c.prefix + ids[i]
			if cur, err := b.tx.Get(key); err == nil && cur == vals[i] {
				continue
			}
			if err := b.set(key, vals[i]); err != nil {
				return err
			}
		}
		b.after = append(b.after, func() {
			for _, ix := range c.list {
				ix.reset(len(docs))
			}
			for i := range docs {
				for n, ix := range c.list {
					if k, ok := keys[i].key(n); ok {
						ix.add(k, ids[i], 0)
					}
				}
			}
			c.count = len(docs)
		})
		return nil
	})
}
