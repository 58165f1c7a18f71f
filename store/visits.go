package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/db"
)

// A visitor's visits: what its browser told when it last came (user agent,
// language, time zone), where the current visit came from (referrer) and how
// many visits it made. Kept in collection "visits" (one small document per
// visitor, id = visitor id), written only when a visit starts or one of
// these changes, never rewriting the visitor document.

// VisitInfo is what the agents' context panel shows of a visitor's visits.
type VisitInfo struct {
	ID        string    `json:"id"`
	UserAgent string    `json:"ua,omitempty"`
	Browser   string    `json:"browser,omitempty"` // e.g. "Firefox 121.0"
	OS        string    `json:"os,omitempty"`      // e.g. "Windows 10"
	Device    string    `json:"device,omitempty"`  // desktop, mobile, tablet or bot, with a model if known
	Lang      string    `json:"lang,omitempty"`    // BCP 47 language tag of the browser
	TZ        string    `json:"tz,omitempty"`      // IANA time zone of the browser
	Referrer  string    `json:"referrer,omitempty"`
	Visits    int       `json:"visits"`
	Started   time.Time `json:"started"` // start of the latest visit
}

// Limits of VisitInfo fields, in bytes; longer values are cut at a rune boundary by the hub.
const (
	MaxUserAgent = 512
	MaxLang      = 35
	MaxTZ        = 64
)

// Merged is the merge rule of RecordVisit, for every store: v with id set,
// each non-empty field of info's user agent, browser, OS, device, language
// and time zone taken, and, when visit is true (a new visit, or the first
// record), the count grown, Started = now and info's referrer.
func (v VisitInfo) Merged(id string, info VisitInfo, visit bool, now time.Time) VisitInfo {
	v.ID = id
	set := func(dst *string, val string) {
		if val != "" {
			*dst = val
		}
	}
	set(&v.UserAgent, info.UserAgent)
	set(&v.Browser, info.Browser)
	set(&v.OS, info.OS)
	set(&v.Device, info.Device)
	set(&v.Lang, info.Lang)
	set(&v.TZ, info.TZ)
	if visit {
		v.Visits++
		v.Started = now
		v.Referrer = info.Referrer
	}
	return v
}

// RecordVisit merges info into visitor id's visits. With newVisit the visit
// count grows, Started is now and Referrer is info's; otherwise empty fields
// of info keep the stored values and the referrer of the visit stays. It
// writes only when something changed.
func (s *Store) RecordVisit(ctx context.Context, id string, info VisitInfo, newVisit bool) (VisitInfo, error) {
	if !s.visitors.Has(id) || s.barred(id) {
		return VisitInfo{}, fmt.Errorf("%w: visitor %q", ErrNotFound, id)
	}
	s.visitMu.Lock()
	defer s.visitMu.Unlock()
	cur, err := s.visits.Get(id)
	exists := err == nil
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return VisitInfo{}, fmt.Errorf("read visits: %w", err)
	}
	next := cur.Merged(id, info, newVisit || !exists, s.now())
	if exists && next == cur {
		return cur, nil
	}
	if exists {
		err = s.visits.Update(ctx, next)
	} else {
		_, err = s.visits.Insert(ctx, next)
	}
	if err != nil {
		return cur, fmt.Errorf("store visits: %w", err)
	}
	return next, nil
}

// Visits returns visitor id's visits; a zero VisitInfo (with ID) if it has none recorded.
func (s *Store) Visits(id string) (VisitInfo, error) {
	if !s.visitors.Has(id) {
		return VisitInfo{}, fmt.Errorf("%w: visitor %q", ErrNotFound, id)
	}
	v, err := s.visits.Get(id)
	if errors.Is(err, db.ErrNotFound) {
		return VisitInfo{ID: id}, nil
	}
	if err != nil {
		return VisitInfo{}, fmt.Errorf("read visits: %w", err)
	}
	return v, nil
}
