package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/db"
)

// PageView is one page a visitor looked at.
type PageView struct {
	URL   string    `json:"url"`
	Title string    `json:"title,omitempty"`
	At    time.Time `json:"at"`
}

// page is a visitor's current page and the pages before it (collection
// "pages", one small document per visitor, id = visitor id). It lives apart
// from the visitor document so that navigating never rewrites that one.
type page struct {
	ID      string     `json:"id"`
	Current PageView   `json:"current"`
	Trail   []PageView `json:"trail,omitempty"` // older pages, newest last, at most TrailLen
}

// TrailLen is how many earlier pages are kept per visitor besides the current one.
const TrailLen = 10

// SetPage records that visitor id is now on p (p.At is set to now if zero).
// The previous current page moves to the trail, which keeps the newest
// TrailLen. A p with the same URL and title as the current page changes
// nothing and reports changed false. One transaction, per visitor serialized.
func (s *Store) SetPage(ctx context.Context, id string, p PageView) (cur PageView, changed bool, err error) {
	if p.URL == "" {
		return PageView{}, false, fmt.Errorf("%w: page url is empty", ErrInvalid)
	}
	if p.At.IsZero() {
		p.At = s.now()
	}
	p.At = p.At.UTC()
	if !s.visitors.Has(id) || s.barred(id) {
		return PageView{}, false, fmt.Errorf("%w: visitor %q", ErrNotFound, id)
	}
	s.pageMu.Lock() // read-modify-write: two tabs navigating at once must not lose a page
	defer s.pageMu.Unlock()
	doc, err := s.pages.Get(id)
	switch {
	case errors.Is(err, db.ErrNotFound):
		_, err = s.pages.Insert(ctx, page{ID: id, Current: p})
		if err != nil {
			return PageView{}, false, fmt.Errorf("store page: %w", err)
		}
		return p, true, nil
	case err != nil:
		return PageView{}, false, fmt.Errorf("read page: %w", err)
	}
	cur, trail, changed := NextPage(doc.Current, doc.Trail, p)
	if !changed {
		return cur, false, nil
	}
	doc.Current, doc.Trail = cur, trail
	if err := s.pages.Update(ctx, doc); err != nil {
		return PageView{}, false, fmt.Errorf("store page: %w", err)
	}
	return p, true, nil
}

// NextPage is the page rule of SetPage for every store: p becomes current
// and the current page moves to the trail (the newest TrailLen kept); p with
// the same URL and title as cur changes nothing (changed false).
func NextPage(cur PageView, trail []PageView, p PageView) (PageView, []PageView, bool) {
	if cur.URL == p.URL && cur.Title == p.Title {
		return cur, trail, false
	}
	trail = append(append([]PageView(nil), trail...), cur)
	if n := len(trail) - TrailLen; n > 0 {
		trail = trail[n:]
	}
	return p, trail, true
}

// Page returns visitor id's current page and its trail (oldest first);
// ErrNotFound when it never reported one.
func (s *Store) Page(id string) (current PageView, trail []PageView, err error) {
	doc, err := s.pages.Get(id)
	if err != nil {
		return PageView{}, nil, mapErr(err)
	}
	return doc.Current, doc.Trail, nil
}
