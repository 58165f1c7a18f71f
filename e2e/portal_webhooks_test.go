package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/internal/notifytest"
)

// The settings show admins the webhook delivery log: each endpoint by scheme
// and host only (its path, a credential, never reaches the page) and each
// delivery's event, status and answer.
func TestPortalWebhookLog(t *testing.T) {
	const secret = "e2e-webhook-secret-0123456789"
	hook := notifytest.NewWebhookReceiver(t, secret)
	s := startServer(t, "--webhook-urls", hook.URL+"/T000/B000/SeCrEtPaTh", "--webhook-secret", secret)
	setRole(t, s, "admin")
	agent := newBrowser(t)
	portalLogin(t, agent, s, true)
	v := dialVisitor(t, s, "Ann", "", nil)
	v.send("hello")
	for range 2 {
		if h := hook.Next(t); !h.SigOK {
			t.Fatalf("unsigned delivery %s", h.Body)
		}
	}
	openSettings(t, agent)
	waitFor(t, agent, "two delivered rows", `document.querySelectorAll('#webhooks-log tr.hook-delivered').length === 2 && !document.getElementById('webhooks').hidden`)
	text := evalJS[string](t, agent, `document.getElementById('webhooks').textContent`)
	for _, want := range []string{hook.URL, "conversation.created", "message.created", "delivered", "HTTP 200"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the log lacks %q: %s", want, text)
		}
	}
	if strings.Contains(evalJS[string](t, agent, `document.documentElement.outerHTML`), "SeCrEtPaTh") {
		t.Fatal("the webhook URL's path reached the page")
	}
	// A later delivery shows after Refresh.
	v.send("again")
	hook.Next(t)
	run(t, agent, chromedp.Click(chromedp.ID("webhooks-refresh")))
	waitFor(t, agent, "three delivered rows", `document.querySelectorAll('#webhooks-log tr.hook-delivered').length === 3`)
}

// Without webhooks the section says so to an admin; an agent without the
// admin role does not see the section.
func TestPortalWebhookLogEmpty(t *testing.T) {
	s := startServer(t)
	agent := newBrowser(t)
	portalLogin(t, agent, s, true)
	openSettings(t, agent)
	waitFor(t, agent, "the push state", `document.getElementById('set-push-note').textContent !== 'Checking…'`)
	awaitJS[bool](t, agent, `fetch('/api/webhooks', {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('chatd.portal.token')}}).then(r => r.status === 403)`)
	waitFor(t, agent, "no log for an agent", `document.getElementById('webhooks').hidden`)
	closeSettings(t, agent)

	setRole(t, s, "admin")
	openSettings(t, agent)
	waitFor(t, agent, "the empty log", `!document.getElementById('webhooks').hidden && document.getElementById('webhooks-log').textContent.includes('No webhooks are configured')`)
}

// setRole gives the test's agent role, through the running server's admins file.
func setRole(t *testing.T, s *server, role string) {
	t.Helper()
	if code, out, errOut := chatdtest.Run(t, chatdtest.Binary(t), "", nil, "admin", "set", agentName, "--role", role, "--data", s.dir); code != 0 {
		t.Fatalf("chatd admin set --role %s: exit %d\n%s%s", role, code, out, errOut)
	}
}

// The e-mail address a visitor left (admin:client, or "email" in admin:list)
// shows in the conversation's header, as text.
func TestPortalShowsVisitorEmail(t *testing.T) {
	s := startServer(t)
	agent := newBrowser(t)
	addScript(t, agent, socketTap)
	portalLogin(t, agent, s, true)
	v := dialVisitor(t, s, "Ann", "", nil)
	v.send("hello")
	portalSelect(t, agent, v.ID)
	if !evalJS[bool](t, agent, `document.getElementById('conv-contact').hidden`) {
		t.Fatal("a contact line without an address")
	}
	hostile := `ann+<b>x</b>@example.com`
	inject(t, agent, "admin:client", map[string]any{"id": v.ID, "email": hostile})
	waitFor(t, agent, "the address shown", fmt.Sprintf(`!document.getElementById('conv-contact').hidden && document.querySelector('#conv-contact .contact-email').textContent === %s && !document.querySelector('#conv-contact b')`, js(hostile)))
	// An event for an unknown visitor changes nothing and breaks nothing.
	inject(t, agent, "admin:client", map[string]any{"id": "nobody", "email": "x@example.com"})
	inject(t, agent, "admin:client", nil)
	waitPortalCount(t, agent, "hello", 1)
}

