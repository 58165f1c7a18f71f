package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigVisitorOptions(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("s3cr3t-", 6) // 42 bytes
	good := filepath.Join(dir, "identity")
	if err := os.WriteFile(good, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("tooshort-but-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		check func(c config) bool
		err   string // "" = valid
	}{
		{name: "defaults: always open, no identities, e-mail optional", check: func(c config) bool {
			return c.schedule == nil && !c.verifier.Enabled() && c.EmailCapture == "optional" && c.ReplyMinutes == 0
		}},
		{name: "hours in a zone", args: []string{"--hours", "mon-fri 09:00-17:30; sat 10:00-14:00", "--hours-tz", "Europe/Paris"},
			check: func(c config) bool {
				open, _ := c.schedule.At(time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)) // a Tuesday, 10:30 in Paris
				return c.schedule != nil && open
			}},
		{name: "identity secret from a file", env: map[string]string{"CHATD_IDENTITY_SECRET_FILE": good},
			check: func(c config) bool { return c.verifier.Enabled() && c.IdentitySecret == secret }},
		{name: "e-mail capture and reply time", args: []string{"--email-capture", "required", "--reply-minutes", "5"},
			check: func(c config) bool { return c.EmailCapture == "required" && c.ReplyMinutes == 5 }},
		{name: "bad hours", args: []string{"--hours", "weekdays 9-5"}, err: "--hours"},
		{name: "bad zone", args: []string{"--hours", "daily 08:00-20:00", "--hours-tz", "Mars/Olympus"}, err: "not an IANA time zone"},
		{name: "bad zone without hours", args: []string{"--hours-tz", "Local"}, err: "--hours-tz"},
		{name: "short secret", env: map[string]string{"CHATD_IDENTITY_SECRET_FILE": short}, err: "want at least 32"},
		{name: "short secret flag", args: []string{"--identity-secret", "hunter2"}, err: "--identity-secret"},
		{name: "e-mail capture word", args: []string{"--email-capture", "maybe"}, err: "want off, optional or required"},
		{name: "reply minutes", args: []string{"--reply-minutes", "-1"}, err: "--reply-minutes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c config
			fs := serveFlags(&c)
			_, err := parseFlags(fs, tc.args, mapEnv(tc.env))
			if err == nil {
				err = c.validate()
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				for _, leak := range []string{"hunter2", "tooshort-but-secret"} {
					if strings.Contains(err.Error(), leak) {
						t.Fatalf("the error shows the secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("unexpected config %+v", c.visitorOpts)
			}
		})
	}
}
