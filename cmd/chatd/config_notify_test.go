package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestNotifyConfigErrors(t *testing.T) {
	smtp := []string{"--smtp-host", "127.0.0.1", "--smtp-from", "chat@shop.test"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"alerts without smtp", []string{"--alert-emails", "a@shop.test"}, "--alert-emails needs --smtp-host"},
		{"smtp without from", []string{"--smtp-host", "127.0.0.1"}, "smtp from"},
		{"from without host", []string{"--smtp-from", "chat@shop.test"}, "need --smtp-host"},
		{"bad tls mode", append(smtp, "--smtp-tls", "maybe"), `smtp tls "maybe"`},
		{"bad auth", append(smtp, "--smtp-username", "u", "--smtp-auth", "ntlm"), `smtp auth "ntlm"`},
		{"bad port", append(smtp, "--smtp-port", "70000"), "smtp port 70000"},
		{"plain auth in clear to a remote host", []string{"--smtp-host", "mail.shop.test", "--smtp-from", "chat@shop.test", "--smtp-tls", "none", "--smtp-username", "u"}, "smtp auth PLAIN with tls none to mail.shop.test"},
		{"login auth in clear to a remote host", []string{"--smtp-host", "10.0.0.5", "--smtp-from", "chat@shop.test", "--smtp-tls", "none", "--smtp-username", "u", "--smtp-auth", "login"}, "smtp auth LOGIN with tls none to 10.0.0.5"},
		{"plain auth in clear to a loopback address go-mail does not treat as local", []string{"--smtp-host", "127.0.0.2", "--smtp-from", "chat@shop.test", "--smtp-tls", "none", "--smtp-username", "u"}, "smtp auth PLAIN with tls none"},
		{"bad alert address", append(smtp, "--alert-emails", "ok@shop.test,not-an-address"), `--alert-emails "not-an-address"`},
		{"zero alert-after", append(smtp, "--alert-after", "0s"), "--alert-after 0s: must be positive"},
		{"relative public url", []string{"--public-url", "chat.shop.test"}, "--public-url"},
		{"javascript site url", []string{"--site-url", "javascript:alert(1)"}, "--site-url"},
		{"bad reply-to", []string{"--email-reply-to", "nobody"}, "--email-reply-to"},
		{"bad push subject", []string{"--push-subject", "ops@shop.test"}, "--push-subject"},
		{"webhook without secret", []string{"--webhook-urls", "https://hooks.shop.test/x"}, "secret of 0 bytes"},
		{"short webhook secret", []string{"--webhook-urls", "https://hooks.shop.test/T/SeCrEt", "--webhook-secret", "short"}, "at least 16"},
		{"webhook not http", []string{"--webhook-urls", "ftp://hooks.shop.test/x", "--webhook-secret", strings.Repeat("s", 16)}, "absolute http"},
		{"unknown webhook event", []string{"--webhook-urls", "https://h.shop.test", "--webhook-secret", strings.Repeat("s", 16), "--webhook-events", "visitor.deleted"}, `unknown event "visitor.deleted"`},
		{"bad webhook format", []string{"--webhook-urls", "https://h.shop.test", "--webhook-secret", strings.Repeat("s", 16), "--webhook-format", "xml"}, `format "xml"`},
		{"secret without urls", []string{"--webhook-secret", strings.Repeat("s", 16)}, "--webhook-secret needs --webhook-urls"},
		{"zero webhook attempts", []string{"--webhook-attempts", "0"}, "--webhook-attempts 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := newLogLines()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			args := append([]string{"--log-format", "json", "--data", t.TempDir()}, tc.args...)
			if code := run(ctx, args, noEnv, os.Stdout, log); code != exitUsage {
				t.Fatalf("exit %d, want %d; output:\n%s", code, exitUsage, log.String())
			}
			if !strings.Contains(log.String(), tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, log.String())
			}
			if strings.Contains(log.String(), "SeCrEt") {
				t.Fatalf("output shows a webhook URL's path (its credential):\n%s", log.String())
			}
		})
	}
}

func TestNotifySecretsComeFromFilesAndStayHidden(t *testing.T) {
	dir := t.TempDir()
	secret := dir + "/hook"
	if err := os.WriteFile(secret, []byte("from-a-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c config
	fs := serveFlags(&c)
	if _, err := parseFlags(fs, []string{"--webhook-urls", "https://h.shop.test/T/SeCrEt"}, mapEnv(map[string]string{
		"CHATD_WEBHOOK_SECRET_FILE": secret, "CHATD_SMTP_PASSWORD": "pw"})); err != nil {
		t.Fatal(err)
	}
	if err := c.validate(); err != nil || c.WebhookSecret != "from-a-file-0123456789" || c.SMTPPassword != "pw" {
		t.Fatalf("validate %v, secret %q", err, c.WebhookSecret)
	}
	// A refused value of a secret is never echoed.
	_, err := parseFlags(serveFlags(&config{}), nil, mapEnv(map[string]string{"CHATD_WEBHOOK_ATTEMPTS": "many", "CHATD_WEBHOOK_SECRET_FILE": dir + "/missing"}))
	if err == nil || strings.Contains(err.Error(), "from-a-file") {
		t.Fatalf("error %v", err)
	}
	var sb strings.Builder
	printOptions(&sb, serveFlags(&config{}))
	for _, want := range []string{"CHATD_SMTP_PASSWORD / CHATD_SMTP_PASSWORD_FILE", "CHATD_WEBHOOK_SECRET / CHATD_WEBHOOK_SECRET_FILE"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("--help lacks %s", want)
		}
	}
}
