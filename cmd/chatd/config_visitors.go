package main

import (
	"flag"

	"github.com/chatd/chatd/hours"
	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/identity"
	"github.com/chatd/chatd/notify/mail"
)

// visitorOpts configures what visitors are told and asked (issue 12):
// availability (business hours, reply time), e-mail capture and identity
// verification. Flag names follow docs/notifications.md ("Identity and hours").
type visitorOpts struct {
	ReplyMinutes   int
	EmailCapture   string
	Hours          string
	HoursTZ        string
	IdentitySecret string

	// Derived by validateVisitors.
	schedule *hours.Schedule
	verifier *identity.Verifier
}

// visitorFlags binds the visitor-facing options.
func visitorFlags(fs *flag.FlagSet, o *visitorOpts) {
	fs.IntVar(&o.ReplyMinutes, "reply-minutes", 0, "typical reply time told to visitors while an agent is online, in minutes (0 = not told)")
	fs.StringVar(&o.EmailCapture, "email-capture", hub.EmailOptional,
		"ask visitors for an e-mail address when no agent is available: off (never; addresses refused), optional, required (before writing)")
	fs.StringVar(&o.Hours, "hours", "", `business hours, e.g. "mon-fri 09:00-17:30; sat 10:00-14:00" (empty = always open)`)
	fs.StringVar(&o.HoursTZ, "hours-tz", "UTC", "IANA time zone of --hours and of the times in mails, e.g. Europe/Paris")
	fs.StringVar(&o.IdentitySecret, "identity-secret", "",
		"key of identity_hash (HMAC-SHA256 of a site's user id), at least 32 bytes; empty = identities are refused (secret: CHATD_IDENTITY_SECRET_FILE works)")
}

// validateVisitors checks the visitor-facing options and builds the schedule
// and the identity verifier. Errors never show the secret.
func (o *visitorOpts) validateVisitors(bad func(string, ...any)) {
	if o.ReplyMinutes < 0 || o.ReplyMinutes > 24*60 {
		bad("--reply-minutes %d: must be between 0 and 1440", o.ReplyMinutes)
	}
	switch o.EmailCapture {
	case hub.EmailOff, hub.EmailOptional, hub.EmailRequired:
	default:
		bad("--email-capture %q: want off, optional or required", o.EmailCapture)
	}
	o.schedule = nil
	if o.Hours != "" {
		s, err := hours.Parse(o.Hours, o.HoursTZ)
		if err != nil {
			bad("--hours %q (--hours-tz %q): %v", o.Hours, o.HoursTZ, err)
		}
		o.schedule = s
	} else if _, err := hours.Parse("daily 00:00-24:00", o.HoursTZ); err != nil {
		bad("--hours-tz %q: %v", o.HoursTZ, err)
	}
	v, err := identity.New(o.IdentitySecret)
	if err != nil {
		bad("--identity-secret: %v", err)
	}
	o.verifier = v
}

// hubVisitorConfig fills the hub's visitor-facing fields.
func (o *visitorOpts) hubVisitorConfig(hc *hub.Config) {
	hc.ReplyMinutes = o.ReplyMinutes
	hc.EmailCapture = o.EmailCapture
	hc.CheckEmail = mail.ValidAddress
	if o.schedule != nil { // a nil *Schedule in the interface would not be nil
		hc.Hours = o.schedule
	}
	if o.verifier.Enabled() {
		hc.Identity = o.verifier
	}
}
