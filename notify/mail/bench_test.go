package mail

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/internal/pctl"
)

// BenchmarkEmailLatency measures Mailer.Send -> the SMTP server has read
// DATA, one mail at a time, over loopback: queue hand-off plus a whole SMTP
// session (connect, EHLO, MAIL, RCPT, DATA). Figures in docs/notifications.md.
func BenchmarkEmailLatency(b *testing.B) {
	srv := notifytest.NewSMTP(b, notifytest.SMTPOptions{TLS: TLSNone})
	s, _ := NewSMTP(smtpConfig(srv, TLSNone))
	m, done, _ := runMailer(b, s, MailerConfig{})
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		m.Send(Message{To: []string{"agent@example.com"}, Subject: fmt.Sprint("bench ", i), Text: "Do you ship to Norway?"})
		r := srv.Next(b)
		lat = append(lat, r.At.Sub(start))
		waitDone(b, done)
	}
	b.StopTimer()
	pctl.Report(b, lat)
}

// BenchmarkAlertLatency measures VisitorMessage -> the digest's DATA read by
// the SMTP server with After and Window at 1ns: the scheduler's own cost on
// top of BenchmarkEmailLatency. (In production the designed wait, After,
// default 3 minutes, comes first.)
func BenchmarkAlertLatency(b *testing.B) {
	srv := notifytest.NewSMTP(b, notifytest.SMTPOptions{TLS: TLSNone})
	s, _ := NewSMTP(smtpConfig(srv, TLSNone))
	m, done, _ := runMailer(b, s, MailerConfig{})
	a, err := NewAlerts(AlertConfig{To: []string{"agent@example.com"}, After: time.Nanosecond, Window: time.Nanosecond}, m)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		a.VisitorMessage(fmt.Sprint("v", i), "Ann", "hello?", start)
		r := srv.Next(b)
		lat = append(lat, r.At.Sub(start))
		waitDone(b, done)
	}
	b.StopTimer()
	pctl.Report(b, lat)
}
