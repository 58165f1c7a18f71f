package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/notifytest"
)

// The widget's small texts say the server's reason: a second transcript
// asked within --transcript-gap is told to wait (not "that did not work");
// and a reset leaves no day divider over an empty conversation.
func TestHostTranscriptTooSoonAndResetDivider(t *testing.T) {
	smtp := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: notifytest.TLSNone})
	s := startServer(t, "--smtp-host", "127.0.0.1", "--smtp-port", strconv.Itoa(smtp.Port), "--smtp-tls", "none",
		"--smtp-from", "chat@shop.test", "--transcript-gap", "1h")
	site := newHostSite(t, s, map[string]hostPage{"/": {html: hostHTML("", "", "")}})
	browser := newBrowser(t)
	tab, _ := newIncognito(t, browser)
	openHost(t, tab, site, "/")
	d := hostDoc{t: t, tab: tab}
	d.open()
	d.send("Do you ship to Norway?")
	d.confirmed("Do you ship to Norway?")
	d.run(clickMailButtonJS("Get our answer by email"))
	d.run(typeEmailJS("ann@example.com"))
	d.wait("saved", mailTextJS+`.startsWith("We reply here, and also at ann@example.com.")`)

	d.run(clickMailButtonJS("Email me this conversation"))
	d.wait("the transcript on its way", mailTextJS+`.endsWith("This conversation is on its way to ann@example.com.")`)
	if m := smtp.Next(t); m.Rcpt[0] != "ann@example.com" || !strings.Contains(m.Body, "Do you ship to Norway?") {
		t.Fatalf("transcript to %v:\n%s", m.Rcpt, m.Body)
	}
	d.run(clickMailButtonJS("Email me this conversation"))
	d.wait("told to wait", mailTextJS+`.endsWith("A transcript was just sent: ask again a little later.")`)
	smtp.None(t)

	// A day divider is shown over the messages, and goes with them.
	dividers := rootJS(`return r.querySelectorAll('.dy').length`)
	if n := evalJS[int](t, tab, dividers); n != 1 {
		t.Fatalf("%d day dividers over one message", n)
	}
	d.run(`chatd('reset')`)
	d.wait("no message after a reset", rootJS(`return r.querySelectorAll('.m[data-offset], .m[data-cid]').length === 0`))
	if n := evalJS[int](t, tab, dividers); n != 0 {
		t.Errorf("%d day dividers over an empty conversation after a reset", n)
	}
	// The next message brings its divider back.
	d.send("hello again")
	d.confirmed("hello again")
	if n := evalJS[int](t, tab, dividers); n != 1 {
		t.Errorf("%d day dividers after a new message", n)
	}
}
