package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// pageErrors collects every uncaught exception in tab (and console.error lines).
func pageErrors(t *testing.T, tab context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var errs []string
	if err := chromedp.Listen(tab, func(ev any) {
		var d string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d = e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				d += " " + e.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			d = "console.error"
			for _, a := range e.Args {
				d += " " + string(a.Value) + a.Description
			}
		default:
			return
		}
		mu.Lock()
		errs = append(errs, d)
		mu.Unlock()
	}); err != nil {
		t.Fatalf("listen: %v", err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// Visitor-controlled keys and values in the agents' context panel: a long
// word as an attribute key (Latin, wide CJK, an emoji sequence, digits), keys
// that name Object.prototype members, RTL and zalgo values, a long referrer.
// Every key shows as text once, each value keeps a readable width (a long
// key never squeezes its value to a column of single letters), nothing runs
// out of the panel and the page throws nothing.
func TestHostile3ContextKeys(t *testing.T) {
	s := startServer(t)
	agent := newBrowser(t)
	errs := pageErrors(t, agent)
	portalLogin(t, agent, s, true)
	attrSets := []map[string]string{
		{strings.Repeat("W", 64): "latin key", "plan": "pro"},
		{strings.Repeat("鍵", 21): "wide key", "n": strings.Repeat("値", 300)},
		{strings.Repeat("🚀", 16): "emoji key", "0": "zero", "1": "one"},
		{strings.Repeat("9", 64): "digits key", "rtl": "שלום 123 abc"},
		{"__proto__": "p", "constructor": "c", "toString": "t", "hasOwnProperty": "h", "valueOf": "v", strings.Repeat("k", 64): strings.Repeat("z\u0338\u0336", 200)},
	}
	for i, attrs := range attrSets {
		v := dialVisitor(t, s, fmt.Sprintf("Keys %d", i), "", map[string]string{"page": "https://shop.example/", "referrer": "https://ref.example/" + strings.Repeat("R", 1000)})
		v.write("client:attributes", map[string]any{"attributes": attrs})
		v.readUntil("client:attributes")
		v.send("hello")
		portalSelect(t, agent, v.ID)
		if i == 0 {
			run(t, agent, chromedp.Click(chromedp.CSS("button.details")))
		}
		waitFor(t, agent, "the attributes in the panel", fmt.Sprintf(`(() => { const h = [...document.querySelectorAll('#context-body h3')].find(h => h.textContent === 'Attributes');
			return h && h.parentNode.querySelectorAll('dt').length === %d; })()`, len(attrs)))
		keys := evalJS[[]string](t, agent, `[...[...document.querySelectorAll('#context-body h3')].find(h => h.textContent === 'Attributes').parentNode.querySelectorAll('dt')].map(d => d.textContent)`)
		for k := range attrs {
			n := 0
			for _, got := range keys {
				if got == k {
					n++
				}
			}
			if n != 1 {
				t.Errorf("visitor %d: key %q shown %d times in %q", i, k, n, keys)
			}
		}
		bad := evalJS[[]string](t, agent, `(() => { const body = document.getElementById('context-body').getBoundingClientRect(), out = [];
			for (const l of document.querySelectorAll('#context-body .ctx-list')) {
				const w = l.getBoundingClientRect().width;
				for (const e of l.children) { const r = e.getBoundingClientRect();
					if (e.tagName === 'DD' && r.width < w * 0.5) out.push('value of ' + e.previousElementSibling.textContent.slice(0, 20) + ' is ' + Math.round(r.width) + 'px of ' + Math.round(w));
					if (r.right > body.right + 1 || r.left < body.left - 1) out.push(e.textContent.slice(0, 20) + ' runs out of the panel'); } }
			return out; })()`)
		if len(bad) > 0 {
			t.Errorf("visitor %d: %q", i, bad)
		}
		if evalJS[bool](t, agent, `document.documentElement.scrollWidth > innerWidth || !!document.querySelector('#context-body img, #context-body script')`) {
			t.Errorf("visitor %d: the page overflows or text became markup", i)
		}
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("the portal threw: %q", e)
	}
}
