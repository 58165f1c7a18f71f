package hub

import (
	"time"

	"golang.org/x/time/rate"
)

// Storage budgets: every message a visitor stores costs its text, its cid
// and messageOverhead bytes, taken from two budgets at once: the visitor's
// and its address's (see Config.AddressKey). A budget holds its daily
// amount and refills continuously at that amount per 24 hours, so a visitor
// who stayed quiet has it whole, and a flood is cut off once it has used a
// day's worth. Budgets are kept in memory (a restart refills them) and
// forgotten once full again, like every limiter of the hub.

// MessageOverhead approximates what one stored message costs beyond its text
// and cid, in bytes: its JSON document's fields, buntdb's item and its index
// entries in memory (measured: ~405 bytes, BenchmarkHeapPerMessage in store).
const MessageOverhead = 400

const messageOverhead = MessageOverhead

// pageOverhead is the same for one client:page write (document, trail entry).
const pageOverhead = 100

// visitorOverhead is the same for a new visitor (document, token index),
// charged with its meta to the address budget.
const visitorOverhead = 500

// quotas are the visitor and address storage budgets.
type quotas struct{ visitor, addr *limiters }

func newQuotas(perVisitor, perAddr int) quotas {
	day := float64(24 * time.Hour / time.Second)
	return quotas{
		visitor: newLimiters(rate.Limit(float64(perVisitor)/day), perVisitor),
		addr:    newLimiters(rate.Limit(float64(perAddr)/day), perAddr),
	}
}

// take spends n bytes of both budgets, or of neither. refund gives them back
// (call it when nothing was stored after all).
func (q quotas) take(visitor, addr string, n int) (refund func(), ok bool) {
	rv := q.visitor.reserve(visitor, n)
	if rv == nil {
		return nil, false
	}
	ra := q.addr.reserve(addr, n)
	if ra == nil {
		q.visitor.give(visitor, n)
		return nil, false
	}
	return func() { q.visitor.give(visitor, n); q.addr.give(addr, n) }, true
}

// takeAddr spends n bytes of an address's budget only (a visitor being created has none yet).
func (q quotas) takeAddr(addr string, n int) bool { return q.addr.reserve(addr, n) != nil }

// give returns n tokens taken by reserve to key's limiter. Reservation.Cancel
// cannot: it only undoes a reservation whose time has not come yet, and an
// immediate one's time is the moment it was made. A reservation of -n tokens
// adds n (golang.org/x/time/rate's reserveN subtracts n from the tokens; the
// next use caps them at the burst again).
func (s *limiters) give(key string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[key]; e != nil {
		e.l.ReserveN(time.Now(), -n)
	}
}

// reserve takes n tokens from key's limiter now, or none (nil) if it holds
// fewer than n.
func (s *limiters) reserve(key string, n int) *rate.Reservation {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	r := s.entry(key).l.ReserveN(now, n)
	if !r.OK() {
		return nil
	}
	if r.DelayFrom(now) > 0 {
		r.CancelAt(now)
		return nil
	}
	return r
}
