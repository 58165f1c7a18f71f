package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/chatd/chatd/identity"
)

// mailBoxJS evaluates body with e bound to the widget's e-mail box.
func mailBoxJS(body string) string {
	return rootJS(`const e = r.querySelector('.em'); if (!e) return null; ` + body)
}

// mailTextJS is the e-mail box's text, "" while hidden.
var mailTextJS = mailBoxJS(`return e.hidden ? '' : e.textContent`)

// typeEmailJS fills the e-mail field and presses Save.
func typeEmailJS(addr string) string {
	return mailBoxJS(fmt.Sprintf(`const i = e.querySelector('input'); if (!i) return false; i.value = %s; e.querySelector('.sv').click(); return true`, js(addr)))
}

// clickMailButtonJS clicks the e-mail box's button whose text is label.
func clickMailButtonJS(label string) string {
	return mailBoxJS(fmt.Sprintf(`for (const b of e.querySelectorAll('button')) if (b.textContent === %s) { b.click(); return true; } return false`, js(label)))
}

// adminClientEmail matches admin:client frames carrying email.
func adminClientEmail(id, email string) func(json.RawMessage) bool {
	return func(d json.RawMessage) bool {
		var c struct{ ID, Email string }
		json.Unmarshal(d, &c)
		return (id == "" || c.ID == id) && c.Email == email
	}
}

// Offline capture: nobody available, the widget asks for an address, checks
// it, stores it, says what happens next; agents see it. With someone there,
// an address can still be left from a link.
func TestHostOfflineCapture(t *testing.T) {
	s := startServer(t)
	site := newHostSite(t, s, map[string]hostPage{"/": {html: hostHTML("", "", "")}})
	browser := newBrowser(t)
	agent := newAgent(t, s)
	agent.waitFrame("admin:agents", nil)
	agent.status("away") // connected (to watch), not available

	tab, _ := newIncognito(t, browser)
	openHost(t, tab, site, "/")
	d := hostDoc{t: t, tab: tab}
	d.open()
	d.wait("asked for an address", mailTextJS+` === "Leave your email: we will answer there, and here when you come back.Save"`)
	if got := widgetStatus(t, d); got != "We are away. Leave your email and we will answer by email" {
		t.Errorf("status %q", got)
	}
	screenshot(t, tab, "widget-offline.png")
	// Checked before sending: the server hears nothing of a bad address.
	// The reason class: an incomplete address, or one that is not valid.
	for bad, why := range map[string]string{"ann@": "That address looks incomplete.", "ann example.com": "That address looks incomplete.",
		"ann@localhost": "That address looks incomplete.", "ann@example.": "That address looks incomplete.",
		"<ann@example.com>": "Please check this email address.", "ann@-x.example": "Please check this email address."} {
		d.run(typeEmailJS(bad))
		d.wait("refused "+bad, mailTextJS+`.endsWith(`+js(why)+`)`)
	}
	d.send("Do you ship to Norway?")
	id := agent.waitMessage("Do you ship to Norway?").Client
	d.run(typeEmailJS("  Ann@Example.COM ")) // the widget takes the spaces off a field it checks; the server keeps the case
	agent.waitFrame("admin:client", adminClientEmail(id, "Ann@Example.COM"))
	d.wait("told what happens next", mailTextJS+` === "We reply here, and also at Ann@Example.COM.Change"`)
	// The status line and the e-mail box agree: replies here, and by e-mail too.
	if got := widgetStatus(t, d); got != "We are away. Leave a message, we reply here" {
		t.Errorf("status after leaving an address %q", got)
	}
	// The server can send no transcripts here (no mail transport): no such button.
	if strings.Contains(evalJS[string](t, tab, mailTextJS), "Email me") {
		t.Error("a transcript button without a mail transport")
	}
	// Agents see it in the list too.
	agent2 := newAgent(t, s)
	list := agent2.waitFrame("admin:list", nil)
	if !strings.Contains(string(list), `"email":"Ann@Example.COM"`) {
		t.Errorf("admin:list without the address: %s", list)
	}
	// Known on the next page view and kept; changed from the link.
	run(t, tab, chromedp.Reload())
	d.open()
	d.wait("the address remembered", mailTextJS+` === "We reply here, and also at Ann@Example.COM.Change"`)
	d.run(clickMailButtonJS("Change"))
	d.wait("the field with the address", mailBoxJS(`return e.querySelector('input').value === 'Ann@Example.COM'`))
	d.run(typeEmailJS("ann@example.org"))
	agent.waitFrame("admin:client", adminClientEmail(id, "ann@example.org"))
	d.wait("the new address shown", mailTextJS+` === "We reply here, and also at ann@example.org.Change"`)

	// Someone is there: no question, a link to leave an address anyway.
	agent.status("online")
	tab2, _ := newIncognito(t, browser)
	openHost(t, tab2, site, "/")
	d2 := hostDoc{t: t, tab: tab2}
	d2.open()
	d2.wait("the link", mailTextJS+` === "Get our answer by email"`)
	d2.send("hello")
	id2 := agent.waitMessage("hello").Client
	d2.run(clickMailButtonJS("Get our answer by email"))
	d2.run(typeEmailJS("bo@example.net"))
	agent.waitFrame("admin:client", adminClientEmail(id2, "bo@example.net"))
	d2.wait("saved", mailTextJS+` === "We reply here, and also at bo@example.net.Change"`)
}

