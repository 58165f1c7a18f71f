package store

import (
	"sync"
	"time"

	"github.com/tidwall/btree"
)

// The inbox index keeps, in memory, what the agents' list needs of every
// visitor without reading the visitor documents: its place in the activity
// order (latest message, then last seen, then id) and its conversation's
// state, with the counts per filter. Paging the list, filtering it and
// counting are then walks of this index: opening the portal over 100,000
// visitors reads 500 visitor documents, not 100,000 (docs/performance.md).
//
// It is built when the store opens (one pass over the visitors and the
// conversations) and kept up to date by the store's own writes: CreateVisitor,
// TouchVisitor, AddMessage and the conversation changes. About 150 bytes per
// visitor (measured: BenchmarkInboxIndexHeap).

// Conversation states (Conversation.Status).
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
	StatusSnoozed  = "snoozed"
)

// Filters of the agents' list (Filter.Kind); "" is FilterAll.
const (
	FilterAll        = "all"
	FilterOpen       = "open"
	FilterResolved   = "resolved"
	FilterSnoozed    = "snoozed"
	FilterMine       = "mine"
	FilterUnassigned = "unassigned"
)

// ValidFilter reports whether f names a filter ("" is FilterAll).
func ValidFilter(f string) bool {
	switch f {
	case "", FilterAll, FilterOpen, FilterResolved, FilterSnoozed, FilterMine, FilterUnassigned:
		return true
	}
	return false
}

// Filter selects visitors of the agents' list. Me is the agent asking (for FilterMine).
type Filter struct {
	Kind string
	Me   string
}

// Counts are how many visitors each filter selects, for one agent.
type Counts struct {
	All        int `json:"all"`
	Open       int `json:"open"`
	Resolved   int `json:"resolved"`
	Snoozed    int `json:"snoozed"`
	Mine       int `json:"mine"`
	Unassigned int `json:"unassigned"`
}

// states of inboxEntry.status; stNone: no message and no state set yet.
const (
	stNone uint8 = iota
	stOpen
	stResolved
	stSnoozed
)

var statusNames = [...]string{stNone: "", stOpen: StatusOpen, stResolved: StatusResolved, stSnoozed: StatusSnoozed}

func statusCode(s string) uint8 {
	switch s {
	case StatusOpen:
		return stOpen
	case StatusResolved:
		return stResolved
	case StatusSnoozed:
		return stSnoozed
	}
	return stNone
}

// inboxEntry is one visitor in the index.
type inboxEntry struct {
	id       string
	last     uint64 // offset of its latest message (0: none)
	opened   uint64 // offset of the message that made the conversation (this run only)
	seen     int64  // last seen, Unix nanoseconds
	status   uint8  // stored state; stNone with last > 0 reads as open
	hasDoc   bool   // a conversation document is stored
	assignee string
	snooze   int64  // snoozed until, Unix nanoseconds (0: not snoozed)
	since    uint64 // the store's last offset when the state was last set
	vseen    uint64 // the visitor has seen up to this offset
	aseen    uint64 // an agent has seen up to this offset
	updated  int64  // last change of the state, Unix nanoseconds
}

// state is the conversation state as the agents see it.
func (e *inboxEntry) state() uint8 {
	if e.status == stNone && e.last > 0 {
		return stOpen
	}
	return e.status
}

// activityBefore orders the list: latest message first, then last seen, then id.
func activityBefore(a, b *inboxEntry) bool {
	if a.last != b.last {
		return a.last > b.last
	}
	if a.seen != b.seen {
		return a.seen > b.seen
	}
	return a.id < b.id
}

// inbox is the index. Its lock is held for map and tree updates only, never
// across a store write.
type inbox struct {
	mu       sync.RWMutex
	byID     map[string]*inboxEntry
	order    *btree.BTreeG[*inboxEntry]
	count    [4]int         // visitors per state
	openBy   map[string]int // open conversations per assignee
	assigned int            // open conversations with an assignee
	snoozed  map[string]int64
	names    map[string]string // interned agent names
}

