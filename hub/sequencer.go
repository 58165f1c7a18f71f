package hub

import (
	"sync"
)

// sequencer releases stored messages to the sockets in offset order although
// AddMessage calls run concurrently and return in any order. Readers resume
// with after = the highest offset they have seen, so a socket must never get
// offset n+1 before n.
//
// It relies on the store assigning offsets in the order it commits, while
// AddMessage runs: a call that starts after another returned gets a larger
// offset. Each call takes a ticket before AddMessage; a result is held back
// until every call that was in flight when it returned has finished (those are
// the only ones that may hold a smaller offset), then released smallest offset
// first. The delay is at most one concurrent AddMessage. (The db package
// assigns offsets inside its serialized commit, so this holds.)
type sequencer struct {
	mu       sync.Mutex
	next     uint64     // last ticket handed out
	inflight uint64Heap // tickets not finished yet (lazy deletion through done)
	done     map[uint64]struct{}
	held     releaseHeap   // results waiting for their barrier
	deliver  func(release) // called under mu, in offset order
	seq      uint64        // tie-breaker for equal offsets (duplicates)
	high     uint64        // highest offset released so far
}

// release is one stored message ready to go out.
type release struct {
	offset  uint64
	barrier uint64 // highest ticket in flight when the result arrived
	seq     uint64
	item    delivery
}

// newSequencer starts at offset start: the store's last offset, all of
// which is stored and nothing in flight when the hub starts.
func newSequencer(start uint64, deliver func(release)) *sequencer {
	return &sequencer{done: make(map[uint64]struct{}), deliver: deliver, high: start}
}

// published is the highest offset released so far: every message stored
// with an offset at or below it is already readable from the store.
func (q *sequencer) published() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.high
}

// begin takes a ticket; call it just before AddMessage.
func (q *sequencer) begin() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.next++
	pushHeap(&q.inflight, q.next, lessTicket)
	return q.next
}

// finish ends ticket t; with ok it queues r for release in offset order.
func (q *sequencer) finish(t uint64, r release, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.inflight) > 0 && q.inflight[0] == t {
		popHeap(&q.inflight, lessTicket)
		for len(q.inflight) > 0 {
			if _, d := q.done[q.inflight[0]]; !d {
				break
			}
			delete(q.done, q.inflight[0])
			popHeap(&q.inflight, lessTicket)
		}
	} else {
		q.done[t] = struct{}{}
	}
	if ok {
		q.seq++
		r.barrier, r.seq = q.next, q.seq
		pushHeap(&q.held, r, lessRelease)
	}
	for len(q.held) > 0 {
		// The smallest held offset may go once no call that could still
		// return a smaller one is in flight. A held result r with a larger
		// offset bounds those too: calls that started after r returned get
		// offsets above r's. So the bound is the smallest barrier held.
		bound := q.held[0].barrier
		for _, r := range q.held[1:] {
			bound = min(bound, r.barrier)
		}
		if len(q.inflight) > 0 && q.inflight[0] <= bound {
			break
		}
		r := popHeap(&q.held, lessRelease)
		q.high = max(q.high, r.offset)
		q.deliver(r)
	}
}

type uint64Heap []uint64

func lessTicket(a, b uint64) bool { return a < b }

type releaseHeap []release

// lessRelease orders releases by offset, then by arrival (duplicates).
func lessRelease(a, b release) bool {
	if a.offset != b.offset {
		return a.offset < b.offset
	}
	return a.seq < b.seq
}