// --email-capture required: while nobody is available the visitor leaves an
// address before writing; --email-capture off: never asked, addresses refused.
func TestHostEmailRequiredAndOff(t *testing.T) {
	s := startServer(t, "--email-capture", "required")
	off := startServer(t, "--email-capture", "off")
	site := newHostSite(t, s, map[string]hostPage{"/": {html: hostHTML("", "", "")}})
	siteOff := newHostSite(t, off, map[string]hostPage{"/": {html: hostHTML("", "", "")}})
	browser := newBrowser(t)
	agent := newAgent(t, s)
	agent.status("away")

	tab, _ := newIncognito(t, browser)
	openHost(t, tab, site, "/")
	d := hostDoc{t: t, tab: tab}
	d.open()
	d.wait("the composer waits for an address", rootJS(`const i = r.querySelector('textarea'); return i.disabled && i.placeholder === 'Leave your email above first'`))
	d.wait("asked first", mailTextJS+`.startsWith("Nobody is here right now. Please leave your email first")`)
	d.run(typeEmailJS("cy@example.com"))
	agent.waitFrame("admin:client", adminClientEmail("", "cy@example.com"))
	d.wait("the composer open again", rootJS(`const i = r.querySelector('textarea'); return !i.disabled && i.placeholder !== 'Leave your email above first'`))
	d.send("now I can write")
	d.confirmed("now I can write")

	tab2, _ := newIncognito(t, browser)
	openHost(t, tab2, siteOff, "/")
	d2 := hostDoc{t: t, tab: tab2}
	d2.open()
	d2.wait("told nobody is there", statusIsJS("We are away. Leave a message, we reply here"))
	d2.send("no address asked")
	d2.confirmed("no address asked")
	if got := evalJS[string](t, tab2, mailTextJS); got != "" {
		t.Errorf("--email-capture off shows %q", got)
	}
}

// identityPage is a host page of a signed-in user: the site's server put the
// user id and its identity_hash in the page.
func identityPage(uid, hash, name string) string {
	return hostHTML(fmt.Sprintf(`<script>
window.chatd = window.chatd || function () { (chatd.q = chatd.q || []).push(arguments); };
chatd('identify', { id: %s, hash: %s, name: %s, email: 'dee@example.com' });
</script>`, js(uid), js(hash), js(name)), "", "")
}

