package hours

import (
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spec, tz string
		at       string // instant asked
		open     bool
		next     string // "" = never changes
	}{
		// Plain weekdays in Paris (CET, +01:00, in January).
		{"weekday inside", "mon-fri 09:00-17:00", "Europe/Paris", "2026-01-07T10:00:00+01:00", true, "2026-01-07T17:00:00+01:00"},
		{"end is exclusive", "mon-fri 09:00-17:00", "Europe/Paris", "2026-01-09T17:00:00+01:00", false, "2026-01-12T09:00:00+01:00"},
		{"start is inclusive", "mon-fri 09:00-17:00", "Europe/Paris", "2026-01-12T09:00:00+01:00", true, "2026-01-12T17:00:00+01:00"},
		{"weekend closed", "mon-fri 09:00-17:00", "Europe/Paris", "2026-01-10T12:00:00+01:00", false, "2026-01-12T09:00:00+01:00"},
		{"the zone, not UTC, decides", "mon-fri 09:00-17:00", "Europe/Paris", "2026-01-07T08:30:00Z", true, "2026-01-07T16:00:00Z"},
		{"lunch break", "mon-fri 09:00-12:00,13:00-17:00", "Europe/Paris", "2026-01-07T12:30:00+01:00", false, "2026-01-07T13:00:00+01:00"},
		{"several entries", "mon-fri 09:00-17:00; sat 10:00-14:00", "Europe/Paris", "2026-01-09T18:00:00+01:00", false, "2026-01-10T10:00:00+01:00"},
		{"day list", "mon,wed,fri 09:00-10:00", "UTC", "2026-01-06T09:30:00Z", false, "2026-01-07T09:00:00Z"},
		{"wrapping day range", "fri-mon 10:00-11:00", "UTC", "2026-01-05T10:30:00Z", true, "2026-01-05T11:00:00Z"},
		{"wrapping day range skips tue", "fri-mon 10:00-11:00", "UTC", "2026-01-05T11:00:00Z", false, "2026-01-09T10:00:00Z"},

		// Overnight ranges.
		{"overnight, before midnight", "fri 22:00-02:00", "UTC", "2026-01-09T23:00:00Z", true, "2026-01-10T02:00:00Z"},
		{"overnight tail on the next day", "fri 22:00-02:00", "UTC", "2026-01-10T01:59:59Z", true, "2026-01-10T02:00:00Z"},
		{"overnight tail ends", "fri 22:00-02:00", "UTC", "2026-01-10T02:00:00Z", false, "2026-01-16T22:00:00Z"},
		{"sunday night wraps to monday", "sun 23:00-01:00", "UTC", "2026-01-12T00:30:00Z", true, "2026-01-12T01:00:00Z"},
		{"back-to-back days merge", "sat-sun 00:00-24:00", "UTC", "2026-01-10T12:00:00Z", true, "2026-01-12T00:00:00Z"},
		{"open around the clock never changes", "daily 00:00-24:00", "America/New_York", "2026-03-08T12:00:00Z", true, ""},
		{"a bad time is a parse error", "daily 12:00-12:00x", "UTC", "", false, ""}, // at "" = Parse must fail

		// Berlin spring forward: 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z).
		{"range over the skipped hour is shorter", "sun 01:00-04:00", "Europe/Berlin", "2026-03-29T00:30:00Z", true, "2026-03-29T02:00:00Z"},
		{"range inside the skipped hour never opens", "sun 02:15-02:45", "Europe/Berlin", "2026-03-28T12:00:00Z", false, "2026-04-05T00:15:00Z"},
		{"range starting in the skipped hour opens at the jump", "sun 02:30-05:00", "Europe/Berlin", "2026-03-28T12:00:00Z", false, "2026-03-29T01:00:00Z"},
		{"range ending in the skipped hour closes at the jump", "sun 01:30-02:30", "Europe/Berlin", "2026-03-29T00:45:00Z", true, "2026-03-29T01:00:00Z"},
		// Berlin fall back: 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z); 02:00-03:00 happens twice.
		{"repeated hour, first pass", "sun 02:00-02:30", "Europe/Berlin", "2026-10-25T00:10:00Z", true, "2026-10-25T00:30:00Z"},
		{"repeated hour, between passes", "sun 02:00-02:30", "Europe/Berlin", "2026-10-25T00:45:00Z", false, "2026-10-25T01:00:00Z"},
		{"repeated hour, second pass", "sun 02:00-02:30", "Europe/Berlin", "2026-10-25T01:15:00Z", true, "2026-10-25T01:30:00Z"},
		{"range over the repeated hour is longer", "sun 01:00-04:00", "Europe/Berlin", "2026-10-24T23:00:00Z", true, "2026-10-25T03:00:00Z"},
		// New York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z); 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z).
		{"NY business day after spring forward", "mon-fri 09:00-17:00", "America/New_York", "2026-03-06T22:00:00Z", false, "2026-03-09T13:00:00Z"},
		{"NY business day after fall back", "mon-fri 09:00-17:00", "America/New_York", "2026-10-30T22:00:00Z", false, "2026-11-02T14:00:00Z"},
		{"NY overnight across fall back", "sat 22:00-06:00", "America/New_York", "2026-11-01T02:00:00Z", true, "2026-11-01T11:00:00Z"},
		// Lord Howe moves its clock by 30 minutes: 2026-10-04 02:00 -> 02:30 (+1030 -> +11, 15:30Z the day before).
		{"half-hour DST shift", "sun 02:00-03:00", "Australia/Lord_Howe", "2026-10-03T15:00:00Z", false, "2026-10-03T15:30:00Z"},
		{"half-hour DST shift, open part", "sun 02:00-03:00", "Australia/Lord_Howe", "2026-10-03T15:30:00Z", true, "2026-10-03T16:00:00Z"},
		// A zone with a half-hour offset and no DST.
		{"Kolkata", "mon-fri 09:30-18:00", "Asia/Kolkata", "2026-01-07T03:59:00Z", false, "2026-01-07T04:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.spec, tc.tz)
			if tc.at == "" {
				if err == nil {
					t.Fatalf("Parse(%q) accepted", tc.spec)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			open, next := s.At(utc(tc.at))
			if open != tc.open {
				t.Errorf("open = %v, want %v", open, tc.open)
			}
			switch {
			case tc.next == "" && !next.IsZero():
				t.Errorf("next = %v, want never", next.UTC())
			case tc.next != "" && !next.Equal(utc(tc.next)):
				t.Errorf("next = %v, want %v", next.UTC(), utc(tc.next).UTC())
			}
		})
	}
}

