package e2e

import (
	"fmt"
	"testing"
)

// settingIs is true when the settings dialog's control id holds value
// (a checkbox: "true"/"false") and is disabled or not.
func settingIs(id, value string, disabled bool) string {
	return fmt.Sprintf(`(() => { const e = document.getElementById(%s); if (!e || e.disabled !== %v) return false;
		return (e.type === 'checkbox' ? String(e.checked) : e.value) === %s; })()`, js(id), disabled, js(value))
}

// An admin changes the inbox settings in the portal; a second agent's portal
// (agent role) shows them read-only and updated live, and the change takes
// effect at once: the agent sees a visitor's typing preview. A setting given
// as a start flag is locked, with its reason.
func TestInboxSettingsView(t *testing.T) {
	s := startInbox(t, "--retention-days", "90")
	alice, bob := twoAgents(t, s)

	// bob (agent role) opens the view first: values read-only, the lock's reason as text.
	click(t, bob, "#inbox-settings-open")
	waitFor(t, bob, "read-only settings", settingIs("set-typing-preview", "false", true)+` && `+settingIs("set-retention-days", "90", true)+
		` && !document.getElementById('inbox-settings-readonly').hidden && document.getElementById('inbox-settings-save').hidden`)
	waitFor(t, bob, "the lock's reason", `document.getElementById('set-retention-days-note').textContent === 'Locked: set by --retention-days'`)

	// alice (admin) changes typing preview and the assign limit; retention stays locked.
	click(t, alice, "#inbox-settings-open")
	waitFor(t, alice, "editable settings", settingIs("set-typing-preview", "false", false)+` && `+settingIs("set-assign-limit", "0", false)+
		` && `+settingIs("set-retention-days", "90", true))
	evalJS[bool](t, alice, `(() => { const c = document.getElementById('set-typing-preview'); c.click(); const n = document.getElementById('set-assign-limit');
		n.value = '5'; n.dispatchEvent(new Event('input')); return c.checked; })()`)
	click(t, alice, "#inbox-settings-save")
	waitFor(t, alice, "saved", `!document.getElementById('inbox-settings-saved').hidden && document.getElementById('inbox-settings-error').hidden`)

	// bob's open view follows at once (admin:settings), still read-only.
	waitFor(t, bob, "the change shown read-only", settingIs("set-typing-preview", "true", true)+` && `+settingIs("set-assign-limit", "5", true))

	// A wrong value is explained by the server, and changes nothing.
	evalJS[bool](t, alice, `(() => { const n = document.getElementById('set-assign-limit'); n.value = '100001'; return true; })()`)
	click(t, alice, "#inbox-settings-save")
	waitFor(t, alice, "the server's reason", `document.getElementById('inbox-settings-error').textContent.includes('assign_limit 100001')`)
	waitFor(t, bob, "nothing changed", settingIs("set-assign-limit", "5", true))
	click(t, bob, "#inbox-settings-close")

	// In force without a restart: a visitor who comes now is told to send its
	// draft, and bob sees it.
	ann := dialVisitor(t, s, "Ann", "", nil)
	ann.write("client:typing", map[string]any{"typing": true, "text": "<b>draft</b> 42"})
	waitFor(t, bob, "the typing preview, as text", fmt.Sprintf(`(() => { const e = %s; const p = e && e.querySelector('.visitor-preview');
		return !!p && p.textContent === 'typing: <b>draft</b> 42' && !p.querySelector('b'); })()`, rowJS(ann.ID)))
	screenshot(t, alice, "inbox-settings.png")
}
