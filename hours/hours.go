// Package hours says whether business hours are open at an instant, and
// when that next changes. A schedule is weekly wall-clock ranges in one IANA
// time zone ("mon-fri 09:00-17:30; sat 10:00-14:00" in Europe/Paris); a range
// whose end is not after its start runs overnight into the next day.
//
// The rule across daylight-saving transitions is the wall clock: an instant is
// open when its local time in the zone falls in a range of its local weekday
// (or in the overnight tail of the day before). So on a spring-forward day a
// range inside the skipped hour never opens and a range ending after it is an
// hour shorter; on a fall-back day the repeated hour is open twice if it is
// in a range. The zone rules come from the IANA database (embedded with
// time/tzdata, so a scratch image needs no zoneinfo files).
package hours

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones without system zoneinfo (distroless/scratch images)
)

const day = 24 * 60 * 60 // seconds

// span is [start, end) in seconds from the local midnight of its weekday;
// end may pass day (overnight, up to 48h).
type span struct{ start, end int }

// Schedule is a weekly set of open ranges in one time zone. A nil *Schedule
// means "no business hours configured": always open. Safe for concurrent use.
type Schedule struct {
	loc  *time.Location
	days [7][]span // by time.Weekday
	spec string
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Parse reads spec in zone tz (an IANA name such as "Europe/Paris", or "UTC";
// "" means UTC; "Local" is refused, the server's zone is not the business's).
//
// spec is entries separated by ";", each "DAYS RANGES":
//   - DAYS: a day (mon tue wed thu fri sat sun), a range of days ("mon-fri",
//     "fri-mon" wraps), several joined by "," ("mon,wed,fri"), or "daily";
//   - RANGES: "HH:MM-HH:MM" joined by ","; 00:00 to 24:00, minutes 00-59. An
//     end at or before the start ends the next day ("22:00-02:00");
//     "00:00-24:00" is the whole day. Equal start and end are refused.
//
// Names are case-insensitive. An empty spec is an error: use a nil Schedule
// for "always open".
func Parse(spec, tz string) (*Schedule, error) {
	if tz == "" {
		tz = "UTC"
	}
	if tz == "Local" {
		return nil, fmt.Errorf("hours time zone: give an IANA name such as Europe/Paris, not Local")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("hours time zone %q: not an IANA time zone name (e.g. Europe/Paris, America/New_York, UTC)", tz)
	}
	s := &Schedule{loc: loc}
	var norm []string
	for _, entry := range strings.Split(spec, ";") {
		entry = strings.ToLower(strings.TrimSpace(entry))
		if entry == "" {
			continue
		}
		fields := strings.Fields(entry)
		if len(fields) != 2 {
			return nil, fmt.Errorf("hours entry %q: want DAYS RANGES, e.g. \"mon-fri 09:00-17:00\"", entry)
		}
		days, err := parseDays(fields[0])
		if err != nil {
			return nil, fmt.Errorf("hours entry %q: %w", entry, err)
		}
		var spans []span
		for _, r := range strings.Split(fields[1], ",") {
			sp, err := parseRange(r)
			if err != nil {
				return nil, fmt.Errorf("hours entry %q: %w", entry, err)
			}
			spans = append(spans, sp)
		}
		for _, d := range days {
			s.days[d] = append(s.days[d], spans...)
		}
		norm = append(norm, fields[0]+" "+fields[1])
	}
	if len(norm) == 0 {
		return nil, fmt.Errorf("hours: empty schedule (leave business hours unset to be always open)")
	}
	for d := range s.days {
		slices.SortFunc(s.days[d], func(a, b span) int { return a.start - b.start })
	}
	s.spec = strings.Join(norm, "; ")
	return s, nil
}

func parseDays(f string) ([]time.Weekday, error) {
	if f == "daily" {
		return []time.Weekday{0, 1, 2, 3, 4, 5, 6}, nil
	}
	var out []time.Weekday
	for _, part := range strings.Split(f, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, ok := dayNames[from]
		if !ok {
			return nil, fmt.Errorf("day %q: want mon, tue, wed, thu, fri, sat, sun or daily", from)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b, ok := dayNames[to]
		if !ok {
			return nil, fmt.Errorf("day %q: want mon, tue, wed, thu, fri, sat, sun", to)
		}
		for d := a; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == b {
				break
			}
		}
	}
	return out, nil
}

func parseRange(r string) (span, error) {
	a, b, ok := strings.Cut(r, "-")
	if !ok {
		return span{}, fmt.Errorf("range %q: want HH:MM-HH:MM", r)
	}
	start, err := parseClock(a)
	if err != nil {
		return span{}, fmt.Errorf("range %q: %w", r, err)
	}
	end, err := parseClock(b)
	if err != nil {
		return span{}, fmt.Errorf("range %q: %w", r, err)
	}
	switch {
	case start == day:
		return span{}, fmt.Errorf("range %q: 24:00 can only end a range", r)
	case start == end:
		return span{}, fmt.Errorf("range %q: start equals end (write 00:00-24:00 for a whole day)", r)
	case end < start:
		end += day // overnight
	}
	return span{start, end}, nil
}

func parseClock(c string) (int, error) {
	h, m, ok := strings.Cut(c, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("time %q: want HH:MM", c)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("time %q: want 00:00 to 24:00", c)
	}
	return hh*3600 + mm*60, nil
}

// String is the schedule as Parse reads it, normalised, with its zone.
func (s *Schedule) String() string {
	if s == nil {
		return "always open"
	}
	return s.spec + " (" + s.loc.String() + ")"
}

// Location is the schedule's time zone (UTC for a nil Schedule).
func (s *Schedule) Location() *time.Location {
	if s == nil {
		return time.UTC
	}
	return s.loc
}

// Open reports whether t falls in business hours.
func (s *Schedule) Open(t time.Time) bool {
	if s == nil {
		return true
	}
	l := t.In(s.loc)
	sec := l.Hour()*3600 + l.Minute()*60 + l.Second()
	wd := l.Weekday()
	for _, sp := range s.days[wd] {
		if sp.start <= sec && sec < sp.end {
			return true
		}
	}
	for _, sp := range s.days[(wd+6)%7] { // yesterday's overnight tails
		if sp.end > day && sec+day < sp.end {
			return true
		}
	}
	return false
}

// horizon bounds the search for the next change: a weekly schedule changes
// within a week, plus margin for a range that a transition skipped.
const horizon = 15 * 24 * time.Hour

// At reports whether t is open and the first instant after t at which that
// changes (open to closed or closed to open). next is zero when it never
// changes (a nil Schedule, or open around the clock).
func (s *Schedule) At(t time.Time) (open bool, next time.Time) {
	open = s.Open(t)
	if s == nil {
		return open, time.Time{}
	}
	for _, c := range s.candidates(t) {
		if s.Open(c) != open {
			return open, c
		}
	}
	return open, time.Time{}
}

// candidates lists, in order, every instant in (t, t+horizon] at which the
// state can change: each range boundary at every instant its wall time
// occurs (none in a skipped hour, two in a repeated one), and each zone
// transition (where the wall clock jumps into or out of a range).
func (s *Schedule) candidates(t time.Time) []time.Time {
	end := t.Add(horizon)
	var out []time.Time
	offsets := map[int]bool{}
	_, off := t.In(s.loc).Zone()
	offsets[off] = true
	for cur := t; ; {
		_, until := cur.In(s.loc).ZoneBounds()
		if until.IsZero() || until.After(end) {
			break
		}
		out = append(out, until)
		_, off := until.In(s.loc).Zone()
		offsets[off] = true
		cur = until
	}
	l := t.In(s.loc)
	y, m, d := l.Date()
	for i := -1; i <= int(horizon/(24*time.Hour)); i++ {
		date := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC) // a calendar date, read as naive wall time
		for _, sp := range s.days[date.Weekday()] {
			for _, wall := range []time.Time{date.Add(time.Duration(sp.start) * time.Second), date.Add(time.Duration(sp.end) * time.Second)} {
				for o := range offsets {
					c := wall.Add(-time.Duration(o) * time.Second)
					if c.After(t) && !c.After(end) && sameWall(c.In(s.loc), wall) {
						out = append(out, c)
					}
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(out, func(a, b time.Time) bool { return a.Equal(b) })
}

// sameWall reports whether local reads the same wall clock as wall (a naive UTC time).
func sameWall(local, wall time.Time) bool {
	y1, m1, d1 := local.Date()
	y2, m2, d2 := wall.Date()
	return y1 == y2 && m1 == m2 && d1 == d2 && local.Hour() == wall.Hour() &&
		local.Minute() == wall.Minute() && local.Second() == wall.Second()
}
