package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/internal/logcheck"
	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/notify/push"
	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/store"
)

const hookSecret = "hook-secret-0123456789abcdef"

// notifyRig is chatd as a child process with every notification channel
// pointed at real receivers on 127.0.0.1: an SMTP server (STARTTLS), a push
// service (https) and a webhook receiver. The child trusts the receivers'
// self-signed certificates through SSL_CERT_FILE, as it would trust a CA.
type notifyRig struct {
	*child
	smtp  *notifytest.SMTPServer
	push  *notifytest.PushService
	hook  *notifytest.WebhookReceiver
	token string // ann's admin token
}

func startNotifyRig(t *testing.T, extra ...string) *notifyRig {
	t.Helper()
	dir := t.TempDir()
	role, display := store.RoleAdmin, "Ann from Shop"
	if _, err := seed.SetWith(dir, "agent7", seed.Change{Password: "pw", Cost: 4, Role: &role, Display: &display}); err != nil {
		t.Fatal(err)
	}
	r := &notifyRig{
		smtp: notifytest.NewSMTP(t, notifytest.SMTPOptions{TLS: notifytest.TLSStartTLS}),
		push: notifytest.NewPushService(t, notifytest.PushOptions{TLS: true}),
		hook: notifytest.NewWebhookReceiverTLS(t, hookSecret), // https, offering HTTP/2, as most receivers do
	}
	// One bundle trusting the self-signed receivers.
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	var pem []byte
	for _, f := range []string{r.smtp.CAFile, r.push.CAFile, r.hook.CAFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pem = append(pem, b...)
	}
	if err := os.WriteFile(bundle, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--bcrypt-cost", "4",
		"--smtp-host", "127.0.0.1", "--smtp-port", strconv.Itoa(r.smtp.Port), "--smtp-from", "Shop chat <chat@shop.test>",
		"--alert-emails", "agent1@shop.test, agent2@shop.test", "--alert-after", "1ms", "--alert-window", "1ms", "--alert-grace", "1ms",
		"--public-url", "https://chat.shop.test", "--site-name", "Shop",
		"--push-subject", "mailto:ops@shop.test", "--push-allow-private",
		"--webhook-urls", r.hook.URL + "/hooks/chatd", "--webhook-secret", hookSecret,
	}, extra...)
	r.child = startChildOpts(t, chatdtest.Options{Data: dir, Args: args, Env: []string{"SSL_CERT_FILE=" + bundle}})
	t.Cleanup(func() { // every line a strict JSON parser reads (no key twice), failures and retries included
		if n, err := logcheck.Lines(strings.NewReader(r.child.log.String())); err != nil {
			t.Errorf("log line %d: %v", n, err)
		}
	})
	r.token = login(t, r.url(), "agent7", "pw")
	return r
}

// subscribe registers a browser of the push service as ann's subscription, through the API.
func (r *notifyRig) subscribe(t *testing.T, name string, codes ...int) *notifytest.Browser {
	t.Helper()
	b := notifytest.NewBrowser(t, name)
	res, body := httpDo(t, "POST", r.url()+"/api/push/subscriptions", string(b.Subscription(r.push.Add(b, codes...))), r.token)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", res.StatusCode, body)
	}
	return b
}

// metric returns the value of one sample of the child's /metrics.
func (r *notifyRig) metric(t *testing.T, sample string) float64 {
	t.Helper()
	_, page := httpDo(t, "GET", r.url()+"/metrics", "", "")
	return metricValue(t, page, sample)
}

// waitMetric waits until sample reaches at least want.
func (r *notifyRig) waitMetric(t *testing.T, sample string, want float64) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for r.metric(t, sample) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s stayed below %v for %v", sample, want, wait)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

