package main

import (
	"flag"

	"github.com/chatd/chatd/hub"
)

// visitorOpts configures what visitors are told and asked (issue 12):
// availability, business hours, e-mail capture and identity verification.
type visitorOpts struct {
	ReplyMinutes int
	VisitorEmail string
}

// visitorFlags binds the visitor-facing options.
func visitorFlags(fs *flag.FlagSet, o *visitorOpts) {
	fs.IntVar(&o.ReplyMinutes, "reply-minutes", 0, "typical reply time told to visitors while an agent is online, in minutes (0 = not told)")
	fs.StringVar(&o.VisitorEmail, "visitor-email", hub.EmailOptional,
		"ask visitors for an e-mail address when no agent is available: off (never; addresses refused), optional, required (before writing)")
}

// validateVisitors checks the visitor-facing options.
func (o *visitorOpts) validateVisitors(bad func(string, ...any)) {
	if o.ReplyMinutes < 0 || o.ReplyMinutes > 24*60 {
		bad("--reply-minutes %d: must be between 0 and 1440", o.ReplyMinutes)
	}
	switch o.VisitorEmail {
	case hub.EmailOff, hub.EmailOptional, hub.EmailRequired:
	default:
		bad("--visitor-email %q: want off, optional or required", o.VisitorEmail)
	}
}

// hubVisitorConfig fills the hub's visitor-facing fields.
func (o *visitorOpts) hubVisitorConfig(hc *hub.Config) {
	hc.ReplyMinutes = o.ReplyMinutes
	hc.EmailCapture = o.VisitorEmail
}
