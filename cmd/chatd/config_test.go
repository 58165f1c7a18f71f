package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func allFlagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigSources(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secret, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		check func(c config) bool
	}{
		{"defaults", nil, nil, func(c config) bool {
			return c.Addr == "127.0.0.1:8080" && c.Data == "./data" && c.TokenTTL == 12*time.Hour && c.Metrics && c.MaxText == 4096
		}},
		{"env works", nil, map[string]string{"CHATD_ADDR": ":9000", "CHATD_MSG_RATE": "2.5", "CHATD_METRICS": "false"},
			func(c config) bool { return c.Addr == ":9000" && c.MsgRate == 2.5 && !c.Metrics }},
		{"flag beats env", []string{"--addr", ":7000", "--max-text=100"}, map[string]string{"CHATD_ADDR": ":9000", "CHATD_MAX_TEXT": "oops"},
			func(c config) bool { return c.Addr == ":7000" && c.MaxText == 100 }},
		{"secret from file", nil, map[string]string{"CHATD_METRICS_TOKEN_FILE": secret},
			func(c config) bool { return c.MetricsToken == "from-file" }},
		{"lists", []string{"--origins", "https://a.example, https://b.example/", "--trusted-proxies", "10.0.0.0/8,192.168.1.1"}, nil,
			func(c config) bool {
				return len(c.origins) == 2 && c.origins[1] == "https://b.example" && len(c.trusted) == 2
			}},
		{"origins as browsers send them", []string{"--origins", "https://Shop.Example:443/,http://b.example:80,https://c.example:8443"}, nil,
			func(c config) bool {
				return strings.Join(c.origins, " ") == "https://shop.example http://b.example https://c.example:8443"
			}},
		{"fsync policy", []string{"--fsync", "always"}, nil, func(c config) bool { return c.sync != 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c config
			fs := serveFlags(&c)
			if _, err := parseFlags(fs, tc.args, mapEnv(tc.env)); err != nil {
				t.Fatal(err)
			}
			if err := c.validate(); err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("unexpected config %+v", c)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad addr", []string{"--addr", "nope"}, nil, `--addr "nope"`},
		{"bad port", []string{"--addr", "127.0.0.1:99999"}, nil, "bad port"},
		{"bad duration flag", []string{"--token-ttl", "soon"}, nil, "token-ttl"},
		{"bad duration env", nil, map[string]string{"CHATD_SHUTDOWN_TIMEOUT": "soon"}, "CHATD_SHUTDOWN_TIMEOUT"},
		{"negative duration", []string{"--token-ttl", "-1h"}, nil, "must be positive"},
		{"bad fsync", []string{"--fsync", "sometimes"}, nil, "--fsync"},
		{"negative limit", []string{"--sockets-per-ip", "-1"}, nil, "--sockets-per-ip -1"},
		{"zero rate", nil, map[string]string{"CHATD_MSG_RATE": "0"}, "--msg-rate"},
		{"bad level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"bad format", []string{"--log-format", "xml"}, nil, "--log-format"},
		{"bad origin", []string{"--origins", "shop.example"}, nil, "--origins"},
		{"wildcard origin", []string{"--origins", "https://*.shop.example"}, nil, "wildcards are not supported"},
		{"non-ASCII origin", []string{"--origins", "https://bücher.example"}, nil, "ASCII form (xn--"},
		{"origin with a user", []string{"--origins", "https://ann@shop.example"}, nil, "no user name"},
		{"origin with a query", []string{"--origins", "https://shop.example?x=1"}, nil, "without path, query or fragment"},
		{"origin with a fragment", []string{"--origins", "https://a.example,https://shop.example#top"}, nil, "without path, query or fragment"},
		{"origin port out of range", []string{"--origins", "https://shop.example:99999"}, nil, "port must be 1 to 65535"},
		{"origin empty port", []string{"--origins", "https://shop.example:"}, nil, "empty port"},
		{"bad cidr", []string{"--trusted-proxies", "10.0.0.0/64"}, nil, "--trusted-proxies"},
		{"frame below text", []string{"--max-frame", "1000", "--max-text", "4096"}, nil, "--max-frame"},
		{"name limit above the store's", []string{"--max-name", "257"}, nil, "--max-name 257: must be at most 256"},
		{"text limit above the store's", []string{"--max-text", "2000000", "--max-frame", "9000000"}, nil, "--max-text 2000000"},
		{"zero name limit", nil, map[string]string{"CHATD_MAX_NAME": "0"}, "--max-name 0"},
		{"ipv6 prefix too short", []string{"--ipv6-prefix", "8"}, nil, "--ipv6-prefix 8"},
		{"ipv6 prefix too long", []string{"--ipv6-prefix", "129"}, nil, "--ipv6-prefix 129"},
		{"visitor budget below one message", []string{"--quota-visitor", "1000"}, nil, "--quota-visitor 1000"},
		{"address budget below visitor budget", []string{"--quota-address", "5000", "--quota-visitor", "10000"}, nil, "--quota-address 5000"},
		{"pprof not loopback", []string{"--pprof", "0.0.0.0:6060"}, nil, "loopback"},
		{"unknown flag", []string{"--nope"}, nil, "nope"},
		{"unknown command", []string{"serve-please"}, nil, "unknown command"},
		{"secret twice", nil, map[string]string{"CHATD_METRICS_TOKEN": "a", "CHATD_METRICS_TOKEN_FILE": "b"}, "use one"},
		{"secret file missing", nil, map[string]string{"CHATD_METRICS_TOKEN_FILE": "/nonexistent/x"}, "CHATD_METRICS_TOKEN_FILE"},
		{"unwritable data dir", []string{"--data", filepath.Join(file, "sub")}, nil, "data dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := newLogLines()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			args := append([]string{"--log-format", "json", "--data", t.TempDir()}, tc.args...)
			if code := run(ctx, args, mapEnv(tc.env), os.Stdout, log); code != exitUsage {
				t.Fatalf("exit %d, want %d; output:\n%s", code, exitUsage, log.String())
			}
			if !strings.Contains(log.String(), tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, log.String())
			}
		})
	}
}

