package store

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/chatd/chatd/db"
)

// Search finds messages by the words of their text, and visitors by their
// name, e-mail or attributes.
//
// Messages are found through a compact in-memory word index: each word of a
// message (lower-cased, split at anything that is not a letter or digit;
// each Han, Hiragana or Katakana character is a word of its own) is hashed
// to one of searchBuckets buckets, and the bucket keeps the offsets of the
// messages holding such a word, in blocks of varint deltas, each posting
// followed by a check byte (8 more bits of the word's hash). A query walks
// the bucket of its rarest word newest block first, and reads each message
// it names to check that its text really has every word (a hash never
// decides alone), until it has its results; after verifyDirect candidates it
// first narrows them by the other words' buckets. The index keeps no text:
// about 3 bytes per word of a message (see docs/performance.md). It is built
// in the background when the store opens (Search waits for it), kept up to
// date by AddMessage, and entries of deleted messages are removed with them.
//
// Visitors are found by a substring of their name, e-mail or attribute
// values, case-insensitively, scanning a folded copy of those fields kept in
// memory (a visitor's fields are short; 100,000 visitors scan in a few ms).

// searchBuckets is the number of buckets of the word index (a power of two).
const searchBuckets = 1 << 16

// Search limits.
const (
	MaxQuery       = 256 // bytes of a query
	MaxQueryWords  = 8   // words of a query that are looked up
	MaxSearchLimit = 100 // results of one search
	maxWordBytes   = 64  // longer words are hashed on their first 64 bytes
	snippetRunes   = 120 // characters of a result's snippet
)

// Result fields.
const (
	FieldText       = "text"
	FieldName       = "name"
	FieldEmail      = "email"
	FieldAttributes = "attributes"
)

// SearchResult is one hit: a message (Offset, At) or a visitor field.
type SearchResult struct {
	Client  string
	Name    string // the visitor's name
	Offset  uint64 // the message, 0 for a visitor field
	At      time.Time
	Field   string // FieldText, FieldName, FieldEmail or FieldAttributes
	Snippet string // the text around the match
	Note    bool   // the match is in an internal note
}

// searchIndex is the word index and the visitors' folded fields.
type searchIndex struct {
	seed  maphash.Seed
	mu    sync.RWMutex
	b     []bucket
	words int               // postings kept, for Stats
	who   map[string]string // visitor id -> folded "name\x00email\x00attribute values"
	ready chan struct{}     // closed once the background build is done
	err   error             // set if the build failed
	stop  context.CancelFunc
	done  chan struct{}
}

func newSearchIndex() *searchIndex {
	return &searchIndex{
		seed:  maphash.MakeSeed(),
		b:     make([]bucket, searchBuckets),
		who:   make(map[string]string),
		ready: make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// words splits text into its lower-cased words, each at most once, in the
// order they first appear. A word whose characters are all lower case
// already is a substring of text (no copy): it runs for every stored message.
func words(text string) []string {
	var out []string
	var seen map[string]bool // once out is long: a scan of out is cheaper before
	add := func(w string) {
		if len(w) > maxWordBytes {
			w = w[:maxWordBytes]
			for len(w) > 0 && !utf8.ValidString(w) {
				w = w[:len(w)-1]
			}
		}
		switch {
		case w == "":
			return
		case seen != nil:
			if seen[w] {
				return
			}
			seen[w] = true
		case slices.Contains(out, w):
			return
		case len(out) == 16:
			seen = make(map[string]bool, 64)
			for _, o := range out {
				seen[o] = true
			}
			seen[w] = true
		}
		out = append(out, w)
	}
	var cur []byte // the lower-cased word, once one of its characters changed
	start, lower := -1, true
	flush := func(end int) {
		switch {
		case start < 0:
		case lower:
			add(text[start:end])
		default:
			add(string(cur))
		}
		start, lower, cur = -1, true, cur[:0]
	}
	for i, r := range text {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana):
			flush(i)
			if l := unicode.ToLower(r); l == r {
				add(text[i : i+utf8.RuneLen(r)])
			} else {
				add(string(l))
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r) || start >= 0 && unicode.Is(unicode.Mn, r):
			// A combining mark belongs to the word it follows (é as e+U+0301); on
			// nothing, or on an emoji or a symbol (the selector of 🏳️), it is no word.
			if start < 0 {
				start = i
			}
			l := unicode.ToLower(r)
			if lower && l != r {
				lower = false
				cur = append(cur[:0], text[start:i]...)
			}
			if !lower {
				cur = utf8.AppendRune(cur, l)
			}
		default:
			flush(i)
		}
	}
	flush(len(text))
	return out
}

