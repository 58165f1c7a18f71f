package e2e

import (
	"fmt"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed

	"github.com/chromedp/chromedp"
)

// Day labels and message times follow the browser's own calendar days: across
// midnight, across DST changes, in zones far from UTC, and in other years.
func TestPortalDateLabels(t *testing.T) {
	s := startServer(t)
	browser := newBrowser(t)
	for _, zone := range []string{"Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata", "America/New_York", "Europe/London", "UTC"} {
		t.Run(zone, func(t *testing.T) {
			tab, _ := newTab(t, browser)
			emulateZone(t, tab, zone)
			run(t, tab, chromedp.Navigate(s.url()+"/portal/"))
			// Each case: [name, got, want]. Local times are built with new Date(y, m, d, ...)
			// in the emulated zone; the labels get ISO strings as from the server.
			cases := importJS[[][3]string](t, tab, "/portal/time.js", `(() => {
				const L = (...a) => new Date(...a);
				const iso = d => d.toISOString();
				const out = [];
				const check = (name, got, want) => out.push([name, String(got), String(want)]);
				let now = L(2026, 10, 22, 0, 0, 30); // just after local midnight
				check('23:59:59 the day before', m.dayLabel(iso(L(2026, 10, 21, 23, 59, 59)), now), 'Yesterday');
				check('00:00:00 today', m.dayLabel(iso(L(2026, 10, 22, 0, 0, 0)), now), 'Today');
				check('two sides of midnight are two days', m.dayKey(iso(L(2026, 10, 21, 23, 59, 59, 999))) !== m.dayKey(iso(L(2026, 10, 22))), true);
				check('one local day is one key', m.dayKey(iso(L(2026, 10, 22, 0, 0, 1))) === m.dayKey(iso(L(2026, 10, 22, 23, 59, 59))), true);
				check('time today has no day', /^[^,]*$/.test(m.timeLabel(iso(L(2026, 10, 22, 0, 0, 5)), now)), true);
				check('time yesterday', m.timeLabel(iso(L(2026, 10, 21, 23, 59)), now).startsWith('Yesterday, '), true);
				check('time five days ago', m.timeLabel(iso(L(2026, 10, 17, 9, 30)), now).startsWith('Tue, '), true);
				check('day five days ago', m.dayLabel(iso(L(2026, 10, 17, 9, 30)), now), 'Tuesday, November 17');
				check('time last year', m.timeLabel(iso(L(2025, 10, 22, 12)), now).startsWith('Nov 22, 2025, '), true);
				check('day last year', m.dayLabel(iso(L(2025, 10, 22, 12)), now), 'Saturday, November 22, 2025');
				check('list label last week', m.shortLabel(iso(L(2026, 10, 12, 12)), now), 'Nov 12');
				check('list label yesterday', m.shortLabel(iso(L(2026, 10, 21, 12)), now), 'Yesterday');
				// New York's DST starts on March 8, 2026 (a 23-hour day) and ends on November 1 (25 hours).
				now = L(2026, 2, 9, 0, 30);
				check('yesterday over a 23-hour day', m.dayLabel(iso(L(2026, 2, 8, 0, 30)), now), 'Yesterday');
				check('two days over a 23-hour day', m.dayLabel(iso(L(2026, 2, 7, 23, 30)), now), 'Saturday, March 7');
				now = L(2026, 10, 2, 0, 10);
				check('yesterday over a 25-hour day', m.dayLabel(iso(L(2026, 10, 1, 0, 5)), now), 'Yesterday');
				check('next midnight', m.msUntilNextDay(L(2026, 10, 22, 23, 59, 59, 500)), 500);
				check('a message from a clock ahead of ours', m.dayLabel(iso(L(2026, 10, 23, 0, 0, 1)), L(2026, 10, 22, 23, 59)), 'Monday, November 23');
				check('no time, no label', m.timeLabel('', now) + m.dayLabel('nonsense', now), '');
				return out;
			})()`)
			for _, c := range cases {
				if c[1] != c[2] {
					t.Errorf("%s: %s gives %q, want %q", zone, c[0], c[1], c[2])
				}
			}
		})
	}
}