func TestUnknownEnvWarns(t *testing.T) {
	if got := unknownEnv([]string{"CHATD_FOO=1", "CHATD_ADDR=x", "CHATD_METRICS_TOKEN_FILE=f", "HOME=/", "CHATD_TOKEN=t"}); len(got) != 1 || got[0] != "CHATD_FOO" {
		t.Fatalf("unknownEnv = %v", got)
	}
	data := t.TempDir()
	ch := startChildEnv(t, []string{"CHATD_FOO=1", "CHATD_DATA=" + data, "CHATD_ADDR=127.0.0.1:0", "CHATD_BCRYPT_COST=4", "CHATD_LOG_FORMAT=json"})
	w := ch.log.waitMsg(t, "unknown CHATD_* environment variable ignored")
	if w["var"] != "CHATD_FOO" || w["level"] != "warn" {
		t.Fatalf("warning %v", w)
	}
	if l := ch.log.waitMsg(t, "listening"); l["data"] != data {
		t.Fatalf("CHATD_DATA ignored: %v", l)
	}
}

// TestDocsTableMatchesFlags keeps docs/configuration.md in step with the real flag set.
func TestDocsTableMatchesFlags(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `--([a-z0-9-]+)` \\| `([A-Z0-9_]+)`[^|]*\\| `([^`]*)` \\|")
	documented := map[string][2]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		documented[m[1]] = [2]string{m[2], m[3]}
	}
	var c config
	fs := serveFlags(&c)
	fs.VisitAll(func(f *flag.Flag) {
		d, ok := documented[f.Name]
		if !ok {
			t.Errorf("docs/configuration.md has no row for --%s", f.Name)
			return
		}
		delete(documented, f.Name)
		if d[0] != envName(f.Name) {
			t.Errorf("--%s: docs say env %s, real %s", f.Name, d[0], envName(f.Name))
		}
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		if d[1] != def {
			t.Errorf("--%s: docs say default %q, real %q", f.Name, d[1], def)
		}
	})
	for name := range documented {
		t.Errorf("docs/configuration.md documents --%s, which chatd does not have", name)
	}
}
