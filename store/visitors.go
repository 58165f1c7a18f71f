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
