package mail

import (
	"errors"
	"testing"

	"github.com/chatd/chatd/internal/notifytest"
)

// An address is kept as the visitor wrote it (case, no trimming), and
// addresses are compared case-insensitively where chatd compares them: the
// gap between transcripts to one mailbox, one alert copy per mailbox.
func TestAddressKeptAsGivenComparedFolded(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"Jöns.Test+shop@Example.COM", "jöns.test+shop@example.com"},
		{"ANN@EXAMPLE.COM", "ann@example.com"},
		{"Ann@Bücher.Example", "ann@bücher.example"},
	} {
		if got, err := ValidAddress(c.a); err != nil || got != c.a {
			t.Errorf("ValidAddress(%q) = %q, %v; want it as given", c.a, got, err)
		}
		if !SameAddress(c.a, c.b) || AddressKey(c.a) != AddressKey(c.b) {
			t.Errorf("%q and %q are not the same address", c.a, c.b)
		}
	}
	if SameAddress("ann@example.com", "anne@example.com") {
		t.Error("two mailboxes compared equal")
	}

	srv := notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: TLSNone})
	s, _ := NewSMTP(smtpConfig(srv, TLSNone))
	m, done, _ := runMailer(t, s, MailerConfig{})
	c := newTestContinuity(t, ContinuityConfig{SiteName: "Shop", SiteURL: "https://shop.example/", MaxTranscript: 2048}, m)
	tr := Transcript{Visitor: "v1", Email: "Jöns.Test+shop@Example.COM", Name: "Jöns", Lines: []Line{{From: "client", Name: "Jöns", Text: "hi", At: t0}}}
	if err := c.SendTranscript(tr); err != nil {
		t.Fatal(err)
	}
	if d := waitDone(t, done); d.err != nil {
		t.Fatal(d.err)
	}
	if r := srv.Next(t); len(r.Rcpt) != 1 || r.Rcpt[0] != "Jöns.Test+shop@Example.COM" {
		t.Fatalf("transcript mailed to %q, want the address as given", r.Rcpt)
	}
	for _, again := range []string{"jöns.test+shop@example.com", "JÖNS.TEST+SHOP@EXAMPLE.COM"} {
		tr.Email = again
		if err := c.SendTranscript(tr); !errors.Is(err, ErrTooSoon) {
			t.Errorf("transcript to %q right after one to the same mailbox: %v, want ErrTooSoon", again, err)
		}
	}

	a, err := NewAlerts(AlertConfig{To: []string{"Ops@Example.com", "ops@example.com", "OPS@EXAMPLE.COM", "dev@example.com"}}, m)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.cfg.To; len(got) != 2 || got[0] != "Ops@Example.com" || got[1] != "dev@example.com" {
		t.Errorf("alert recipients %q, want one per mailbox, as first written", got)
	}
}