func TestNotificationsEndToEnd(t *testing.T) {
	r := startNotifyRig(t)
	b := r.subscribe(t, "annslaptop")
	vis, id, token := visitor(t, r.url(), "Zoë <script>")
	vis.send("client:message", map[string]any{"cid": "c1", "text": "Do you ship to Norway? <b>&</b>"})
	var m message
	vis.expect("client:message", &m)

	// Agents' alert digest: one mail per recipient, nobody being online.
	rcpts := map[string]bool{}
	for range 2 {
		mail := r.smtp.Next(t)
		if len(mail.Rcpt) != 1 || mail.From != "chat@shop.test" {
			t.Fatalf("envelope from %q to %v", mail.From, mail.Rcpt)
		}
		rcpts[mail.Rcpt[0]] = true
		for _, want := range []string{"Zoë <script>", "new conversation", "> Do you ship to Norway? <b>&</b>",
			"https://chat.shop.test/portal/#visitor=" + id} {
			if !strings.Contains(mail.Body, want) {
				t.Fatalf("digest lacks %q:\n%s", want, mail.Body)
			}
		}
		if !strings.HasPrefix(mail.Subject, "[Shop] 1 visitor waiting: Zoë") || strings.Contains(mail.Raw, token) {
			t.Fatalf("subject %q, or the mail holds the visitor's token", mail.Subject)
		}
	}
	if !rcpts["agent1@shop.test"] || !rcpts["agent2@shop.test"] {
		t.Fatalf("recipients %v", rcpts)
	}

	// Web Push, decrypted at the endpoint with the browser's keys.
	p := r.push.Next(t)
	var n push.Notification
	if err := json.Unmarshal(p.Plain, &n); err != nil || p.Browser != b.Name {
		t.Fatalf("push to %s: %s (%v)", p.Browser, p.Plain, err)
	}
	if n.Type != push.ConversationCreated || n.Visitor != id || n.Name != "Zoë <script>" || n.Text != m.Text || n.Offset != m.Offset ||
		n.URL != "/portal/#visitor="+id || p.Sub != "mailto:ops@shop.test" {
		t.Fatalf("push payload %+v (sub %q)", n, p.Sub)
	}

	// Webhooks: conversation.created then message.created, signed.
	var types []string
	for range 2 {
		h := r.hook.Next(t)
		var ev struct {
			Type string
			Data struct {
				Visitor struct{ ID, Name string }
				Message *message
			}
		}
		if err := json.Unmarshal(h.Body, &ev); err != nil || !h.SigOK || h.Event != ev.Type || ev.Data.Visitor.ID != id || h.Proto != "HTTP/1.1" {
			t.Fatalf("webhook %s (sig %v, %s): %v", h.Body, h.SigOK, h.Proto, err)
		}
		if ev.Type == "message.created" && (ev.Data.Message == nil || ev.Data.Message.Text != m.Text) {
			t.Fatalf("message.created %s", h.Body)
		}
		types = append(types, ev.Type)
	}
	if fmt.Sprint(types) != "[conversation.created message.created]" {
		t.Fatalf("webhook events %v", types)
	}

	// An agent's reply: a webhook with the agent, no push (agents are not pushed their own replies).
	adm, _ := adminSocket(t, r.url(), r.token)
	adm.send("admin:message", map[string]any{"client": id, "cid": "a1", "text": "Yes, we do."})
	if h := r.hook.Next(t); !strings.Contains(string(h.Body), `"from":"admin","admin":"agent7"`) || !strings.Contains(string(h.Body), `"display":"Ann from Shop"`) {
		t.Fatalf("agent's message.created %s", h.Body)
	}
	// The visitor's second message is a message.created, and once no agent
	// is there, it alone is mailed: the answered one is not listed again.
	adm.c.Close()
	vis.send("client:message", map[string]any{"cid": "c2", "text": "thanks"})
	vis.expect("client:message", nil)
	if h := r.hook.Next(t); h.Event != "message.created" || !strings.Contains(string(h.Body), `"text":"thanks"`) {
		t.Fatalf("second visitor message: %s %s", h.Event, h.Body)
	}
	for range 2 {
		mail := r.smtp.Next(t)
		if !strings.Contains(mail.Body, "1 unanswered message") || !strings.Contains(mail.Body, "> thanks") ||
			strings.Contains(mail.Body, "new conversation") || strings.Contains(mail.Body, "Norway") {
			t.Fatalf("second digest:\n%s", mail.Body)
		}
	}

	// The delivery log, for admins; counters in /metrics.
	res, body := httpDo(t, "GET", r.url()+"/api/webhooks", "", r.token)
	if res.StatusCode != 200 || !strings.Contains(body, `"endpoint":"`+r.hook.URL+`"`) || strings.Contains(body, "/hooks/chatd") {
		t.Fatalf("webhook log %d %s", res.StatusCode, body)
	}
	r.waitMetric(t, `chatd_notify_total{channel="email",outcome="sent"}`, 4)
	r.waitMetric(t, `chatd_notify_total{channel="push",outcome="sent"}`, 1)
	r.waitMetric(t, `chatd_notify_total{channel="webhook",outcome="sent"}`, 4)
}

