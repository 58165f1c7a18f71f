package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chatd/chatd/db"
)

// Search finds messages by the words of their text, and visitors by their
// name, e-mail or attributes.
//
// Messages are found through a compact in-memory word index: each word of a
// message (lower-cased, split at anything that is not a letter or digit;
// each Han, Hiragana or Katakana character is a word of its own) is hashed
// to one of searchBuckets buckets, and the bucket keeps the offsets of the
// messages holding such a word as varint deltas, each followed by a check
// byte (8 more bits of the word's hash). A query reads the bucket of each of
// its words, keeps the offsets whose check byte matches and that every word
// holds, then reads those messages from the store, newest first, and keeps
// those whose text really has every word (a hash never decides alone). The
// index keeps no text: about 2-3 bytes per word of a message (see
// docs/performance.md). It is built in the background when the store opens
// (Search waits for it), kept up to date by AddMessage, and entries of
// deleted messages are removed with them.
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
}

type bucket struct {
	data []byte
	last uint64
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

// words splits text into its lower-cased words, each at most once.
func words(text string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(w string) {
		if len(w) > maxWordBytes {
			w = w[:maxWordBytes]
			for len(w) > 0 && !utf8.ValidString(w) {
				w = w[:len(w)-1]
			}
		}
		if w != "" && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	var cur strings.Builder
	flush := func() {
		add(cur.String())
		cur.Reset()
	}
	for _, r := range text {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana):
			flush()
			add(string(unicode.ToLower(r)))
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			cur.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
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
	var tmp [binary.MaxVarintLen64 + 1]byte
	for _, w := range ws {
		bi, check := x.hash(w)
		b := &x.b[bi]
		n := binary.PutVarint(tmp[:], int64(offset)-int64(b.last))
		tmp[n] = check
		b.data = append(b.data, tmp[:n+1]...)
		b.last = offset
		x.words++
	}
}

// each calls fn for every offset of bucket bi whose check byte is check.
func (b *bucket) each(check byte, fn func(uint64)) {
	var cur int64
	d := b.data
	for len(d) > 0 {
		v, n := binary.Varint(d)
		if n <= 0 || n >= len(d) {
			return
		}
		cur += v
		if d[n] == check {
			fn(uint64(cur))
		}
		d = d[n+1:]
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
	var tmp [binary.MaxVarintLen64 + 1]byte
	for bi := range buckets {
		old := x.b[bi]
		nb := bucket{data: make([]byte, 0, len(old.data))}
		var cur int64
		d := old.data
		for len(d) > 0 {
			v, n := binary.Varint(d)
			if n <= 0 || n >= len(d) {
				break
			}
			cur += v
			check := d[n]
			d = d[n+1:]
			if _, gone := texts[uint64(cur)]; gone {
				x.words--
				continue
			}
			m := binary.PutVarint(tmp[:], cur-int64(nb.last))
			tmp[m] = check
			nb.data = append(nb.data, tmp[:m+1]...)
			nb.last = uint64(cur)
		}
		x.b[bi] = nb
	}
}

// verifyDirect is the number of candidates below which the other words'
// buckets are not intersected: reading that many messages to check them is
// cheaper than decoding a large bucket.
const verifyDirect = 4096

// candidates returns the offsets every word of ws may be in, ascending.
func (x *searchIndex) candidates(ws []string) []uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	type look struct {
		bi    int
		check byte
	}
	looks := make([]look, len(ws))
	for i, w := range ws {
		looks[i].bi, looks[i].check = x.hash(w)
	}
	// The smallest bucket drives; larger ones narrow it down only while it is large.
	slices.SortFunc(looks, func(a, b look) int { return len(x.b[a.bi].data) - len(x.b[b.bi].data) })
	decode := func(l look) []uint64 {
		var out []uint64
		x.b[l.bi].each(l.check, func(o uint64) { out = append(out, o) })
		if !slices.IsSorted(out) { // concurrent writers may append slightly out of order
			slices.Sort(out)
		}
		return slices.Compact(out)
	}
	out := decode(looks[0])
	for _, l := range looks[1:] {
		if len(out) <= verifyDirect {
			break
		}
		out = intersect(out, decode(l))
	}
	return out
}

// intersect keeps the offsets of a (ascending) that b (ascending) holds.
func intersect(a, b []uint64) []uint64 {
	out := a[:0]
	j := 0
	for _, o := range a {
		for j < len(b) && b[j] < o {
			j++
		}
		if j < len(b) && b[j] == o {
			out = append(out, o)
		}
	}
	return out
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
	}
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
	cands := x.candidates(ws)
	for i := len(cands) - 1; i >= 0; i-- { // newest first
		o := cands[i]
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		m, err := s.messages.Get(db.SeqID(o))
		if errors.Is(err, db.ErrNotFound) {
			continue // deleted since
		}
		if err != nil {
			return nil, false, fmt.Errorf("search: %w", err)
		}
		if !holdsAll(m.Text, ws) {
			continue // another word with the same hash
		}
		if len(results) == limit {
			return results, true, nil
		}
		name, ok := names[m.Client]
		if !ok {
			if v, err := s.visitors.Get(m.Client); err == nil {
				name = v.Name
			}
			names[m.Client] = name
		}
		results = append(results, SearchResult{Client: m.Client, Name: name, Offset: m.Offset, At: m.At, Field: FieldText, Snippet: snippet(m.Text, ws[0])})
	}
	return results, false, nil
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
		st.Bytes += cap(x.b[i].data)
	}
	return st
}
