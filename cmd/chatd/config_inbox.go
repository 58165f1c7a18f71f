package main

import (
	"flag"

	"github.com/chatd/chatd/hub"
)

// inboxOpts configures the agents' inbox (issue 13): auto-assignment,
// typing previews.
type inboxOpts struct {
	AutoAssign    bool
	AssignLimit   int
	TypingPreview bool
}

// inboxFlags binds the inbox options.
func inboxFlags(fs *flag.FlagSet, o *inboxOpts) {
	fs.BoolVar(&o.AutoAssign, "auto-assign", false, "give conversations visitors open or reopen to online agents in turn (round robin)")
	fs.IntVar(&o.AssignLimit, "assign-limit", 0, "with --auto-assign: most open conversations an agent is given automatically (0 = no limit)")
	fs.BoolVar(&o.TypingPreview, "typing-preview", false, "show agents the text a visitor is typing before it is sent (never stored)")
}

// validateInbox checks the inbox options.
func (o *inboxOpts) validateInbox(bad func(string, ...any)) {
	if o.AssignLimit < 0 || o.AssignLimit > 100000 {
		bad("--assign-limit %d: must be between 0 and 100000", o.AssignLimit)
	}
}

// hubInboxConfig fills the hub's inbox fields.
func (o *inboxOpts) hubInboxConfig(hc *hub.Config) {
	hc.AutoAssign, hc.AssignLimit, hc.TypingPreview = o.AutoAssign, o.AssignLimit, o.TypingPreview
}