// TestAcksNeverWaitForReceivers hangs every receiver and checks that
// visitors and agents keep getting their acknowledgements while each
// channel's attempt is stuck in a receiver; the work resumes once the
// receivers answer.
func TestAcksNeverWaitForReceivers(t *testing.T) {
	r := startNotifyRig(t, "--msg-rate", "1000", "--msg-burst", "1000", "--smtp-timeout", "1h", "--webhook-timeout", "1h")
	r.subscribe(t, "hanging")
	r.smtp.Hang()
	r.push.Hang()
	r.hook.Hang()
	// No agent online: the first message is mailed to the agents, pushed and posted.
	vis, id, _ := visitor(t, r.url(), "Ann")
	vis.send("client:message", map[string]any{"cid": "first", "text": "hello?"})
	vis.expect("client:message", nil)
	for name, held := range map[string]<-chan struct{}{"smtp": r.smtp.Held(), "push": r.push.Held()} {
		select {
		case <-held:
		case <-time.After(wait):
			t.Fatalf("the %s receiver was never reached", name)
		}
	}
	select {
	case <-r.hook.Received(): // the webhook receiver holds it unanswered
	case <-time.After(wait):
		t.Fatal("the webhook receiver was never reached")
	}
	// Every receiver now holds a request: the chat goes on regardless.
	adm, _ := adminSocket(t, r.url(), r.token)
	const n = 50
	for i := range n {
		vis.send("client:message", map[string]any{"cid": fmt.Sprintf("c%d", i), "text": "hello"})
		vis.expect("client:message", nil)
		adm.send("admin:message", map[string]any{"client": id, "cid": fmt.Sprintf("a%d", i), "text": "hi"})
		adm.expect("admin:message", nil)
	}
	r.waitMetric(t, `chatd_messages_stored_total`, 2*n+1)
	r.smtp.Release()
	r.push.Release()
	r.hook.Release()
	r.smtp.Next(t)
	r.push.Next(t)
	r.waitMetric(t, `chatd_notify_total{channel="webhook",outcome="sent"}`, 2)
}