func (x *searchIndex) hash(w string) (b int, check byte) {
	h := maphash.String(x.seed, w)
	return int(h & (searchBuckets - 1)), byte(h >> 56)
}

// add indexes the words of message offset. Offsets may come in any order
// (concurrent writers): deltas are signed.
func (x *searchIndex) add(offset uint64, text string) {
	ws := words(text)
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, w := range ws {
		bi, check := x.hash(w)
		x.b[bi].append(offset, check)
		x.words++
	}
}

// remove drops the given offsets from the buckets of words.
func (x *searchIndex) remove(texts map[uint64]string) {
	buckets := map[int]bool{}
	for _, t := range texts {
		for _, w := range words(t) {
			bi, _ := x.hash(w)
			buckets[bi] = true
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for bi := range buckets {
		var nb bucket
		for k := range x.b[bi].blocks {
			x.b[bi].blocks[k].each(func(o uint64, check byte) {
				if _, gone := texts[o]; gone {
					x.words--
					return
				}
				nb.append(o, check)
			})
		}
		x.b[bi] = nb // new blocks: a search holding the old ones reads them unchanged
	}
}

// verifyDirect is how many candidates a search checks against their text
// before it narrows the rest down by intersecting the other words' buckets:
// checking a message costs a read, decoding a large bucket costs more while
// the words often meet.
const verifyDirect = 2000

type look struct {
	bi    int
	check byte
}

func (x *searchIndex) looks(ws []string) []look {
	ls := make([]look, len(ws))
	for i, w := range ws {
		ls[i].bi, ls[i].check = x.hash(w)
	}
	x.mu.RLock()
	// The smallest bucket drives.
	slices.SortFunc(ls, func(a, b look) int { return x.b[a.bi].size() - x.b[b.bi].size() })
	x.mu.RUnlock()
	return ls
}

// scan calls fn with the offsets of bucket l whose check byte matches,
// newest block first (within a block, newest first), until fn returns false.
// It holds the index's lock only to take a snapshot of the blocks.
func (x *searchIndex) scan(l look, fn func(uint64) bool) {
	x.mu.RLock()
	blocks := x.b[l.bi].snapshot()
	x.mu.RUnlock()
	buf := make([]uint64, 0, blockPostings)
	for k := len(blocks) - 1; k >= 0; k-- {
		buf = buf[:0]
		blocks[k].each(func(o uint64, check byte) {
			if check == l.check {
				buf = append(buf, o)
			}
		})
		for i := len(buf) - 1; i >= 0; i-- {
			if !fn(buf[i]) {
				return
			}
		}
	}
}

// offsets returns the matching offsets of bucket l, ascending.
func (x *searchIndex) offsets(l look) []uint64 {
	var out []uint64
	x.scan(l, func(o uint64) bool { out = append(out, o); return true })
	slices.Sort(out)
	return slices.Compact(out)
}

// foldVisitor is the searchable form of a visitor's fields.
func foldVisitor(name, email string, attrs map[string]string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(name))
	b.WriteByte(0)
	b.WriteString(strings.ToLower(email))
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteByte(0)
		b.WriteString(strings.ToLower(attrs[k]))
	}
	return b.String()
}

// setVisitor records (or with name "" forgets) a visitor's searchable fields.
func (x *searchIndex) setVisitor(id, name, email string, attrs map[string]string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if name == "" && email == "" && len(attrs) == 0 {
		delete(x.who, id)
		return
	}
	x.who[id] = foldVisitor(name, email, attrs)
}

