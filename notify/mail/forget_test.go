package mail

import (
	"testing"
	"time"
)

// TestContinuityForget: the replies waiting for a deleted visitor are never
// mailed; another visitor's, waiting as long, still are.
func TestContinuityForget(t *testing.T) {
	c := newTestContinuity(t, ContinuityConfig{SiteName: "Shop"}, nil)
	c.AgentReplies(reply("gone", "gone@example.com", 10, "for the deleted visitor", at(0)),
		reply("gone", "gone@example.com", 11, "and another", at(0)))
	c.AgentReply(reply("kept", "kept@example.com", 12, "for the other one", at(0)))
	c.Forget("gone")
	c.Forget("never-seen") // unknown: nothing happens
	msgs, _ := c.flush(at(time.Hour))
	if len(msgs) != 1 || msgs[0].To[0] != "kept@example.com" {
		t.Fatalf("after Forget: %+v", msgs)
	}
}
