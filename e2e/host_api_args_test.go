package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// warnPage records the console warnings the page gets in window.__warns, as
// text, before the stub queues any call.
const warnPage = `<script>window.__warns = [];
console.warn = function () { __warns.push(Array.prototype.map.call(arguments, String).join(' ')); };
window.__got = [];
</script>`

// The JavaScript API with arguments of the wrong kind: each call that is
// refused, and each attribute value left out, gives exactly one console
// warning naming what was wrong (the key, the event list); the good values
// beside a bad one are kept; nothing throws into the page; a listener whose
// registration was refused never runs and a refused off removes nothing.
func TestHostAPIWrongArguments(t *testing.T) {
	s := startServer(t)
	d, agent, errs, id := chattingOn(t, s, warnPage+`<script>`+stubJS+`chatd('open');</script>`)
	d.run(`chatd('on', 'message', function (m) { __got.push(m.text); })`)

	const events = "opened|closed|message|unread|availability"
	cases := []struct {
		name, call string
		warns      []string // each in exactly one warning, and no other warning
	}{
		// setAttributes: the argument must be a plain object.
		{"array", `chatd('setAttributes', [1, 2])`, []string{"plain object"}},
		{"null", `chatd('setAttributes', null)`, []string{"plain object"}},
		{"string", `chatd('setAttributes', 'plan')`, []string{"plain object"}},
		{"date", `chatd('setAttributes', new Date(0))`, []string{"plain object"}},
		{"map", `chatd('setAttributes', new Map([['mapKey', '1']]))`, []string{"plain object"}},
		{"class instance", `chatd.setAttributes(new (class { constructor() { this.instKey = 'y'; } })())`, []string{"plain object"}},
		{"function", `chatd.setAttributes(function () {})`, []string{"plain object"}},
		{"null prototype", `chatd.setAttributes(Object.assign(Object.create(null), {np: 'ok'}))`, nil},
		// setAttributes: per key a string, number, boolean or null; the rest left out, one warning each.
		{"nested and function", `chatd('setAttributes', {nestedObj: {a: 1}, fnValue: function () { return 'source'; }, ok: 'yes'})`,
			[]string{"nestedObj", "fnValue"}},
		{"other types", `chatd('setAttributes', {symValue: Symbol('s'), undefValue: undefined, bigValue: BigInt(7), dateValue: new Date(0),
		  listValue: ['a'], boxedValue: new String('x'), n: 1.5, t: true, get throwingGetter() { throw new Error('getter'); }})`,
			[]string{"symValue", "undefValue", "bigValue", "dateValue", "listValue", "boxedValue", "throwingGetter"}},
		// on/off: a known event name and a function (off: or none).
		{"on non-function", `chatd('on', 'message', 'notafunction')`, []string{"function"}},
		{"on no function", `chatd.on('message')`, []string{"function"}},
		{"on number event", `chatd('on', 42, function () { __got.push('42'); })`, []string{events}},
		{"on unknown event", `chatd('on', 'nope', function () { __got.push('nope'); })`, []string{"nope"}},
		{"on other case", `chatd('on', 'Message', function (m) { __got.push('Message'); })`, []string{events}},
		{"on inherited name", `chatd('on', 'toString', function () {}), chatd('on', '__proto__', function () {})`, []string{"toString", "__proto__"}},
		{"on symbol event", `chatd('on', Symbol('message'), function () { __got.push('symbol'); })`, []string{events}},
		{"off non-function", `chatd('off', 'message', 5)`, []string{"function"}},
		{"off unknown event", `chatd.off('nope')`, []string{events}},
		{"off known event", `chatd('off', 'closed')`, nil},
	}
	for _, c := range cases {
		d.run(`(window.__warns = [], true)`)
		d.run(c.call)
		warns := evalJS[[]string](t, d.tab, `window.__warns`)
		if len(warns) != len(c.warns) {
			t.Errorf("%s: %d warnings, want %d: %q", c.name, len(warns), len(c.warns), warns)
		}
		for _, w := range warns {
			if !strings.HasPrefix(w, "chatd: ") {
				t.Errorf("%s: a warning not from chatd: %q", c.name, w)
			}
		}
		for _, want := range c.warns {
			n := 0
			for _, w := range warns {
				if strings.Contains(w, want) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: %d warnings name %q, want 1: %q", c.name, n, want, warns)
			}
		}
	}

	// What reached the agent: the good values only, numbers and booleans as text.
	d.run(`chatd.setAttributes({done: '1'})`)
	var got map[string]string
	agent.waitFrame("admin:client", func(raw json.RawMessage) bool {
		var c struct {
			ID         string            `json:"id"`
			Attributes map[string]string `json:"attributes"`
		}
		if json.Unmarshal(raw, &c) != nil || c.ID != id || c.Attributes["done"] == "" {
			return false
		}
		got = c.Attributes
		return true
	})
	want := map[string]string{"np": "ok", "ok": "yes", "n": "1.5", "t": "true", "done": "1"}
	if len(got) != len(want) {
		t.Errorf("the agent got %d attributes, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("attribute %q = %q, want %q", k, got[k], v)
		}
	}
	// The listener added before the refused calls still runs, alone.
	agent.reply(id, "after the wrong calls")
	d.wait("the message event", `window.__got.length > 0`)
	if g := evalJS[[]string](t, d.tab, `window.__got`); len(g) != 1 || g[0] != "after the wrong calls" {
		t.Errorf("listeners ran: %q", g)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("widget.js threw into the page: %q", e)
	}
}
