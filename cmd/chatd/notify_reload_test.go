package main

import (
	"strings"
	"testing"
	"time"
)

// TestAlertsIgnoreAPortalReload: a visitor writes while chatd has just
// started (the agents' portals get --alert-grace to come back), an agent's
// portal connects and shows it, then reloads (its socket closes and a new
// one opens at once): nothing is mailed. When the agent leaves for good, the
// conversation is mailed once the grace has passed, as waiting, not as new.
func TestAlertsIgnoreAPortalReload(t *testing.T) {
	const grace = 5 * time.Second
	r := startNotifyRig(t, "--alert-grace", grace.String())
	vis, _, _ := visitor(t, r.url(), "Ann")
	vis.send("client:message", map[string]any{"cid": "c1", "text": "Do you ship to Norway?"})
	vis.expect("client:message", nil)

	adm, _ := adminSocket(t, r.url(), r.token)
	adm.c.Close() // a reload: the old socket closes, a new one opens
	adm, _ = adminSocket(t, r.url(), r.token)
	select {
	case m := <-r.smtp.Received():
		t.Fatalf("mailed while the agent reloaded:\n%s", m.Body)
	default:
	}
	adm.c.Close() // gone for good
	left := time.Now()
	for range 2 {
		m := r.smtp.Next(t)
		if time.Since(left) < grace-time.Second { // a margin for the close to reach chatd
			t.Fatalf("mailed %v after the agent left, before the grace of %v:\n%s", time.Since(left), grace, m.Body)
		}
		if strings.Contains(m.Body, "new conversation") || !strings.Contains(m.Body, "Ann - 1 unanswered message") {
			t.Fatalf("digest after the agent left:\n%s", m.Body)
		}
	}
}