// The agent's status switch: "Away" tells the server (admin:status), the
// header counts the agents available (admin:agents), a visitor is told
// nobody is there, and the choice survives a reload (told again to the server).
func TestPortalStatusSwitch(t *testing.T) {
	s := startServer(t)
	agent := newBrowser(t)
	portalLogin(t, agent, s, true)
	waitFor(t, agent, "the status switch", `!document.getElementById('status-box').hidden && document.getElementById('agents-online').textContent === '1 available'`)
	get := func() (bool, error) {
		res, err := http.Get(s.url() + "/api/widget")
		if err != nil {
			return false, err
		}
		defer res.Body.Close()
		var a struct{ Available bool }
		err = json.NewDecoder(res.Body).Decode(&a)
		return a.Available, err
	}
	available := func(want bool) {
		t.Helper()
		if got, err := get(); err != nil || got != want {
			t.Fatalf("GET /api/widget available=%v (%v), want %v", got, err, want)
		}
	}
	available(true)
	run(t, agent, chromedp.SetValue(chromedp.ID("status"), "away")) // fires change, as a pick does
	waitFor(t, agent, "nobody available", `document.getElementById('agents-online').textContent === '0 available' && document.getElementById('status').value === 'away'`)
	available(false)
	// A reload: still away (the choice is kept in the browser and told again).
	run(t, agent, chromedp.Reload())
	waitPortalConnected(t, agent)
	waitFor(t, agent, "away after a reload", `document.getElementById('status').value === 'away' && document.getElementById('agents-online').textContent === '0 available'`)
	available(false)
	// A restart forgets statuses (sessions are kept in the store): the portal
	// reconnects by itself and tells the server again. Until it has, the new
	// process counts the connected agent as online.
	s.restart()
	deadline := time.Now().Add(stepTimeout)
	for gauge(t, s, "chatd_admin_sockets") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the portal did not reconnect after the restart")
		}
		time.Sleep(pollInterval) // polling with a deadline
	}
	for {
		got, err := get()
		if err == nil && !got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart the reconnected portal did not say away again (available=%v, %v)", got, err)
		}
		time.Sleep(pollInterval) // polling with a deadline
	}
	waitFor(t, agent, "away after a restart", `document.getElementById('status').value === 'away' && document.getElementById('agents-online').textContent === '0 available'`)
}

// A visitor's address left in the widget's socket (client:email) shows in the portal.
func TestPortalShowsEmailFromTheVisitor(t *testing.T) {
	s := startServer(t)
	agent := newBrowser(t)
	portalLogin(t, agent, s, true)
	v := dialVisitor(t, s, "Ann", "", nil)
	v.send("hello")
	portalSelect(t, agent, v.ID)
	v.write("client:email", map[string]any{"email": "ann@example.com"})
	v.readUntil("client:email")
	waitFor(t, agent, "the address shown", `document.querySelector('#conv-contact .contact-email') && document.querySelector('#conv-contact .contact-email').textContent === 'ann@example.com'`)
	// Listed with the address after a reload too (admin:list's "email").
	run(t, agent, chromedp.Reload())
	waitPortalConnected(t, agent)
	portalSelect(t, agent, v.ID)
	waitFor(t, agent, "the address after a reload", `document.querySelector('#conv-contact .contact-email') && document.querySelector('#conv-contact .contact-email').textContent === 'ann@example.com'`)
}