// build indexes every stored message; it runs in the background from Open.
func (s *Store) buildSearch(ctx context.Context) {
	x := s.search
	defer close(x.done)
	defer close(x.ready)
	upTo := s.messages.Seq() // later messages are added by AddMessage
	// In chunks: one long read transaction would hold up every write meanwhile.
	var after uint64
	for after < upTo && ctx.Err() == nil {
		ms, err := s.messages.Find(db.Query{After: db.SeqID(after), Limit: searchChunk})
		if err != nil {
			x.err = fmt.Errorf("build the search index: %w", err)
			return
		}
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			if m.Offset <= upTo {
				x.add(m.Offset, m.Text)
			}
		}
		after = ms[len(ms)-1].Offset
	}
	if err := ctx.Err(); err != nil {
		x.err = fmt.Errorf("build the search index: %w", err)
		return
	}
	// Reading every message left garbage of the size of the history (the
	// collector's headroom, which the runtime returns to the OS only over
	// minutes): hand it back now, as Open does after loading.
	debug.FreeOSMemory()
}

// searchChunk is how many messages the background build reads per transaction.
const searchChunk = 1000

// ErrSearchUnavailable means the search index could not be built.
var ErrSearchUnavailable = errors.New("search index unavailable")

// Search returns up to limit (1 to MaxSearchLimit) results for q: visitors
// whose name, e-mail or attribute values hold q (case-insensitively), then
// messages holding every word of q, newest first. more says whether more
// results exist. An empty or too long q is ErrInvalid. It waits for the
// index while it is being built, at most until ctx ends.
func (s *Store) Search(ctx context.Context, q string, limit int) (results []SearchResult, more bool, err error) {
	q = strings.TrimSpace(q)
	if q == "" || len(q) > MaxQuery || !utf8.ValidString(q) {
		return nil, false, fmt.Errorf("%w: q must be 1 to %d bytes of text", ErrInvalid, MaxQuery)
	}
	limit = min(max(limit, 1), MaxSearchLimit)
	x := s.search
	select {
	case <-x.ready:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("%w: still being built", ErrSearchUnavailable)
	}
	if x.err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrSearchUnavailable, x.err)
	}
	results = s.searchVisitors(strings.ToLower(q), limit+1)
	if len(results) > limit {
		return results[:limit], true, nil
	}
	ws := words(q)
	if len(ws) > MaxQueryWords {
		ws = ws[:MaxQueryWords]
	}
	if len(ws) == 0 {
		return results, false, nil
	}
	names := map[string]string{}
	ls := x.looks(ws)
	var others map[int][]uint64 // the other words' offsets, once the driver proved large
	checked := 0
	seen := map[uint64]bool{}
	full := false
	var ferr error
	x.scan(ls[0], func(o uint64) bool {
		if seen[o] {
			return true
		}
		seen[o] = true
		if ctx.Err() != nil {
			ferr = ctx.Err()
			return false
		}
		if checked++; checked > verifyDirect && len(ls) > 1 {
			if others == nil { // many candidates: narrow them by the other words first
				others = map[int][]uint64{}
				for _, l := range ls[1:] {
					others[l.bi*256+int(l.check)] = x.offsets(l)
				}
			}
			for _, l := range ls[1:] {
				if _, ok := slices.BinarySearch(others[l.bi*256+int(l.check)], o); !ok {
					return true
				}
			}
		}
		m, err := s.messages.Get(db.SeqID(o))
		if errors.Is(err, db.ErrNotFound) {
			return true // deleted since
		}
		if err != nil {
			ferr = fmt.Errorf("search: %w", err)
			return false
		}
		if !holdsAll(m.Text, ws) {
			return true // another word with the same hash
		}
		if len(results) == limit {
			full = true
			return false
		}
		name, ok := names[m.Client]
		if !ok {
			if v, err := s.visitors.Get(m.Client); err == nil {
				name = v.Name
			}
			names[m.Client] = name
		}
		results = append(results, SearchResult{Client: m.Client, Name: name, Offset: m.Offset, At: m.At, Field: FieldText, Snippet: snippet(m.Text, ws[0]), Note: m.Note})
		return true
	})
	if ferr != nil {
		return nil, false, ferr
	}
	// Newest first (writers running at once may have appended a posting a little out of order).
	msgs := results[len(results)-countText(results):]
	slices.SortStableFunc(msgs, func(a, b SearchResult) int { return cmpDesc(a.Offset, b.Offset) })
	return results, full, nil
}

