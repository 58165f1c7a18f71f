package hub

import (
	"container/heap"
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
	heap.Push(&q.inflight, q.next)
	return q.next
}

// finish ends ticket t; with ok it queues r for release in offset order.
func (q *sequencer) finish(t uint64, r release, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.inflight) > 0 && q.inflight[0] == t {
		heap.Pop(&q.inflight)
		for len(q.inflight) > 0 {
			if _, d := q.done[q.inflight[0]]; !d {
				break
			}
			delete(q.done, q.inflight[0])
			heap.Pop(&q.inflight)
		}
	} else {
		q.done[t] = struct{}{}
	}
	if ok {
		q.seq++
		r.barrier, r.seq = q.next, q.seq
		heap.Push(&q.held, r)
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
		r := heap.Pop(&q.held).(release)
		q.high = max(q.high, r.offset)
		q.deliver(r)
	}
}

type uint64Heap []uint64

func (h uint64Heap) Len() int           { return len(h) }
func (h uint64Heap) Less(i, j int) bool { return h[i] < h[j] }
func (h uint64Heap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *uint64Heap) Push(x any)        { *h = append(*h, x.(uint64)) }
func (h *uint64Heap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type releaseHeap []release

func (h releaseHeap) Len() int { return len(h) }
func (h releaseHeap) Less(i, j int) bool {
	if h[i].offset != h[j].offset {
		return h[i].offset < h[j].offset
	}
	return h[i].seq < h[j].seq
}
func (h releaseHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *releaseHeap) Push(x any)   { *h = append(*h, x.(release)) }
func (h *releaseHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = release{}
	*h = old[:len(old)-1]
	return x
}
