package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// Reading a conversation in one of the agent's tabs clears its unread count in
// the others at once: over a BroadcastChannel, and through the storage event
// where there is none. Each mechanism is tested alone: tab "channel" ignores
// storage events, tab "storage" has no BroadcastChannel.
func TestPortalUnreadSyncsAcrossTabs(t *testing.T) {
	s := startServer(t)
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.send("Ann's first question")
	bob := dialVisitor(t, s, "Bob", "", nil)
	bob.send("Bob's question")

	browser := newBrowser(t)
	reader, _ := newTab(t, browser)
	channelOnly, _ := newTab(t, browser)
	addScript(t, channelOnly, `(() => {
		const add = window.addEventListener;
		window.addEventListener = function (type, ...rest) { if (type !== 'storage') return add.call(this, type, ...rest); };
	})()`)
	storageOnly, _ := newTab(t, browser)
	addScript(t, storageOnly, `delete window.BroadcastChannel`)
	tabs := map[string]context.Context{"reader": reader, "channel": channelOnly, "storage": storageOnly}
	for _, tab := range tabs {
		portalLogin(t, tab, s, true)
	}
	badge := func(id string) string {
		return fmt.Sprintf(`(((%s || {}).querySelector && %s.querySelector('.unread') || {}).textContent || '')`, rowJS(id), rowJS(id))
	}
	waitBadges := func(id, want string) {
		t.Helper()
		for name, tab := range tabs {
			waitFor(t, tab, fmt.Sprintf("the %s tab's unread count %q for %s", name, want, id), badge(id)+` === `+js(want))
		}
	}
	waitBadges(ann.ID, "1")
	waitBadges(bob.ID, "1")

	// Read Ann in one tab: the two others clear her count, each by its own mechanism.
	portalSelect(t, reader, ann.ID)
	waitBadges(ann.ID, "")
	waitBadges(bob.ID, "1")

	// A new message from Ann: the reader reads it at once, so no tab keeps counting it.
	ann.send("Ann's second question")
	waitPortalCount(t, reader, "Ann's second question", 1)
	waitBadges(ann.ID, "")

	// Read Bob in the tab without BroadcastChannel (as in a browser that has
	// none): the reader tab learns it from the storage event.
	portalSelect(t, storageOnly, bob.ID)
	waitFor(t, reader, "the reader tab's count for Bob cleared", badge(bob.ID)+` === ''`)
	bob.send("Bob again")
	waitPortalCount(t, storageOnly, "Bob again", 1)
	waitFor(t, reader, "the reader tab's count for Bob cleared again", badge(bob.ID)+` === ''`)

	// The read positions outlive the tabs: a reload shows no unread count.
	run(t, channelOnly, chromedp.Reload())
	waitPortalConnected(t, channelOnly)
	waitFor(t, channelOnly, "both visitors listed after a reload", fmt.Sprintf(`%s && %s`, rowJS(ann.ID), rowJS(bob.ID)))
	waitFor(t, channelOnly, "the messages loaded after a reload", rowJS(bob.ID)+`.querySelector('.visitor-preview').textContent === 'Bob again'`)
	for _, id := range []string{ann.ID, bob.ID} {
		if got := evalJS[string](t, channelOnly, badge(id)); got != "" {
			t.Errorf("after a reload the unread count of %s is %q, want none", id, got)
		}
	}
}
