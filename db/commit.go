package db

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/buntdb"
)

var bg = context.Background()

// op is one caller's write, run by whichever writer leads the next commit.
type op struct {
	fn   func(b *batch) error
	err  error
	done chan struct{}
}

// batch is the state of one group commit. Every change an op makes goes
// through it, so that an op that fails is undone alone, and a commit whose
// write or fsync fails is undone whole: buntdb rolls back its tree, the
// records are cut from the file, and the undo functions restore what the
// collections keep in memory (sequence numbers).
type batch struct {
	tx       *buntdb.Tx
	buf      []byte    // the commit's records, in the order they were made
	keys     []keyUndo // buntdb changes, to undo an op that fails
	uniq     []claim   // unique keys claimed or released in this batch, newest last
	after    []func()  // in-memory index changes, applied once the commit is on disk
	undo     []func()  // restore collection state if the op or the commit fails
	live     int64     // change of the live size
	mustSync bool      // fsync before acknowledging, whatever the policy
	endsDel  bool      // the last record in buf is a del
}

type keyUndo struct {
	key, prev string
	had       bool
}

// endKey is set after a commit whose last record is a del.
const endKey = metaPrefix + "end"

// mark is a position in a batch, to undo an op back to it.
type mark struct {
	buf, keys, uniq, after, undo int
	live                         int64
	endsDel                      bool
}

func (b *batch) mark() mark {
	return mark{len(b.buf), len(b.keys), len(b.uniq), len(b.after), len(b.undo), b.live, b.endsDel}
}

// rollbackTo undoes everything done since m, newest first.
func (b *batch) rollbackTo(m mark) {
	for i := len(b.keys) - 1; i >= m.keys; i-- {
		k := b.keys[i]
		if k.had {
			_, _, _ = b.tx.Set(k.key, k.prev, nil)
		} else {
			_, _ = b.tx.Delete(k.key)
		}
	}
	for i := len(b.undo) - 1; i >= m.undo; i-- {
		b.undo[i]()
	}
	b.buf, b.keys, b.uniq, b.after, b.undo = b.buf[:m.buf], b.keys[:m.keys], b.uniq[:m.uniq], b.after[:m.after], b.undo[:m.undo]
	b.live, b.endsDel = m.live, m.endsDel
}

// onFail registers f to restore in-memory state if the op or its commit fails.
func (b *batch) onFail(f func()) { b.undo = append(b.undo, f) }

