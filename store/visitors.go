package store

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// activityLess orders visitors most recent activity first: latest message
// offset, then last seen, then id (so the order is total and pages are stable).
func activityLess(a, b *VisitorSummary) bool {
	if a.Last != b.Last {
		return a.Last > b.Last
	}
	if !a.LastSeen.Equal(b.LastSeen) {
		return a.LastSeen.After(b.LastSeen)
	}
	return a.ID < b.ID
}

func sortByActivity(vs []VisitorSummary) {
	sort.Slice(vs, func(i, j int) bool { return activityLess(&vs[i], &vs[j]) })
}

// VisitorsPage returns up to limit visitors in the order of Visitors, starting
// after cursor ("" = from the most recent; a visitor's id also works: after
// that visitor's current place), each with its current page. next
// is the cursor of the page's last visitor and more says whether visitors
// follow it. The cursor is opaque; a malformed one is ErrInvalid. A visitor
// whose activity changed between two calls moves in the order, so it may be
// skipped or listed twice by a walk: live events tell about such changes.
func (s *Store) VisitorsPage(cursor string, limit int) (page []VisitorSummary, next string, more bool, err error) {
	return s.ConversationsPage(Filter{}, cursor, limit) // walks the inbox index (inbox.go)
}

// SortByActivity orders vs as Visitors returns them: most recent activity first.
func SortByActivity(vs []VisitorSummary) { sortByActivity(vs) }

// PageOf cuts the page VisitorsPage describes out of all (sorted by
// SortByActivity), for every store that lists visitors; it does not fill Page.
func PageOf(all []VisitorSummary, cursor string, limit int) (page []VisitorSummary, next string, more bool, err error) {
	var from *VisitorSummary
	isID := false
	for i := range all {
		if all[i].ID == cursor {
			isID = true
			break
		}
	}
	if cursor != "" && !isID {
		c, err := parseCursor(cursor)
		if err != nil {
			return nil, "", false, err
		}
		from = &c
	}
	i := 0
	switch {
	case from != nil:
		i = sort.Search(len(all), func(i int) bool { return activityLess(from, &all[i]) })
	case cursor != "": // a visitor id: continue after that visitor's current place
		for i < len(all) && all[i].ID != cursor {
			i++
		}
		i++
	}
	all = all[i:]
	if limit > 0 && len(all) > limit {
		all, more = all[:limit], true
	}
	if len(all) > 0 {
		next = formatCursor(&all[len(all)-1])
	}
	return all, next, more, nil
}

// formatCursor encodes a visitor's place in the activity order.
func formatCursor(v *VisitorSummary) string {
	raw := strconv.FormatUint(v.Last, 10) + "." + strconv.FormatInt(v.LastSeen.UnixNano(), 10) + "." + v.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func parseCursor(c string) (VisitorSummary, error) {
	bad := fmt.Errorf("%w: malformed visitors cursor", ErrInvalid)
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(c) > 256 {
		return VisitorSummary{}, bad
	}
	parts := strings.SplitN(string(raw), ".", 3)
	if len(parts) != 3 {
		return VisitorSummary{}, bad
	}
	last, err1 := strconv.ParseUint(parts[0], 10, 64)
	seen, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return VisitorSummary{}, bad
	}
	v := VisitorSummary{Last: last}
	v.ID, v.LastSeen = parts[2], time.Unix(0, seen).UTC()
	return v, nil
}
