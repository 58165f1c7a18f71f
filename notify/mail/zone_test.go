package mail

import (
	"strings"
	"testing"
	"time"
)

// Every time in a mail is in the configured zone (chatd's --hours-tz) and
// names it; without one, UTC, named too. Alerts, reply mails and
// transcripts alike.
func TestMailTimesInTheConfiguredZone(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata") // +05:30, no abbreviation of its own
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, tc := range []struct {
		zone *time.Location
		want string // t0 = 10:00 UTC
	}{{nil, "2026-11-22 10:00 UTC"}, {time.UTC, "2026-11-22 10:00 UTC"}, {kolkata, "2026-11-22 15:30 Asia/Kolkata"}, {paris, "2026-11-22 11:00 Europe/Paris"}} {
		a := newTestAlerts(t, AlertConfig{Zone: tc.zone})
		a.Message("v1", "Ann", "hi", at(0), true)
		msgs, _ := a.flush(at(time.Hour))
		if len(msgs) == 0 || !strings.Contains(msgs[0].Text, "new conversation since "+tc.want) {
			t.Errorf("alert in %v: want %q in\n%v", tc.zone, tc.want, msgs)
		}

		c := newTestContinuity(t, ContinuityConfig{Zone: tc.zone}, nil)
		c.AgentReply(reply("v1", "ann@example.com", 44, "We do.", at(0)))
		msgs, _ = c.flush(at(time.Hour))
		if len(msgs) != 1 || !strings.Contains(msgs[0].Text, tc.want) {
			t.Errorf("reply mail in %v: want %q in\n%v", tc.zone, tc.want, msgs)
		}
		if tc.zone != nil && tc.zone != time.UTC && strings.Contains(msgs[0].Text, "UTC") {
			t.Errorf("reply mail in %v still shows UTC:\n%s", tc.zone, msgs[0].Text)
		}
	}
}
