package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/chatd/chatd/static"
)

func rootJS(body string) string {
	return `(() => { const r = document.querySelector('chatd-widget').shadowRoot; ` + body + ` })()`
}

// Languages by data-lang or the page's lang (English otherwise), with their
// own visitor names; right-to-left text takes its own direction while the
// widget's strings keep their language's.
func TestHostLanguagesAndRTL(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{
		"/ar":     {html: strings.Replace(hostHTML("", "", ""), `<html lang="en">`, `<html lang="ar" dir="rtl">`, 1)},
		"/he-rtl": {html: strings.Replace(hostHTML("", "", ""), `<html lang="en">`, `<html lang="he" dir="rtl">`, 1)},
		"/de":     {html: hostHTML("", "", `<script src="{{chatd}}/widget.js" async data-lang="de"></script>`)},
		"/fr":     {html: strings.Replace(hostHTML("", "", ""), `lang="en"`, `lang="fr-CA"`, 1)},
		"/es":     {html: strings.Replace(hostHTML("", "", ""), `lang="en"`, `lang="es-MX"`, 1)},
		"/pt":     {html: strings.Replace(hostHTML("", "", ""), `lang="en"`, `lang="pt-BR"`, 1)},
		"/over":   {html: strings.Replace(hostHTML("", "", `<script src="{{chatd}}/widget.js" async data-lang="EN"></script>`), `lang="en"`, `lang="de"`, 1)},
		"/xx":     {html: strings.Replace(hostHTML("", "", ""), `lang="en"`, `lang="xx"`, 1)},
	})
	titles := map[string]string{"/ar": "تحدّث معنا", "/he-rtl": "Chat with us", "/de": "Schreiben Sie uns", "/fr": "Discutons",
		"/es": "Chatea con nosotros", "/pt": "Fale connosco", "/over": "Chat with us", "/xx": "Chat with us"}
	browser := newBrowser(t)
	agent := newAgent(t, s)
	for _, path := range sortedKeys(titles) {
		tab, _ := newIncognito(t, browser)
		run(t, tab, chromedp.Navigate(site.URL+path))
		d := hostDoc{t: t, tab: tab}
		d.open()
		if got := evalJS[string](t, tab, rootJS(`return r.querySelector('.t').textContent`)); got != titles[path] {
			t.Errorf("%s: title %q, want %q", path, got, titles[path])
		}
		lang := strings.TrimPrefix(path, "/")
		if _, ok := map[string]bool{"ar": true, "de": true, "fr": true, "es": true, "pt": true}[lang]; !ok {
			lang = "en"
		}
		wantDir := map[bool]string{true: "rtl", false: "ltr"}[lang == "ar"]
		if got := evalJS[string](t, tab, rootJS(`return r.querySelector('.p').matches(':dir(rtl)') ? 'rtl' : 'ltr'`)); got != wantDir {
			t.Errorf("%s: the widget's strings run %s, want %s", path, got, wantDir)
		}
		text := "مرحبا، هل الشحن مجاني؟ " + path
		d.send(text)
		d.confirmed(text)
		m := agent.waitMessage(text)
		checkName(t, path, lang, visitorName(t, s, m.Client))
		agent.reply(m.Client, "Yes, shipping is free over 50 € — "+path)
		d.confirmed("Yes, shipping is free over 50 € — " + path)
		dirs := evalJS[string](t, tab, rootJS(`let s = ''; const l = r.querySelectorAll('.m[data-offset] .mt'); for (let i = 0; i < l.length; i++) s += l[i].matches(':dir(rtl)') ? 'R' : 'L'; return s`))
		if dirs != "RL" {
			t.Errorf("%s: message directions %q, want RL (each from its own text)", path, dirs)
		}
		evalJS[bool](t, tab, rootJS(`r.querySelector('textarea').value = 'שלום'; return true`))
		if !evalJS[bool](t, tab, rootJS(`return r.querySelector('textarea').matches(':dir(rtl)')`)) {
			t.Errorf("%s: the composer does not follow its text's direction", path)
		}
		evalJS[bool](t, tab, rootJS(`r.querySelector('textarea').value = ''; return true`))
		if path == "/ar" {
			agent.reply(m.Client, "تم شحن طلبك اليوم، رقم التتبع في https://track.example/AR123")
			d.confirmed("تم شحن طلبك اليوم، رقم التتبع في https://track.example/AR123")
			screenshot(t, tab, "widget-rtl.png")
		}
	}
}

