package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// An agent who leaves the portal for another page is no longer there: the
// page may be kept, frozen, in the back/forward cache, but its socket closes
// (visitors are told nobody is available, alerts and pushes go out). Back on
// the portal, it reconnects.
func TestPortalLeavingClosesTheSocket(t *testing.T) {
	s := startServer(t)
	agent := newBrowser(t)
	portalLogin(t, agent, s, true)
	waitAgentsOnline(t, s, 1)
	run(t, agent, chromedp.Navigate(s.url()+"/"))
	waitAgentsOnline(t, s, 0)
	evalJS[bool](t, agent, `history.back(), true`) // from the cache when the browser kept it
	// The page's JavaScript context changes under the test: evaluate again
	// until it answers.
	deadline := time.Now().Add(stepTimeout)
	for {
		ctx, cancel := context.WithTimeout(agent, stepTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`location.pathname === '/portal/' && !!document.querySelector('#conn.ok')`))
		cancel()
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the portal did not come back connected: %v", err)
		}
		time.Sleep(pollInterval) // polling with a deadline
	}
	waitAgentsOnline(t, s, 1)
}
