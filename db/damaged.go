package db

import (
	"errors"
	"fmt"
	"sync"
)

// ErrDamaged is in the error (errors.Is) of a read that met a stored
// document whose record is whole (its CRC matches) but which is not a
// document of its collection: it does not decode as the collection's type
// (valid JSON of the wrong shape, `null`, a binary message that does not
// parse), or it names another id than the key it is stored under. Only a
// hand-edited file or another program writing to it makes one. Such a
// document is left in the file as it is (compaction and backups keep it);
// walks skip it, Get, FindOne and Modify of it return this error; the first
// meeting of each one is logged (warn, with the collection, the key and the
// cause) and counted in Stats.Damaged.
var ErrDamaged = errors.New("stored document is damaged (not a document of its collection)")

// damagedState remembers the keys of the damaged documents met so far, to
// log each once.
type damagedState struct {
	mu   sync.Mutex
	keys map[string]bool
}

// maxDamagedKeys bounds the keys remembered; past it each meeting is counted
// but no longer logged.
const maxDamagedKeys = 10_000

// damaged reports a document stored under key that is not a document of its
// collection, logging it the first time, and returns the ErrDamaged error.
func (d *DB) damaged(coll, key string, cause error) error {
	err := fmt.Errorf("%w: %s in %s: %v", ErrDamaged, key, d.path, cause)
	ds := &d.damagedDocs
	ds.mu.Lock()
	first := !ds.keys[key] && len(ds.keys) < maxDamagedKeys
	if first {
		if ds.keys == nil {
			ds.keys = map[string]bool{}
		}
		ds.keys[key] = true
	}
	ds.mu.Unlock()
	if first {
		d.log.Warn().Str("collection", coll).Str("key", key).Str("file", d.path).Err(cause).
			Msg("skipping a stored document that is not a document of its collection (edited by hand or written by another program?); " +
				"it stays in the file as it is: chatd serves everything else")
	}
	return err
}

// damagedCount is how many different damaged documents reads have met.
func (d *DB) damagedCount() uint64 {
	d.damagedDocs.mu.Lock()
	defer d.damagedDocs.mu.Unlock()
	return uint64(len(d.damagedDocs.keys))
}

// decode decodes the document stored under id (its sequence number n in a
// sequenced collection, 0 when id is the key's own text): ErrDamaged if it
// does not decode or names another id.
func (c *Collection[T]) decode(id string, raw []byte, n uint64, doc *T) error {
	key := c.prefix + id
	if c.s.Seq != nil && n > 0 {
		key = c.prefix + SeqID(n)
	}
	if err := c.codec.Decode(raw, doc); err != nil {
		return c.d.damaged(c.s.Name, key, fmt.Errorf("decode %s document: %w", c.s.Name, err))
	}
	if c.s.Seq != nil && n > 0 {
		c.s.Seq(doc, n)
		return nil
	}
	if got := c.s.ID(doc); id != "" && got != id {
		return c.d.damaged(c.s.Name, key, fmt.Errorf("the document names id %q, not the id of its key", got))
	}
	return nil
}

// skipDamaged says whether a walk goes on past err: it does past a damaged
// document (already logged), remembering the first one in *first.
func skipDamaged(err error, first *error) bool {
	if !errors.Is(err, ErrDamaged) {
		return false
	}
	if *first == nil {
		*first = err
	}
	return true
}