// visitorName asks the server for the visitor's name (admin:list on a fresh socket).
func visitorName(t *testing.T, s *server, id string) string {
	t.Helper()
	b := newAgent(t, s)
	for f := range b.frames {
		if f.Type == "admin:list" {
			var list []struct{ ID, Name string }
			if err := json.Unmarshal(f.Data, &list); err != nil {
				t.Fatal(err)
			}
			for _, v := range list {
				if v.ID == id {
					return v.Name
				}
			}
			t.Fatalf("visitor %s not in admin:list", id)
		}
	}
	t.Fatal("no admin:list")
	return ""
}

// checkName: the random name is two words of the language's pack.
func checkName(t *testing.T, path, lang, name string) {
	t.Helper()
	var src string
	if lang == "en" {
		src = string(static.Widget())
	} else {
		b, err := fs.ReadFile(static.Public(), "widget-lang/"+lang+".js")
		if err != nil {
			t.Fatal(err)
		}
		src = string(b)
	}
	words := map[string]bool{}
	for _, list := range regexp.MustCompile(`(?s)(adjectives|animals|feminine): \[(.*?)\]`).FindAllStringSubmatch(src, -1) {
		for _, q := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(list[2], -1) {
			for _, w := range strings.Split(q[1], "|") {
				words[w] = true
			}
		}
	}
	parts := strings.Split(name, " ")
	if len(parts) != 2 || !words[parts[0]] || !words[parts[1]] {
		t.Errorf("%s: visitor name %q is not made of the %s pack's words", path, name, lang)
	}
}

// Dates on older messages and day separators; links; the length counter;
// presence as the server tells it (an agent is connected); unread counts in
// step across tabs.
func TestHostConversationDetails(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{
		"/":      {html: hostHTML("", "", "")},
		"/no-bc": {html: hostHTML(`<script>window.BroadcastChannel = undefined;</script>`, "", "")},
	})
	browser := newBrowser(t)
	agent := newAgent(t, s)
	for _, path := range []string{"/", "/no-bc"} {
		tabA, _ := newIncognito(t, browser)
		run(t, tabA, chromedp.Navigate(site.URL+path))
		a := hostDoc{t: t, tab: tabA}
		a.open()
		a.wait("the agent shown online", rootJS(`return r.querySelector('.r').classList.contains('ag')`))
		if status := evalJS[string](t, tabA, statusJS); status != "We are online" {
			t.Errorf("%s: with an agent connected the status says %q", path, status)
		}
		for _, text := range []string{"a week ago", "yesterday", "today"} {
			a.send(text + " " + path)
			a.confirmed(text + " " + path)
		}
		id := agent.waitMessage("today " + path).Client
		links := "see https://shop.example/a?b=1&c=(2). or (http://x.example/y), javascript:alert(1) data:text/html,hi www.example.com <a href=https://evil.example>x</a>"
		agent.reply(id, links)
		a.confirmed(links)
		got := evalJS[string](t, tabA, rootJS(`const l = r.querySelectorAll('.m[data-offset] .mt a'); let s = ''; for (let i = 0; i < l.length; i++) s += l[i].href + ' ' + l[i].textContent + ' ' + l[i].target + ' ' + l[i].rel + '\n'; return s`))
		want := "https://shop.example/a?b=1&c=(2) https://shop.example/a?b=1&c=(2) _blank noopener noreferrer\n" +
			"http://x.example/y http://x.example/y _blank noopener noreferrer\n" +
			"https://evil.example/ https://evil.example _blank noopener noreferrer\n"
		if got != want {
			t.Errorf("%s: links\n%s\nwant\n%s", path, got, want)
		}

		// A second tab of the same visitor: an unread reply shows in both, reading it in one clears both.
		tabB, _ := newTabIn(t, tabA)
		run(t, tabB, chromedp.Navigate(site.URL+path))
		b := hostDoc{t: t, tab: tabB}
		b.wait("tab B online", onlineJS)
		run(t, tabA, chromedp.Click(chromedp.JSPath(widgetRootJS+`.querySelector('.x')`)))
		agent.reply(id, "an unread reply "+path)
		for _, tab := range []hostDoc{a, b} {
			tab.wait("a badge of 1", rootJS(`const k = r.querySelector('.k'); return !k.hidden && k.textContent === '1'`))
		}
		a.wait("opened in tab A", openJS)
		b.wait("tab B's badge cleared by reading in tab A", rootJS(`return r.querySelector('.k').hidden`))

		// Older messages: shift the kept dates back, reload: dates and day separators.
		evalJS[bool](t, tabA, fmt.Sprintf(`(() => { const k = 'chatd:' + %s + ':conv', c = JSON.parse(localStorage.getItem(k)), day = 864e5;
		  c.msgs[0].at = new Date(Date.now() - 8 * day).toISOString(); c.msgs[1].at = new Date(Date.now() - day).toISOString();
		  localStorage.setItem(k, JSON.stringify(c)); return true; })()`, js(s.url())))
		run(t, tabA, chromedp.Reload())
		a.open()
		seps := evalJS[[]string](t, tabA, rootJS(`return [...r.querySelectorAll('.dy')].map(e => e.textContent)`))
		if len(seps) != 3 || seps[1] != "Yesterday" || seps[2] != "Today" || !regexp.MustCompile(`\d`).MatchString(seps[0]) {
			t.Errorf("%s: day separators %q, want a date, Yesterday, Today", path, seps)
		}

		// The length limit, in characters, with a counter near it.
		counter := func(value string) string {
			return evalJS[string](t, tabA, rootJS(fmt.Sprintf(`const i = r.querySelector('textarea'); i.value = %s; i.dispatchEvent(new Event('input'));
			  const c = r.querySelector('.ct'); return c.hidden ? '' : c.textContent`, value)))
		}
		if got := counter(`'x'.repeat(100)`); got != "" {
			t.Errorf("%s: a counter far from the limit: %q", path, got)
		}
		if got := counter(`'x'.repeat(4090)`); got != "6 characters left" {
			t.Errorf("%s: counter %q at 4090 of 4096 bytes", path, got)
		}
		if got := counter(`'ش'.repeat(2050)`); got != "2 characters too many" {
			t.Errorf("%s: counter %q for 2050 two-byte characters", path, got)
		}
		if got := counter(`'👍🏽'.repeat(520)`); got != "8 characters too many" {
			t.Errorf("%s: counter %q for 520 eight-byte emoji", path, got)
		}
		evalJS[bool](t, tabA, rootJS(`r.querySelector('.sd').click(); return true`))
		a.wait("the too-long notice", rootJS(`const n = r.querySelector('.n'); return !n.hidden && n.textContent === 'This message is too long: remove 8 characters from the end to send it.'`))
		if n := evalJS[int](t, tabA, rootJS(`return r.querySelectorAll('.m.pe').length`)); n != 0 {
			t.Errorf("%s: a too-long message was queued", path)
		}
	}
}

