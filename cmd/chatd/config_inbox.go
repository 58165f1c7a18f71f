package main

import (
	"flag"

	"github.com/chatd/chatd/hub"
)

// inboxOpts configures the agents' inbox (issue 13): auto-assignment,
// typing previews, retention.
type inboxOpts struct {
	AutoAssign    bool
	AssignLimit   int
	TypingPreview bool
	RetentionDays int
}

// inboxFlags binds the inbox options.
func inboxFlags(fs *flag.FlagSet, o *inboxOpts) {
	fs.BoolVar(&o.AutoAssign, "auto-assign", false, "give conversations visitors open or reopen to online agents in turn (round robin)")
	fs.IntVar(&o.AssignLimit, "assign-limit", 0, "with --auto-assign: most open conversations an agent is given automatically (0 = no limit)")
	fs.BoolVar(&o.TypingPreview, "typing-preview", false, "show agents the text a visitor is typing before it is sent (never stored)")
	fs.IntVar(&o.RetentionDays, "retention-days", 0, "delete visitors and their conversations after this many days without activity, in the background (0 = keep forever)")
}

// validateInbox checks the inbox options.
func (o *inboxOpts) validateInbox(bad func(string, ...any)) {
	if o.AssignLimit < 0 || o.AssignLimit > 100000 {
		bad("--assign-limit %d: must be between 0 and 100000", o.AssignLimit)
	}
	if o.RetentionDays < 0 || o.RetentionDays > 36500 {
		bad("--retention-days %d: must be between 0 (keep) and 36500", o.RetentionDays)
	}
}

// hubInboxConfig fills the hub's inbox fields.
func (o *inboxOpts) hubInboxConfig(hc *hub.Config) {
	hc.AutoAssign, hc.AssignLimit, hc.TypingPreview = o.AutoAssign, o.AssignLimit, o.TypingPreview
	hc.RetentionDays = o.RetentionDays
}
