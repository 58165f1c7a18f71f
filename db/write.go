package db

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/chatd/chatd/internal/jsontext"
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

// put stores raw as the document id of the batch: it claims the unique keys
// that change, writes the record and schedules the index changes. old and
// found are the stored document, if any.
func (c *Collection[T]) put(b *batch, id, old string, found bool, raw []byte) error {
	key := c.prefix + id
	val := wrapBytes(key, raw)
	nks := c.keys(val[crcLen:])
	var oks []ikey
	if found {
		oks = c.keys(old)
	}
	changed := func(i int) bool { return !found || oks[i] != nks[i] }
	for i, ix := range c.list {
		if ix.Unique && changed(i) && indexed(nks[i]) {
			if err := b.claim(c.s.Name, ix, nks[i], id); err != nil {
				return err
			}
		}
	}
	for i, ix := range c.list {
		if ix.Unique && found && changed(i) && indexed(oks[i]) {
			b.release(ix, oks[i])
		}
	}
	if err := b.set(key, val); err != nil {
		return err
	}
	b.after = append(b.after, func() {
		for i, ix := range c.list {
			if !changed(i) {
				continue
			}
			if found && indexed(oks[i]) {
				ix.remove(oks[i], id)
			}
			if indexed(nks[i]) {
				ix.add(nks[i], id)
			}
		}
		if !found {
			c.count++
		}
	})
	return nil
}

// Insert stores a new document and returns it as stored (with its sequence
// number when the collection has one). A taken id or unique key is ErrDuplicate.
func (c *Collection[T]) Insert(ctx context.Context, doc T) (T, error) {
	err := c.d.exec(ctx, func(b *batch) error {
		d := doc
		if c.s.Seq != nil {
			if err := c.reserve(b); err != nil {
				return err
			}
			c.s.Seq(&d, c.seq+1)
		}
		id := c.s.ID(&d)
		if id == "" {
			return fmt.Errorf("insert into %s: empty id", c.s.Name)
		}
		if c.s.Seq == nil { // a fresh sequence number is a fresh id
			if _, found, err := b.get(c.prefix + id); err != nil {
				return err
			} else if found {
				return fmt.Errorf("%w: %s id %s", ErrDuplicate, c.s.Name, id)
			}
		}
		raw, err := jsontext.Marshal(&d)
		if err != nil {
			return fmt.Errorf("encode %s document: %w", c.s.Name, err)
		}
		if err := c.put(b, id, "", false, raw); err != nil {
			return err
		}
		if c.s.Seq != nil {
			c.seq++
			b.onFail(func() { c.seq-- })
		}
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
		old, found, err := b.get(c.prefix + id)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: %s id %s", ErrNotFound, c.s.Name, id)
		}
		raw, err := jsontext.Marshal(&doc)
		if err != nil {
			return fmt.Errorf("encode %s document: %w", c.s.Name, err)
		}
		return c.put(b, id, old, true, raw)
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
		old, found, err := b.get(c.prefix + id)
		if err != nil {
			return err
		}
		var doc T
		if found {
			if err := json.Unmarshal([]byte(old), &doc); err != nil {
				return fmt.Errorf("decode %s document: %w", c.s.Name, err)
			}
		} else if c.s.Seq != nil {
			return fmt.Errorf("%w: %s id %s", ErrNotFound, c.s.Name, id)
		}
		if err := fn(&doc, found); err != nil {
			return err
		}
		if got := c.s.ID(&doc); got != id {
			return fmt.Errorf("modify %s id %s: the document's id became %q", c.s.Name, id, got)
		}
		raw, err := jsontext.Marshal(&doc)
		if err != nil {
			return fmt.Errorf("encode %s document: %w", c.s.Name, err)
		}
		out = doc
		if found && string(raw) == old {
			return nil
		}
		return c.put(b, id, old, found, raw)
	})
	return out, err
}

// Remove deletes the document with id; ErrNotFound if there is none.
func (c *Collection[T]) Remove(ctx context.Context, id string) error {
	return c.d.exec(ctx, func(b *batch) error {
		key := c.prefix + id
		old, found, err := b.get(key)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: %s id %s", ErrNotFound, c.s.Name, id)
		}
		if err := b.del(key); err != nil {
			return err
		}
		oks := c.keys(old)
		for i, ix := range c.list {
			if ix.Unique && indexed(oks[i]) {
				b.release(ix, oks[i])
			}
		}
		b.after = append(b.after, func() {
			for i, ix := range c.list {
				if indexed(oks[i]) {
					ix.remove(oks[i], id)
				}
			}
			c.count--
		})
		return nil
	})
}

// Reseed replaces every document of the collection with docs in one
// transaction: either all of docs are stored or nothing changes.
func (c *Collection[T]) Reseed(ctx context.Context, docs []T) error {
	if c.s.Seq != nil {
		return fmt.Errorf("reseed %s: not supported on sequenced collections", c.s.Name)
	}
	vals := make([]string, len(docs))
	ids := make([]string, len(docs))
	keys := make([][]ikey, len(docs))
	seen := map[string]bool{}
	for i := range docs {
		ids[i] = c.s.ID(&docs[i])
		if ids[i] == "" || seen[ids[i]] {
			return fmt.Errorf("reseed %s: %w: id %q", c.s.Name, ErrDuplicate, ids[i])
		}
		seen[ids[i]] = true
		raw, err := jsontext.Marshal(&docs[i])
		if err != nil {
			return fmt.Errorf("encode %s document: %w", c.s.Name, err)
		}
		vals[i] = wrapBytes(c.prefix+ids[i], raw)
		keys[i] = c.keys(vals[i][crcLen:])
	}
	for n, ix := range c.list {
		if !ix.Unique {
			continue
		}
		taken := map[ikey]bool{}
		for i := range docs {
			if k := keys[i][n]; indexed(k) {
				if taken[k] {
					return fmt.Errorf("reseed %s: %w: %s", c.s.Name, ErrDuplicate, ix.Name)
				}
				taken[k] = true
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
				ix.reset()
			}
			for i := range vals {
				for n, ix := range c.list {
					if k := keys[i][n]; indexed(k) {
						ix.add(k, ids[i])
					}
				}
			}
			c.count = len(vals)
		})
		return nil
	})
}