// Identity from the site: the same conversation in two separate browser
// contexts (devices); a forged hash is refused, creates nothing for that id
// and the widget goes on anonymously; reset forgets the user on a shared browser.
func TestHostIdentity(t *testing.T) {
	secret := strings.Repeat("0123456789abcdef", 3)
	s := startServer(t, "--identity-secret", secret)
	good := identity.Sign(secret, "user-42")
	forged := identity.Sign("another secret of at least 32 bytes!!", "user-42")
	site := newHostSite(t, s, map[string]hostPage{
		"/laptop": {html: identityPage("user-42", good, "Dee Lee")},
		"/phone":  {html: identityPage("user-42", strings.ToUpper(good), "Dee Lee")},
		"/forged": {html: identityPage("user-42", forged, "Mallory")},
	})
	browser := newBrowser(t)
	agent := newAgent(t, s)

	laptop, _ := newIncognito(t, browser)
	run(t, laptop, chromedp.Navigate(site.URL+"/laptop"))
	a := hostDoc{t: t, tab: laptop}
	a.open()
	var who struct{ ID, Identity, Email string }
	json.Unmarshal(agent.waitFrame("admin:client", func(d json.RawMessage) bool {
		return strings.Contains(string(d), `"identity":"user-42"`)
	}), &who)
	if who.Email != "dee@example.com" {
		t.Errorf("the verified user's e-mail claim was not stored: %+v", who)
	}
	a.send("written on my laptop")
	a.confirmed("written on my laptop")
	id := agent.waitMessage("written on my laptop").Client
	if id != who.ID {
		t.Fatalf("the identified visitor is %s, the message came from %s", who.ID, id)
	}
	agent.reply(id, "Hi Dee")

	phone, _ := newIncognito(t, browser)
	run(t, phone, chromedp.Navigate(site.URL+"/phone"))
	b := hostDoc{t: t, tab: phone}
	b.open()
	b.confirmed("written on my laptop")
	b.confirmed("Hi Dee")
	b.send("and now from my phone")
	b.confirmed("and now from my phone")
	a.confirmed("and now from my phone")
	if m := agent.waitMessage("and now from my phone"); m.Client != id {
		t.Errorf("the phone wrote into %s, not the laptop's conversation %s", m.Client, id)
	}
	tokA := evalJS[string](t, laptop, fmt.Sprintf(`JSON.parse(localStorage.getItem(%s)).token`, js("chatd:"+s.url()+":me")))
	tokB := evalJS[string](t, phone, fmt.Sprintf(`JSON.parse(localStorage.getItem(%s)).token`, js("chatd:"+s.url()+":me")))
	if tokA == "" || tokA == tokB {
		t.Errorf("the devices share a token (%q, %q): each must have its own", tokA, tokB)
	}

	// A forged hash: refused; the page chats anonymously, never as user-42.
	mallory, _ := newIncognito(t, browser)
	run(t, mallory, chromedp.Navigate(site.URL+"/forged"))
	m := hostDoc{t: t, tab: mallory}
	m.open()
	m.send("let me in")
	m.confirmed("let me in")
	if got := agent.waitMessage("let me in"); got.Client == id {
		t.Fatal("a forged identity_hash opened user-42's conversation")
	}
	if n := evalJS[int](t, mallory, countJS(".m[data-offset] .mt", "Hi Dee")); n != 0 {
		t.Error("the forged page shows user-42's conversation")
	}
	fresh := newAgent(t, s)
	var list []struct {
		ID, Name, Identity string
	}
	json.Unmarshal(fresh.waitFrame("admin:list", nil), &list)
	for _, v := range list {
		if v.Identity == "user-42" && v.ID != id {
			t.Errorf("a second visitor bound to user-42: %+v", v)
		}
		if v.Name == "Mallory" {
			t.Errorf("the forged claims were taken: %+v", v)
		}
	}

	// Signing out on the laptop: the site calls reset; the next visitor there is new.
	a.run(`chatd('reset')`)
	a.wait("the conversation gone", countJS(".m[data-offset] .mt", "Hi Dee")+" === 0")
	a.wait("a new visitor online", onlineJS)
	a.send("someone else on this laptop")
	if got := agent.waitMessage("someone else on this laptop"); got.Client == id {
		t.Error("after reset the laptop still wrote as user-42")
	}
}