func countText(rs []SearchResult) int {
	n := 0
	for _, r := range rs {
		if r.Field == FieldText {
			n++
		}
	}
	return n
}

func cmpDesc(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// holdsAll reports whether text has every word of ws.
func holdsAll(text string, ws []string) bool {
	have := map[string]bool{}
	for _, w := range words(text) {
		have[w] = true
	}
	for _, w := range ws {
		if !have[w] {
			return false
		}
	}
	return true
}

// searchVisitors returns up to max visitors whose folded fields hold q.
func (s *Store) searchVisitors(q string, max int) []SearchResult {
	x := s.search
	x.mu.RLock()
	var ids []string
	for id, f := range x.who {
		if strings.Contains(f, q) {
			ids = append(ids, id)
		}
	}
	x.mu.RUnlock()
	slices.Sort(ids)
	var out []SearchResult
	for _, id := range ids {
		if len(out) >= max {
			break
		}
		v, err := s.visitors.Get(id)
		if err != nil {
			continue
		}
		r := SearchResult{Client: id, Name: v.Name, Field: FieldName, Snippet: v.Name}
		if !strings.Contains(strings.ToLower(v.Name), q) {
			email, attrs := s.contactOf(id)
			r.Field, r.Snippet = FieldAttributes, ""
			if strings.Contains(strings.ToLower(email), q) {
				r.Field, r.Snippet = FieldEmail, email
			}
			for _, k := range sortedKeys(attrs) {
				if r.Snippet == "" && strings.Contains(strings.ToLower(attrs[k]), q) {
					r.Snippet = k + ": " + attrs[k]
				}
			}
		}
		out = append(out, r)
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// contactOf is a visitor's e-mail and attributes (its profile).
func (s *Store) contactOf(id string) (email string, attrs map[string]string) {
	p, err := s.prof.docs.Get(id)
	if err != nil {
		return "", nil
	}
	return p.Email, p.Attributes
}

// nameOf is a visitor's name, "" if unknown.
func (s *Store) nameOf(id string) string {
	v, err := s.visitors.Get(id)
	if err != nil {
		return ""
	}
	return v.Name
}

// snippet is up to snippetRunes characters of text around the first place word starts.
func snippet(text, word string) string {
	low := strings.ToLower(text)
	i := strings.Index(low, word)
	if i < 0 || len(low) != len(text) { // lower-casing changed lengths: start at the top
		i = 0
	}
	start := i
	for n := 0; start > 0 && n < snippetRunes/3; n++ {
		_, size := utf8.DecodeLastRuneInString(text[:start])
		start -= size
	}
	end := start
	for n := 0; end < len(text) && n < snippetRunes; n++ {
		_, size := utf8.DecodeRuneInString(text[end:])
		end += size
	}
	out := text[start:end]
	if start > 0 {
		out = "…" + out
	}
	if end < len(text) {
		out += "…"
	}
	return out
}

// SearchStats are the word index's size: postings kept and bytes they take.
type SearchStats struct {
	Postings int
	Bytes    int
	Visitors int
}

// SearchStats returns the size of the search index.
func (s *Store) SearchStats() SearchStats {
	x := s.search
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := SearchStats{Postings: x.words, Visitors: len(x.who)}
	for i := range x.b {
		st.Bytes += x.b[i].size() + len(x.b[i].blocks)*int(unsafe.Sizeof(block{}))
	}
	return st
}
