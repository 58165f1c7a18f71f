package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed
)

// Outside business hours the widget says when the team is back, in the
// visitor's own time zone: the time alone when that is today for the
// visitor, with the day's name otherwise; before any socket and once
// connected alike.
func TestHostBusinessHoursBackAt(t *testing.T) {
	const zone = "Asia/Kolkata" // +05:30: a visitor's clock is not the server's
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	soon := now.UTC().Truncate(time.Hour).Add(2 * time.Hour) // opens in 1-2 hours
	later := now.UTC().AddDate(0, 0, 3)
	for _, tc := range []struct {
		name  string
		hours string
		opens time.Time
	}{
		{"later today or tomorrow", fmt.Sprintf("daily %02d:00-%02d:00", soon.Hour(), soon.Hour()+1), soon},
		{"in three days", strings.ToLower(later.Weekday().String()[:3]) + " 09:00-10:00",
			time.Date(later.Year(), later.Month(), later.Day(), 9, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, "--hours", tc.hours, "--hours-tz", "UTC")
			site := newHostSite(t, s, map[string]hostPage{"/": {html: hostHTML("", "", "")}})
			browser := newBrowser(t)
			tab, _ := newIncognito(t, browser)
			emulateZone(t, tab, zone)
			openHost(t, tab, site, "/")
			local := tc.opens.In(loc)
			want := "We are back at " + local.Format("3:04")
			if local.Format("2006-01-02") != now.In(loc).Format("2006-01-02") {
				want = "We are back on " + local.Weekday().String() + " " + local.Format("3:04")
			}
			d := hostDoc{t: t, tab: tab}
			cond := fmt.Sprintf(`%s.startsWith('We are away. ') && %s.replace(/\s/g, ' ').includes(%s)`, statusJS, statusJS, js(want))
			d.wait(want+" before any socket", cond)
			d.open()
			d.wait(want+" once connected", statusJS+".includes('We are back')")
			if got := evalJS[string](t, tab, statusJS); !strings.Contains(strings.Join(strings.Fields(got), " "), want) {
				t.Errorf("status %q, want %q", got, want)
			}
		})
	}
}