// TestFailingReceiversAreRetriedAndCounted: a 451 SMTP answer, a push
// subscription the service says is gone (410), a webhook answering 500:
// each is logged, counted, retried where it can succeed, and the gone
// subscription is removed.
func TestFailingReceiversAreRetriedAndCounted(t *testing.T) {
	r := startNotifyRig(t)
	// Every series is there from the start, at 0.
	for _, ch := range []string{"email", "push", "webhook"} {
		for _, o := range []string{"sent", "failed", "retried", "dropped", "gone"} {
			if v := r.metric(t, `chatd_notify_total{channel="`+ch+`",outcome="`+o+`"}`); v != 0 {
				t.Fatalf("%s %s starts at %v", ch, o, v)
			}
		}
	}
	r.subscribe(t, "gone", http.StatusGone, http.StatusGone)
	ok := r.subscribe(t, "ok")
	r.hook.Answer(http.StatusInternalServerError)
	r.smtp.FailNext(451)
	vis, _, _ := visitor(t, r.url(), "Ann")
	vis.send("client:message", map[string]any{"cid": "c1", "text": "hello? SeCrEt text"})
	vis.expect("client:message", nil)

	if p := r.push.Next(t); p.Browser != ok.Name {
		t.Fatalf("pushed to %s", p.Browser)
	}
	// A gone subscription is removed: counted gone (not failed), logged once.
	r.waitMetric(t, `chatd_notify_total{channel="push",outcome="gone"}`, 1)
	r.child.log.waitMsg(t, "notification receiver gone, removed")
	r.waitMetric(t, `chatd_notify_total{channel="webhook",outcome="retried"}`, 1)
	r.waitMetric(t, `chatd_notify_total{channel="email",outcome="retried"}`, 1)
	// Each retry is logged at warn when it is planned, with its attempt and
	// wait, never the message text.
	retries := func(channel string) int {
		r.child.log.mu.Lock()
		defer r.child.log.mu.Unlock()
		n := 0
		for _, l := range r.child.log.lines {
			if l["message"] == "notification attempt failed, retrying" && l["channel"] == channel {
				if l["level"] != "warn" || l["attempt"] != float64(1) || l["attempts"] == nil || l["retry_in_ms"] == nil {
					t.Errorf("retry line %v", l)
				}
				n++
			}
		}
		return n
	}
	for _, ch := range []string{"email", "webhook"} {
		r.child.log.waitMsg(t, "notification attempt failed, retrying")
		deadline := time.Now().Add(wait)
		for retries(ch) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no retry logged for %s:\n%s", ch, r.child.log.String())
			}
			time.Sleep(20 * time.Millisecond) // polling with a deadline
		}
	}
	if strings.Contains(r.child.log.String(), "SeCrEt") {
		t.Fatalf("a log line holds the message text:\n%s", r.child.log.String())
	}
	// The webhook's retry (about 2 s later) is delivered, and the log says so.
	r.waitMetric(t, `chatd_notify_total{channel="webhook",outcome="sent"}`, 2)
	_, body := httpDo(t, "GET", r.url()+"/api/webhooks", "", r.token)
	if !regexp.MustCompile(`"status":"delivered","attempts":2,"code":200`).MatchString(body) {
		t.Fatalf("delivery log lacks the retried delivery: %s", body)
	}
	// The gone subscription is pushed to no more (it would be refused 410 again).
	vis2, _, _ := visitor(t, r.url(), "Bob")
	vis2.send("client:message", map[string]any{"cid": "c1", "text": "hi"})
	vis2.expect("client:message", nil)
	if p := r.push.Next(t); p.Browser != ok.Name {
		t.Fatalf("pushed to %s", p.Browser)
	}
	if g, f := r.metric(t, `chatd_notify_total{channel="push",outcome="gone"}`), r.metric(t, `chatd_notify_total{channel="push",outcome="failed"}`); g != 1 || f != 0 ||
		r.child.log.count("notification receiver gone, removed") != 1 || r.child.log.count("notification failed") != 0 {
		t.Fatalf("push gone %v, failed %v, log:\n%s", g, f, r.child.log.String())
	}
}

// mailTo waits for the next mail to addr, skipping mails to others.
func (r *notifyRig) mailTo(t *testing.T, addr string) notifytest.Mail {
	t.Helper()
	for {
		m := r.smtp.Next(t)
		if len(m.Rcpt) == 1 && m.Rcpt[0] == addr {
			return m
		}
	}
}

