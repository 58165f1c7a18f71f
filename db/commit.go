package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/buntdb"
)

// op is one caller's write, run by whichever writer leads the next commit.
type op struct {
	fn   func(b *batch) error
	err  error
	done chan struct{}
}

// batch is the state shared by the ops of one group commit.
type batch struct {
	tx       *buntdb.Tx
	uniq     []claim  // unique keys claimed or released in this batch, newest last
	after    []func() // in-memory index changes, applied once the commit is on disk
	mustSync bool     // fsync before acknowledging, whatever the policy
}

// exec queues fn and returns once it has been committed (and fsynced, under
// SyncAlways). Writers that arrive while a commit is in progress are committed
// together by the next leader, so they share one write and one fsync.
func (d *DB) exec(ctx context.Context, fn func(b *batch) error) error {
	if d.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{fn: fn, done: make(chan struct{})}
	d.qmu.Lock()
	d.queue = append(d.queue, o)
	d.qmu.Unlock()

	// Either an earlier leader commits o, or this writer becomes the leader
	// (d.lead holds one token) and commits everything queued. Followers learn
	// they are done from o.done without touching any lock.
	select {
	case <-o.done:
		return o.err
	case d.lead <- struct{}{}:
	}
	select {
	case <-o.done:
	default:
		d.qmu.Lock()
		ops := d.queue
		d.queue = nil
		d.qmu.Unlock()
		d.wmu.Lock()
		d.commit(ops)
		d.wmu.Unlock()
	}
	<-d.lead
	return o.err
}

// commit runs ops in one buntdb transaction; callers hold d.wmu.
func (d *DB) commit(ops []*op) {
	defer func() {
		for _, o := range ops {
			close(o.done)
		}
	}()
	start := time.Now()
	b := &d.batch // only the leader commits, under d.wmu: reuse its slices
	clear(b.uniq)
	clear(b.after)
	*b = batch{uniq: b.uniq[:0], after: b.after[:0]}
	ok := 0
	err := d.bdb.Update(func(tx *buntdb.Tx) error {
		b.tx = tx
		for _, o := range ops {
			o.err = o.fn(b)
			if o.err == nil {
				ok++
			}
		}
		return nil
	})
	st := CommitStats{Docs: len(ops), Write: time.Since(start)}
	if err == nil && ok > 0 {
		d.dirty.Store(true)
		if d.opts.Sync == SyncAlways || b.mustSync {
			s := time.Now()
			err = d.fsync()
			st.Sync = time.Since(s)
		}
	}
	if err != nil {
		err = fmt.Errorf("write %s: %w", d.path, err)
		for _, o := range ops {
			if o.err == nil {
				o.err = err
			}
		}
		st.Err = err
		d.log.Error().Err(err).Int("ops", ok).Msg("commit failed; nothing of it was acknowledged")
	} else if len(b.after) > 0 {
		d.imu.Lock()
		for _, f := range b.after {
			f()
		}
		d.imu.Unlock()
	}
	d.stats.commits.Add(1)
	d.stats.ops.Add(uint64(ok))
	if d.opts.OnCommit != nil {
		d.opts.OnCommit(st)
	}
}

// claim is a unique key taken (id) or released (id "") within a batch.
type claim struct {
	ix *index
	k  string
	id string
}

// keyOwner finds who holds a unique key in the committed store (a collection).
type keyOwner interface {
	owner(tx *buntdb.Tx, ix *index, key []byte) (string, bool)
	collection() string
}

// owner returns who holds k in ix as far as this batch knows.
func (b *batch) owner(o keyOwner, ix *index, k []byte) (string, bool) {
	for i := len(b.uniq) - 1; i >= 0; i-- {
		if c := b.uniq[i]; c.ix == ix && c.k == string(k) {
			return c.id, c.id != ""
		}
	}
	return o.owner(b.tx, ix, k)
}

// claim reserves a unique index key for id within the batch, or reports a duplicate.
func (b *batch) claim(o keyOwner, ix *index, k []byte, id string) error {
	if owner, ok := b.owner(o, ix, k); ok && owner != id {
		return fmt.Errorf("%w: %s.%s", ErrDuplicate, o.collection(), ix.Name)
	}
	b.uniq = append(b.uniq, claim{ix, string(k), id})
	return nil
}

func (b *batch) release(ix *index, k []byte) {
	b.uniq = append(b.uniq, claim{ix, string(k), ""})
}

func (b *batch) get(key string) (string, bool, error) {
	v, err := b.tx.Get(key)
	if errors.Is(err, buntdb.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return unwrapValue(v), true, nil
}

func (b *batch) set(key, val string) error {
	_, _, err := b.tx.Set(key, wrapValue(key, val), nil)
	return err
}

// setWrapped stores a value already prefixed by wrapBytes.
func (b *batch) setWrapped(key, val string) error {
	_, _, err := b.tx.Set(key, val, nil)
	return err
}

func (b *batch) del(key string) error {
	_, err := b.tx.Delete(key)
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil
	}
	return err
}

// Tx is a raw write transaction over the store's keys, given to migrations.
type Tx struct{ tx *buntdb.Tx }

// Get returns the value stored at key, or ErrNotFound.
func (t *Tx) Get(key string) (string, error) {
	v, err := t.tx.Get(key)
	if errors.Is(err, buntdb.ErrNotFound) {
		return "", ErrNotFound
	}
	return unwrapValue(v), err
}

// Set stores val at key.
func (t *Tx) Set(key, val string) error {
	_, _, err := t.tx.Set(key, wrapValue(key, val), nil)
	return err
}

// Delete removes key.
func (t *Tx) Delete(key string) error {
	_, err := t.tx.Delete(key)
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil
	}
	return err
}

// Ascend calls fn for every key with prefix, in key order, until fn returns false.
func (t *Tx) Ascend(prefix string, fn func(key, val string) bool) error {
	return t.tx.AscendGreaterOrEqual("", prefix, func(k, v string) bool {
		if !strings.HasPrefix(k, prefix) {
			return false
		}
		return fn(k, unwrapValue(v))
	})
}