// exec queues fn and returns once it has been committed (and fsynced, under
// SyncAlways or for a Durable ctx). Writers that arrive while a commit is in progress are committed
// together by the next leader, so they share one write and one fsync.
func (d *DB) exec(ctx context.Context, fn func(b *batch) error) error {
	if d.closed.Load() {
		return ErrClosed
	}
	if err := d.failed(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if isDurable(ctx) {
		inner := fn
		fn = func(b *batch) error {
			if err := inner(b); err != nil {
				return err
			}
			b.mustSync = true
			return nil
		}
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

// commit runs ops in one buntdb transaction and appends their records in one
// write (then fsyncs, under SyncAlways or when an op asks for it), all while
// buntdb's write lock is held: a reader never sees a change whose write (or
// required fsync) has not succeeded. Callers hold d.wmu.
func (d *DB) commit(ops []*op) {
	defer func() {
		for _, o := range ops {
			close(o.done)
		}
	}()
	if err := d.failed(); err != nil {
		for _, o := range ops {
			o.err = err
		}
		return
	}
	start := time.Now()
	b := &d.batch // only the leader commits, under d.wmu: reuse its slices
	clear(b.keys)
	clear(b.uniq)
	clear(b.after)
	clear(b.undo)
	*b = batch{buf: b.buf[:0], keys: b.keys[:0], uniq: b.uniq[:0], after: b.after[:0], undo: b.undo[:0]}
	ok := 0
	var st CommitStats
	err := d.bdb.Update(func(tx *buntdb.Tx) error {
		b.tx = tx
		for _, o := range ops {
			m := b.mark()
			if o.err = o.fn(b); o.err != nil {
				b.rollbackTo(m)
				continue
			}
			ok++
		}
		if len(b.buf) == 0 {
			return nil
		}
		if b.endsDel {
			// A del carries no checksum: end the commit with a record that
			// does, so that damage to a last del cannot pass for a torn write.
			d.ncommit++
			if err := b.set(endKey, wrapValue(endKey, strconv.FormatUint(d.ncommit, 10))); err != nil {
				return err
			}
		}
		if err := d.append(b.buf); err != nil {
			return err
		}
		if d.opts.Sync == SyncAlways || b.mustSync {
			s := time.Now()
			err := d.fsync()
			st.Sync = time.Since(s)
			if err != nil {
				d.cut(int64(len(b.buf)))
				return err
			}
			// fsynced, but into the file at d.path? If not, its writers
			// must not be told it is stored.
			if err := d.checkInPlace(); err != nil {
				return err
			}
		}
		return nil
	})
	st.Docs, st.Write = len(ops), time.Since(start)-st.Sync
	if len(b.buf) > 0 && !errors.Is(err, ErrFailed) {
		var ie *ioError
		if err == nil || errors.As(err, &ie) && ie.Op == "write" {
			d.noteWrite(err)
		}
	}
	if err != nil {
		for i := len(b.undo) - 1; i >= 0; i-- {
			b.undo[i]()
		}
		err = fmt.Errorf("commit to %s: %w", d.path, err)
		for _, o := range ops {
			if o.err == nil {
				o.err = err
			}
		}
		st.Err = err
		d.log.Debug().Err(err).Int("ops", ok).Msg("commit failed; nothing of it was kept")
	} else {
		if len(b.buf) > 0 {
			d.size.Add(int64(len(b.buf)))
			d.live.Add(b.live)
		}
		if len(b.after) > 0 {
			d.imu.Lock()
			for _, f := range b.after {
				f()
			}
			d.imu.Unlock()
		}
	}
	d.stats.commits.Add(1)
	d.stats.ops.Add(uint64(ok))
	if d.opts.OnCommit != nil {
		d.opts.OnCommit(st)
	}
}

// append writes a commit's records at the end of the file; on failure the
// file is cut back to its length before the commit. Callers hold d.wmu.
func (d *DB) append(buf []byte) error {
	d.nwrite++
	size := d.size.Load()
	var err error
	if f := d.opts.Faults; f != nil && f.Write != nil {
		if err = f.Write(d.nwrite); err != nil {
			_, _ = d.file.WriteAt(buf[:len(buf)/2], size) // what a full disk leaves
		}
	}
	if err == nil {
		_, err = d.file.WriteAt(buf, size)
	}
	if err != nil {
		d.stats.writeErrors.Add(1)
		d.cut(int64(len(buf)))
		return &ioError{"write", d.path, err}
	}
	d.dirty.Store(true)
	return nil
}

// cut truncates the file back to d.size, the end of the last whole commit,
// removing n bytes of a failed commit. If that fails the store stops: the
// file ends with records whose writers were told they failed. (Those records
// are complete or a torn prefix; either way the next Open reads a valid file,
// and a retried write finds its record there.)
func (d *DB) cut(n int64) {
	d.ncut++
	var err error
	if f := d.opts.Faults; f != nil && f.Truncate != nil {
		err = f.Truncate(d.ncut)
	}
	if err == nil {
		err = d.file.Truncate(d.size.Load())
	}
	if err != nil {
		d.fail(&ioError{"truncate", d.path, err})
		return
	}
	d.log.Debug().Int64("bytes", n).Msg("cut the records of a failed commit from the file")
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

// set stores a value already prefixed by its checksum (wrapValue, wrapBytes).
func (b *batch) set(key, val string) error {
	prev, had, err := b.tx.Set(key, val, nil)
	if err != nil {
		return err
	}
	b.keys = append(b.keys, keyUndo{key, prev, had})
	b.buf = appendSet(b.buf, key, val)
	b.endsDel = false
	b.live += setSize(len(key), len(val))
	if had {
		b.live -= setSize(len(key), len(prev))
	}
	return nil
}

func (b *batch) del(key string) error {
	prev, err := b.tx.Delete(key)
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	b.keys = append(b.keys, keyUndo{key, prev, true})
	b.buf = appendDel(b.buf, key)
	b.endsDel = true
	b.live -= setSize(len(key), len(prev))
	return nil
}

// Tx is a raw write transaction over the store's keys, given to migrations.
type Tx struct{ b *batch }

// Get returns the value stored at key, or ErrNotFound.
func (t *Tx) Get(key string) (string, error) {
	v, found, err := t.b.get(key)
	if err == nil && !found {
		return "", ErrNotFound
	}
	return v, err
}

// Set stores val at key.
func (t *Tx) Set(key, val string) error { return t.b.set(key, wrapValue(key, val)) }

// Delete removes key.
func (t *Tx) Delete(key string) error { return t.b.del(key) }

// Ascend calls fn for every key with prefix, in key order, until fn returns false.
// fn must not call Set or Delete.
func (t *Tx) Ascend(prefix string, fn func(key, val string) bool) error {
	return t.b.tx.AscendGreaterOrEqual("", prefix, func(k, v string) bool {
		if !strings.HasPrefix(k, prefix) {
			return false
		}
		return fn(k, unwrapValue(v))
	})
}