func newInbox() *inbox {
	return &inbox{
		byID:    make(map[string]*inboxEntry),
		order:   btree.NewBTreeGOptions(activityBefore, btree.Options{NoLocks: true}),
		openBy:  make(map[string]int),
		snoozed: make(map[string]int64),
		names:   make(map[string]string),
	}
}

// tally adds (d = 1) or removes (d = -1) e from the counts.
func (x *inbox) tally(e *inboxEntry, d int) {
	st := e.state()
	x.count[st] += d
	if st == stOpen && e.assignee != "" {
		x.openBy[e.assignee] += d
		if x.openBy[e.assignee] == 0 {
			delete(x.openBy, e.assignee)
		}
		x.assigned += d
	}
	if st == stSnoozed && e.snooze != 0 {
		if d > 0 {
			x.snoozed[e.id] = e.snooze
		} else {
			delete(x.snoozed, e.id)
		}
	}
}

// intern shares one string per agent name among the entries.
func (x *inbox) intern(name string) string {
	if name == "" {
		return ""
	}
	if n, ok := x.names[name]; ok {
		return n
	}
	x.names[name] = name
	return name
}

// change runs fn on visitor id's entry, keeping the order and counts right;
// false if the visitor is not indexed. With create, a missing entry is made.
func (x *inbox) change(id string, create bool, fn func(e *inboxEntry)) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.byID[id]
	if e == nil {
		if !create {
			return false
		}
		e = &inboxEntry{id: id}
		x.byID[id] = e
	} else {
		x.order.Delete(e)
		x.tally(e, -1)
	}
	fn(e)
	e.assignee = x.intern(e.assignee)
	x.order.Set(e)
	x.tally(e, 1)
	return true
}

// remove forgets visitor id.
func (x *inbox) remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e := x.byID[id]; e != nil {
		x.order.Delete(e)
		x.tally(e, -1)
		delete(x.byID, id)
	}
}

// get copies visitor id's entry.
func (x *inbox) get(id string) (inboxEntry, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := x.byID[id]
	if e == nil {
		return inboxEntry{}, false
	}
	return *e, true
}

// matches reports whether e is in the list f selects.
func (f Filter) matches(e *inboxEntry) bool {
	st := e.state()
	switch f.Kind {
	case FilterOpen:
		return st == stOpen
	case FilterResolved:
		return st == stResolved
	case FilterSnoozed:
		return st == stSnoozed
	case FilterMine:
		return st == stOpen && e.assignee == f.Me && f.Me != ""
	case FilterUnassigned:
		return st == stOpen && e.assignee == ""
	}
	return true
}

// page returns up to limit+1 entries f selects after pivot (nil: from the
// top), in activity order.
func (x *inbox) page(f Filter, pivot *inboxEntry, limit int) []inboxEntry {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []inboxEntry
	visit := func(e *inboxEntry) bool {
		if pivot != nil && !activityBefore(pivot, e) {
			return true // the pivot itself
		}
		if f.matches(e) {
			out = append(out, *e)
		}
		return limit <= 0 || len(out) <= limit
	}
	if pivot == nil {
		x.order.Scan(visit)
	} else {
		x.order.Ascend(pivot, visit)
	}
	return out
}

// counts returns the counts for agent me.
func (x *inbox) counts(me string) Counts {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return Counts{
		All:        len(x.byID),
		Open:       x.count[stOpen],
		Resolved:   x.count[stResolved],
		Snoozed:    x.count[stSnoozed],
		Mine:       x.openBy[me],
		Unassigned: x.count[stOpen] - x.assigned,
	}
}

// openOf is the number of open conversations assigned to agent name.
func (x *inbox) openOf(name string) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.openBy[name]
}

// nextWake is the earliest end of a snooze, false if none.
func (x *inbox) nextWake() (time.Time, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var min int64
	for _, t := range x.snoozed {
		if min == 0 || t < min {
			min = t
		}
	}
	return time.Unix(0, min).UTC(), min != 0
}

// due lists the conversations whose snooze ended at or before now.
func (x *inbox) due(now time.Time) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var ids []string
	for id, t := range x.snoozed {
		if t <= now.UnixNano() {
			ids = append(ids, id)
		}
	}
	return ids
}