// newTabIn opens another tab in the browser context of tab (same storage).
func newTabIn(t *testing.T, tab context.Context) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(tab)
	t.Cleanup(cancel)
	openTarget(t, ctx, cancel)
	return ctx, cancel
}

// After a server restart (close 1012) every widget plans its first attempt
// within 0.5-3 s, spread at random (no thundering herd), and comes back; after
// the browser's online event it tries again at once.
func TestHostReconnectAfterRestart(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{"/": {html: hostHTML("", "", "")}})
	browser := newBrowser(t)
	var docs []hostDoc
	for i := 0; i < 4; i++ {
		tab, _ := newIncognito(t, browser)
		run(t, tab, chromedp.Navigate(site.URL+"/"))
		d := hostDoc{t: t, tab: tab}
		d.open()
		docs = append(docs, d)
	}
	s.restart()
	delays := map[string]bool{}
	for i, d := range docs {
		d.wait("online again", onlineJS)
		// The delay planned on the 1012 itself (later attempts, if the restart
		// outlasts it, double as after any outage and overwrite data-retry).
		ms, _ := strconv.Atoi(evalJS[string](t, d.tab, rootJS(`return r.querySelector('.r').getAttribute('data-restart-retry') || ''`)))
		if ms < 500 || ms > 3000 {
			t.Errorf("tab %d planned its first attempt after a restart in %d ms, want 500-3000", i, ms)
		}
		delays[strconv.Itoa(ms)] = true
		d.send(fmt.Sprintf("back after the restart %d", i))
		d.confirmed(fmt.Sprintf("back after the restart %d", i))
	}
	if len(delays) < 2 {
		t.Errorf("all tabs planned the same delay %v: no jitter", delays)
	}
	d := docs[0]
	d.run(`(window.dispatchEvent(new Event('offline')), true)`)
	d.wait("offline", "!"+onlineJS)
	d.run(`(window.dispatchEvent(new Event('online')), true)`)
	d.wait("online after the online event", onlineJS)
	if ms, _ := strconv.Atoi(evalJS[string](t, d.tab, rootJS(`return r.querySelector('.r').getAttribute('data-retry')`))); ms > 500 {
		t.Errorf("after the online event the widget waited %d ms, want at most 500", ms)
	}
}