// TestVisitorMailsThroughChatd: a visitor leaves an address in the widget
// (client:email) and goes away; an agent's reply is mailed to it, with a
// link to the page it chatted on (without the page's query) and no token;
// the visitor, back, asks for the transcript and gets it by mail.
func TestVisitorMailsThroughChatd(t *testing.T) {
	r := startNotifyRig(t, "--visitor-email-delay", "1ms", "--visitor-email-gap", "1ms", "--transcript-gap", "1ms", "--site-url", "https://shop.test/")
	adm, _ := adminSocket(t, r.url(), r.token)
	vis := dialWS(t, r.url(), "/ws/client")
	vis.send("client:add", map[string]any{"name": "Ann", "token": "", "after": 0,
		"meta": map[string]string{"page": "https://shop.test/orders/42?session=SeCrEt"}})
	var who struct{ ID, Token string }
	vis.expect("client:id", &who)
	vis.send("client:email", map[string]any{"email": "ann@example.com"})
	vis.expect("client:email", nil)
	vis.send("client:message", map[string]any{"cid": "c1", "text": "where is my order?"})
	vis.expect("client:message", nil)
	vis.c.Close()
	for {
		var st struct {
			ID     string
			Status bool
		}
		adm.expect("admin:client_status", &st)
		if st.ID == who.ID && !st.Status {
			break
		}
	}
	adm.send("admin:message", map[string]any{"client": who.ID, "cid": "a1", "text": "It left yesterday."})
	m := r.mailTo(t, "ann@example.com")
	for _, want := range []string{"Hello Ann", "Ann from Shop replied to your chat on Shop", "It left yesterday.", "https://shop.test/orders/42\n"} {
		if !strings.Contains(m.Body, want) {
			t.Fatalf("reply mail lacks %q:\n%s", want, m.Body)
		}
	}
	if strings.Contains(m.Raw, who.Token) || strings.Contains(m.Raw, "SeCrEt") || strings.Contains(m.Raw, "agent7") ||
		m.Subject != "[Shop] New reply to your chat" {
		t.Fatalf("reply mail %q holds the token, the page's query or the agent's login:\n%s", m.Subject, m.Raw)
	}

	// Back on the site: the transcript, by mail.
	back := dialWS(t, r.url(), "/ws/client")
	back.send("client:add", map[string]any{"token": who.Token, "after": 0})
	back.expect("client:replayed", nil)
	back.send("client:transcript", map[string]any{})
	var ack struct{ Email string }
	back.expect("client:transcript", &ack)
	if ack.Email != "ann@example.com" {
		t.Fatalf("transcript ack %+v", ack)
	}
	tr := r.mailTo(t, "ann@example.com")
	if tr.Subject != "[Shop] Your chat transcript" || !strings.Contains(tr.Body, "where is my order?") || !strings.Contains(tr.Body, "It left yesterday.") ||
		!strings.Contains(tr.Body, "Ann from Shop:") || strings.Contains(tr.Raw, who.Token) || strings.Contains(tr.Raw, "agent7") {
		t.Fatalf("transcript %q:\n%s", tr.Subject, tr.Body)
	}
}

// TestPushGoesToAgentsWithoutThePortal: an agent with the portal open is
// not pushed (the portal shows desktop notifications); once it is closed,
// the agent's browsers are.
func TestPushGoesToAgentsWithoutThePortal(t *testing.T) {
	r := startNotifyRig(t)
	r.subscribe(t, "agentsphone")
	adm, _ := adminSocket(t, r.url(), r.token)
	a, aID, _ := visitor(t, r.url(), "Ann")
	a.send("client:message", map[string]any{"cid": "c1", "text": "while the portal is open"})
	a.expect("client:message", nil)
	adm.expect("admin:message", nil)
	r.hook.Next(t) // conversation.created: the dispatcher has handled the message
	adm.c.Close()
	deadline := time.Now().Add(wait)
	for { // the hub has seen the portal go
		_, body := httpDo(t, "GET", r.url()+"/api/widget", "", "")
		if strings.Contains(body, `"agents_online":0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent still counts as online: %s", body)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	b, bID, _ := visitor(t, r.url(), "Bob")
	b.send("client:message", map[string]any{"cid": "c1", "text": "portal closed"})
	b.expect("client:message", nil)
	var n push.Notification
	if p := r.push.Next(t); json.Unmarshal(p.Plain, &n) != nil || n.Visitor != bID {
		t.Fatalf("pushed %s, want Bob's message only (Ann is %s)", p.Plain, aID)
	}
	r.waitMetric(t, `chatd_notify_total{channel="push",outcome="sent"}`, 1) // counted once the service answered
	if got := r.metric(t, `chatd_notify_total{channel="push",outcome="sent"}`); got != 1 {
		t.Fatalf("%v pushes sent, want 1", got)
	}
}