// TestNextAgreesWithOpenEverywhere checks At against brute force over a year
// of instants in zones with 60- and 30-minute DST shifts: the state at next
// differs, and nothing between the asked instant and next differs (sampled
// every 5 minutes and just before next).
func TestNextAgreesWithOpenEverywhere(t *testing.T) {
	specs := []string{
		"mon-fri 09:00-17:30",
		"sun 01:30-02:30; sun 02:45-03:15; wed 00:00-24:00",
		"fri 22:00-02:00; sat 23:30-00:30",
		"daily 02:00-03:00",
	}
	zones := []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"}
	start := utc("2026-01-01T00:00:00Z")
	for _, spec := range specs {
		for _, tz := range zones {
			s, err := Parse(spec, tz)
			if err != nil {
				t.Fatal(err)
			}
			for at := start; at.Before(start.AddDate(1, 0, 0)); at = at.Add(13*time.Hour + 7*time.Minute) {
				open, next := s.At(at)
				if next.IsZero() {
					t.Fatalf("%s %s at %v: no next change", spec, tz, at)
				}
				if !next.After(at) || s.Open(next) == open {
					t.Fatalf("%s %s at %v: next %v does not change the state", spec, tz, at, next)
				}
				for c := at; c.Before(next); c = c.Add(5 * time.Minute) {
					if s.Open(c) != open {
						t.Fatalf("%s %s at %v: state changes at %v before next %v", spec, tz, at, c, next)
					}
				}
				if s.Open(next.Add(-time.Second)) != open {
					t.Fatalf("%s %s at %v: state changes in the second before next %v", spec, tz, at, next)
				}
			}
		}
	}
}

func TestNilScheduleIsAlwaysOpen(t *testing.T) {
	var s *Schedule
	open, next := s.At(time.Now())
	if !open || !next.IsZero() || s.String() != "always open" || s.Location() != time.UTC {
		t.Fatalf("nil schedule: open %v next %v %q", open, next, s.String())
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ spec, tz, want string }{
		{"", "UTC", "empty schedule"},
		{" ; ", "UTC", "empty schedule"},
		{"mon-fri 09:00-17:00", "Mars/Olympus", "not an IANA time zone"},
		{"mon-fri 09:00-17:00", "Local", "not Local"},
		{"monday 09:00-17:00", "UTC", `day "monday"`},
		{"mon-fr 09:00-17:00", "UTC", `day "fr"`},
		{"mon-fri", "UTC", "want DAYS RANGES"},
		{"mon-fri 09:00 - 17:00", "UTC", "want DAYS RANGES"},
		{"mon-fri 9:00-17:00", "UTC", `time "9:00"`},
		{"mon-fri 09:00-17:60", "UTC", `time "17:60"`},
		{"mon-fri 09:00-25:00", "UTC", `time "25:00"`},
		{"mon-fri 09:00-24:01", "UTC", `time "24:01"`},
		{"mon-fri 24:00-02:00", "UTC", "24:00 can only end"},
		{"mon-fri 09:00-09:00", "UTC", "start equals end"},
		{"mon-fri 09:00", "UTC", "want HH:MM-HH:MM"},
		{"mon-fri 09:00-17:00,", "UTC", `range ""`},
		{"mon-fri -9:00-17:00", "UTC", `time ""`},
	} {
		_, err := Parse(tc.spec, tc.tz)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q, %q) = %v, want an error containing %q", tc.spec, tc.tz, err, tc.want)
		}
	}
}

func TestParseNormalises(t *testing.T) {
	s, err := Parse("  MON-Fri 09:00-17:00 ;sat 10:00-14:00;", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "mon-fri 09:00-17:00; sat 10:00-14:00 (UTC)" {
		t.Fatalf("String = %q", got)
	}
}
