package main

import (
	"reflect"
	"testing"

	"github.com/chatd/chatd/hub"
)

// An inbox setting given explicitly, as a flag or as its CHATD_* variable,
// is locked with that as the reason; a cluster node locks them all.
func TestInboxSettingsLockedByExplicitFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want map[string]string
	}{
		{"nothing given", nil, nil, map[string]string{}},
		{"a flag", []string{"--typing-preview"}, nil, map[string]string{"typing_preview": "set by --typing-preview"}},
		{"a flag at its default", []string{"--auto-assign=false", "--assign-limit", "0"}, nil,
			map[string]string{"auto_assign": "set by --auto-assign", "assign_limit": "set by --assign-limit"}},
		{"a variable", nil, map[string]string{"CHATD_RETENTION_DAYS": "30"}, map[string]string{"retention_days": "set by CHATD_RETENTION_DAYS"}},
		{"flag and variable: the flag", []string{"--retention-days", "5"}, map[string]string{"CHATD_RETENTION_DAYS": "30"},
			map[string]string{"retention_days": "set by --retention-days"}},
		{"an empty variable is not given", nil, map[string]string{"CHATD_TYPING_PREVIEW": ""}, map[string]string{}},
		{"other flags lock nothing", []string{"--max-text", "100", "--token-ttl", "1h"}, nil, map[string]string{}},
	} {
		var c config
		fs := serveFlags(&c)
		if _, fromEnv, err := parseFlagsEnv(fs, tc.args, func(k string) string { return tc.env[k] }); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		} else {
			c.lockInbox(fs, fromEnv)
		}
		var hc hub.Config
		c.hubInboxConfig(&hc, false)
		if !reflect.DeepEqual(hc.Locked, tc.want) {
			t.Errorf("%s: locked %v, want %v", tc.name, hc.Locked, tc.want)
		}
		c.hubInboxConfig(&hc, true)
		if len(hc.Locked) != 4 || hc.Locked["assign_limit"] != clusterSettingsReason || hc.Locked["typing_preview"] != clusterSettingsReason {
			t.Errorf("%s: cluster locked %v", tc.name, hc.Locked)
		}
	}
}
