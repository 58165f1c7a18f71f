package e2e

import (
	"context"
	"fmt"
	"testing"
)

// setSettingsJS types assign limit a and retention r into the open settings dialog.
func setSettingsJS(a, r string) string {
	return fmt.Sprintf(`(() => { for (const [id, v] of [['set-assign-limit', %s], ['set-retention-days', %s]]) {
		const n = document.getElementById(id); n.value = v; n.dispatchEvent(new Event('input')); } return true; })()`, js(a), js(r))
}

// settingsStatus is true when the dialog shows the saved line or not, and an
// error holding text (none when text is "").
func settingsStatus(saved bool, text string) string {
	return fmt.Sprintf(`(() => { const s = document.getElementById('inbox-settings-saved'), e = document.getElementById('inbox-settings-error');
		return s.hidden === %v && (%s === '' ? e.hidden : !e.hidden && e.textContent.includes(%s)); })()`, !saved, js(text), js(text))
}

// The settings form sends what parses as an integer as a number, so the
// server's range message shows for a negative or too large value (not "must
// be a whole number"), and anything else as typed for the server to explain.
// The saved and error lines never outlive the action they report: a new save
// and a reopened dialog start without them.
func TestInboxSettingsForm(t *testing.T) {
	s := startInbox(t)
	alice, _ := newTab(t, newBrowser(t))
	portalLogin(t, alice, s, true)
	click(t, alice, "#inbox-settings-open")
	waitFor(t, alice, "editable settings", settingIs("set-assign-limit", "0", false)+` && `+settingIs("set-retention-days", "0", false))

	save := func(what, assign, retention string, saved bool, text string) {
		t.Helper()
		evalJS[bool](t, alice, setSettingsJS(assign, retention))
		click(t, alice, "#inbox-settings-save")
		waitFor(t, alice, what, settingsStatus(saved, text))
	}
	// Consecutive rows expect different texts: a row never passes on the row before's.
	for _, c := range []struct{ what, assign, retention, want string }{
		{"negative", "-3", "0", "assign_limit -3: must be between 0 (no limit) and 100000"},
		{"fraction", "5.5", "0", "assign_limit must be a whole number"},
		{"too large", "99999999999", "0", "assign_limit 99999999999: must be between"},
		{"empty", "", "0", "assign_limit must be a whole number"},
		{"negative retention", "2", "-1", "retention_days -1: must be between 0 (keep forever)"},
		{"too negative", "-100001", "0", "assign_limit -100001: must be between"},
	} {
		save(c.what, c.assign, c.retention, false, c.want)
	}
	save("saved", "7", "30", true, "")
	waitFor(t, alice, "the saved values", settingIs("set-assign-limit", "7", false)+` && `+settingIs("set-retention-days", "30", false))

	// A failed save after a good one: the error alone.
	save("an error after saving", "-4", "30", false, "assign_limit -4")
	// Saved, closed, reopened: neither line is shown; nor after an error.
	reopen := func(tab context.Context, assign string) {
		t.Helper()
		click(t, tab, "#inbox-settings-close")
		waitFor(t, tab, "closed", `!document.getElementById('inbox-settings').open`)
		click(t, tab, "#inbox-settings-open")
		waitFor(t, tab, "reopened without a status line", settingsStatus(false, "")+` && `+settingIs("set-assign-limit", assign, false))
	}
	reopen(alice, "7")
	save("saved again", "8", "30", true, "")
	reopen(alice, "8")
}
