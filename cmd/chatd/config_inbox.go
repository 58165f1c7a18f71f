package main

import (
	"flag"

	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/store"
)

// inboxOpts configures the agents' inbox (issue 13): auto-assignment,
// typing previews, retention. Admins may change these live (PUT
// /api/settings) unless the operator gave them explicitly: then they are
// locked (hub/settings.go).
type inboxOpts struct {
	AutoAssign    bool
	AssignLimit   int
	TypingPreview bool
	RetentionDays int

	// locked: setting name -> why it cannot be changed through the API (lockInbox).
	locked map[string]string
}

// inboxSettingFlags maps each inbox flag to the setting it fixes.
var inboxSettingFlags = map[string]string{
	"auto-assign":    store.SettingAutoAssign,
	"assign-limit":   store.SettingAssignLimit,
	"typing-preview": store.SettingTypingPreview,
	"retention-days": store.SettingRetentionDays,
}

// clusterSettingsReason locks every inbox setting of a cluster node: the
// cluster keeps no settings (docs/cluster.md).
const clusterSettingsReason = "cluster: set by flags"

// inboxFlags binds the inbox options.
func inboxFlags(fs *flag.FlagSet, o *inboxOpts) {
	fs.BoolVar(&o.AutoAssign, "auto-assign", false, "give conversations visitors open or reopen to online agents in turn (round robin); given explicitly, admins cannot change it in the portal")
	fs.IntVar(&o.AssignLimit, "assign-limit", 0, "with --auto-assign: most open conversations an agent is given automatically (0 = no limit); given explicitly, admins cannot change it in the portal")
	fs.BoolVar(&o.TypingPreview, "typing-preview", false, "show agents the text a visitor is typing before it is sent (never stored); given explicitly, admins cannot change it in the portal")
	fs.IntVar(&o.RetentionDays, "retention-days", 0, "delete visitors and their conversations after this many days without activity, in the background (0 = keep forever); given explicitly, admins cannot change it in the portal")
}

// lockInbox locks the inbox settings whose flag was given explicitly, as a
// flag or (fromEnv: flag -> variable) as its CHATD_* variable.
func (o *inboxOpts) lockInbox(fs *flag.FlagSet, fromEnv map[string]string) {
	o.locked = map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		name, ok := inboxSettingFlags[f.Name]
		if !ok {
			return
		}
		if env := fromEnv[f.Name]; env != "" {
			o.locked[name] = "set by " + env
		} else {
			o.locked[name] = "set by --" + f.Name
		}
	})
}

// validateInbox checks the inbox options (the bounds the API has too: store.SettingsPatch.Validate).
func (o *inboxOpts) validateInbox(bad func(string, ...any)) {
	if o.AssignLimit < 0 || o.AssignLimit > store.MaxAssignLimit {
		bad("--assign-limit %d: must be between 0 and %d", o.AssignLimit, store.MaxAssignLimit)
	}
	if o.RetentionDays < 0 || o.RetentionDays > store.MaxRetentionDays {
		bad("--retention-days %d: must be between 0 (keep) and %d", o.RetentionDays, store.MaxRetentionDays)
	}
}

// hubInboxConfig fills the hub's inbox fields; a cluster node locks every
// setting (the cluster has no place for them).
func (o *inboxOpts) hubInboxConfig(hc *hub.Config, cluster bool) {
	hc.AutoAssign, hc.AssignLimit, hc.TypingPreview = o.AutoAssign, o.AssignLimit, o.TypingPreview
	hc.RetentionDays = o.RetentionDays
	hc.Locked = map[string]string{}
	for n, why := range o.locked {
		hc.Locked[n] = why
	}
	if cluster {
		for _, n := range store.SettingNames {
			hc.Locked[n] = clusterSettingsReason
		}
	}
}
