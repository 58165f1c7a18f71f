package webhook

import (
	"sync"
	"time"
)

// Status of a Delivery.
const (
	StatusPending   = "pending"   // queued, not attempted yet
	StatusRetrying  = "retrying"  // an attempt failed, another is scheduled
	StatusDelivered = "delivered" // the receiver answered 2xx
	StatusFailed    = "failed"    // given up: permanent answer or attempts exhausted
	StatusDropped   = "dropped"   // never attempted: queue full, or chatd stopped
)

// Delivery is one event sent to one endpoint, as the admins' delivery log
// shows it. Endpoint is scheme://host only (webhook URLs carry credentials
// in their path) and Error never contains the URL.
type Delivery struct {
	ID       string        `json:"id"` // event id, the HeaderDelivery value
	Event    string        `json:"event"`
	Endpoint string        `json:"endpoint"`
	Status   string        `json:"status"`
	Attempts int           `json:"attempts"`
	Code     int           `json:"code,omitempty"`  // last HTTP status; 0 without an answer
	Error    string        `json:"error,omitempty"` // last failure
	Latency  time.Duration `json:"latency_ns"`      // of the last attempt: request sent to answer read
	Created  time.Time     `json:"created"`         // when the event was queued
	Updated  time.Time     `json:"updated"`         // last change
}

// deliveryLog keeps the last n deliveries in a ring.
type deliveryLog struct {
	mu   sync.Mutex
	ring []*Delivery
	next int
	full bool
}

func newLog(n int) *deliveryLog { return &deliveryLog{ring: make([]*Delivery, n)} }

// add records d (evicting the oldest) and returns the entry to update.
func (l *deliveryLog) add(d Delivery) *Delivery {
	e := &d
	l.mu.Lock()
	l.ring[l.next] = e
	l.next = (l.next + 1) % len(l.ring)
	if l.next == 0 {
		l.full = true
	}
	l.mu.Unlock()
	return e
}

// update changes e under the log's lock (e may have been evicted: harmless).
func (l *deliveryLog) update(e *Delivery, fn func(*Delivery)) {
	l.mu.Lock()
	fn(e)
	e.Updated = time.Now().UTC()
	l.mu.Unlock()
}

// list copies the entries, newest first.
func (l *deliveryLog) list() []Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.next
	if l.full {
		n = len(l.ring)
	}
	out := make([]Delivery, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, *l.ring[(l.next-i+len(l.ring))%len(l.ring)])
	}
	return out
}
