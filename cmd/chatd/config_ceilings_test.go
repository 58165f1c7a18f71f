package main

import (
	"fmt"
	"strings"
	"testing"
)

// Every positive integer flag has a ceiling, by flag and by its CHATD_* twin:
// above it (the huge value that made every visitor socket panic with
// --send-buffer, or a queue channel too large to make) chatd refuses to
// start with the range; the ceiling itself is accepted.
func TestNumericFlagCeilings(t *testing.T) {
	validate := func(args []string, env map[string]string) string {
		var c config
		if _, err := parseFlags(serveFlags(&c), append([]string{"--data", t.TempDir()}, args...), mapEnv(env)); err != nil {
			return err.Error()
		}
		if err := c.validate(); err != nil {
			return err.Error()
		}
		return ""
	}
	// Flags a ceiling value needs beside it to pass the other rules.
	companions := map[string][]string{"quota-visitor": {"--quota-address", "2147483647"}}
	for name, ceil := range countCeilings {
		envName := "CHATD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		for _, tc := range []struct {
			v  string
			ok bool
		}{
			{fmt.Sprint(ceil), true},
			{fmt.Sprint(ceil + 1), false},
			{"100000000000000", false},
			{"9223372036854775807", false},
			{"0", false},
			{"-1", false},
		} {
			want := fmt.Sprintf("--%s %s: must be", name, tc.v)
			got := validate(append([]string{"--" + name, tc.v}, companions[name]...), nil)
			if tc.ok && strings.Contains(got, "--"+name+" ") || !tc.ok && !strings.Contains(got, want) {
				t.Errorf("--%s %s: %q (accepted: %v)", name, tc.v, got, tc.ok)
			}
			if tc.ok {
				continue
			}
			if got := validate(companions[name], map[string]string{envName: tc.v}); !strings.Contains(got, want) {
				t.Errorf("%s=%s: %q", envName, tc.v, got)
			}
			// A flag beats its twin: a sane flag value is not refused for the env's.
			if got := validate(append([]string{"--" + name, fmt.Sprint(ceil)}, companions[name]...), map[string]string{envName: tc.v}); strings.Contains(got, "--"+name+" ") {
				t.Errorf("--%s %d with %s=%s: %q", name, ceil, envName, tc.v, got)
			}
		}
	}
	for _, tc := range []struct{ v, want string }{
		{"24h", ""},
		{"24h0m1s", "--ping-period 24h0m1s: must be at most 24h0m0s"},
		{"1500000h", "--ping-period 1500000h0m0s: must be at most"}, // twice this overflowed into a negative pong wait
		{"2562047h", "--ping-period 2562047h0m0s: must be at most"},
		{"0s", "--ping-period 0s: must be positive"},
		{"-30s", "--ping-period -30s: must be positive"},
	} {
		got := validate([]string{"--ping-period", tc.v}, nil)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("--ping-period %s: %q, want %q", tc.v, got, tc.want)
		}
	}
}