// At midnight the conversation's "Today" becomes "Yesterday" by itself, messages
// either side of midnight get their own day separators, and a year later the
// dates carry the year: checked with the page's clock moved (a fake Date) in a
// zone 14 hours from UTC.
func TestPortalDaysChangeAtMidnight(t *testing.T) {
	const zone = "Pacific/Kiritimati"
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t)
	v := dialVisitor(t, s, "Night Owl", "", nil)
	first := v.send("hello before midnight")

	browser := newBrowser(t)
	agent, _ := newTab(t, browser)
	addScript(t, agent, socketTap)
	addScript(t, agent, fakeClock)
	emulateZone(t, agent, zone)
	portalLogin(t, agent, s, true)
	portalSelect(t, agent, v.ID)
	waitPortalCount(t, agent, first.Text, 1)
	days := `[...document.querySelectorAll('#message-list .day')].map(e => e.textContent)`
	whens := `[...document.querySelectorAll('#message-list .msg .when')].map(e => e.textContent)`

	// Two more messages, one second either side of the coming local midnight.
	evalJS[bool](t, agent, fmt.Sprintf(`(() => {
		const at = new Date(%s);
		window.__midnight = new Date(at.getFullYear(), at.getMonth(), at.getDate() + 1).getTime();
		const msg = (offset, ms, text) => window.__inject('admin:message', { offset, client: %s, from: 'client', admin: '', cid: 'c' + offset, text, at: new Date(ms).toISOString() });
		msg(%d, window.__midnight - 1000, 'one second before midnight');
		msg(%d, window.__midnight + 1000, 'one second after midnight');
		return true;
	})()`, js(first.At), js(v.ID), first.Offset+1000, first.Offset+1001))
	waitFor(t, agent, "today and tomorrow's separators", days+`.length === 2 && `+days+`[0] === 'Today'`)

	// The clock runs into midnight: the labels change by themselves.
	evalJS[bool](t, agent, `window.__setNow(window.__midnight - 1500) && (window.dispatchEvent(new Event('focus')), true)`)
	waitFor(t, agent, "yesterday and today after midnight", days+`.join('|') === 'Yesterday|Today'`)
	gotWhens := evalJS[[]string](t, agent, whens)
	if len(gotWhens) != 3 || gotWhens[0][:11] != "Yesterday, " || gotWhens[1][:11] != "Yesterday, " || gotWhens[2] != "12:00 AM" {
		t.Errorf("after midnight the message times read %q, want Yesterday, Yesterday and 12:00 AM", gotWhens)
	}
	if got := evalJS[string](t, agent, rowJS(v.ID)+`.querySelector('.visitor-time').textContent`); got != "12:00 AM" {
		t.Errorf("the list shows the latest message at %q, want 12:00 AM", got)
	}

	// A year later: full dates with the year, in the browser's zone.
	at, err := time.Parse(time.RFC3339Nano, first.At)
	if err != nil {
		t.Fatal(err)
	}
	evalJS[bool](t, agent, fmt.Sprintf(`window.__setNow(new Date(%s).getTime() + 400 * 86400000) && (window.dispatchEvent(new Event('focus')), true)`, js(first.At)))
	want := at.In(loc).Format("Monday, January 2, 2006")
	waitFor(t, agent, "dated separators a year later", fmt.Sprintf(`%s[0] === %s`, days, js(want)))
	if got := evalJS[[]string](t, agent, whens); len(got) != 3 || got[0][:len(at.In(loc).Format("Jan 2, 2006"))] != at.In(loc).Format("Jan 2, 2006") {
		t.Errorf("a year later the message times read %q, want them to start with %q", got, at.In(loc).Format("Jan 2, 2006"))
	}
}
