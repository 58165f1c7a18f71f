package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
)

func TestMain(m *testing.M) { chatdtest.Main(m) }

const (
	testAdmin    = "bench"
	testPassword = "bench-password-1"
)

// startChatd creates the test admin, starts chatd with the load-test limits
// from docs/performance.md and waits for its "listening" line. It is
// stopped (SIGTERM, bounded wait) when the test ends.
func startChatd(t *testing.T) *chatdtest.Process {
	t.Helper()
	bin, data := chatdtest.Binary(t), t.TempDir()
	chatdtest.AdminSet(t, bin, data, testAdmin, testPassword)
	return chatdtest.Start(t, bin, chatdtest.Options{Data: data, Args: []string{
		"--sockets-per-ip", "10000", "--new-visitors-per-ip", "100000", "--msg-rate", "10000", "--msg-burst", "10000",
		"--quota-visitor", "1000000000", "--quota-address", "1000000000", "--send-buffer", "4096"}})
}

// runTool runs the tool with --json and decodes its report into out.
func runTool(t *testing.T, c *chatdtest.Process, out any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args = append(args, "--url", c.URL(), "--admin", testAdmin, "--json", "--timeout", "20s")
	env := func(k string) string {
		if k == "CHATBENCH_PASSWORD" {
			return testPassword
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	if code := run(ctx, args, env, &stdout, &stderr); code != 0 {
		t.Fatalf("chatbench %s: exit %d\nstderr: %s\nstdout: %s", strings.Join(args, " "), code, stderr.String(), stdout.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("decode report: %v\n%s", err, stdout.String())
	}
	t.Logf("chatbench %s:\n%s", args[0], stdout.String())
}

func noErrors(t *testing.T, errs map[string]uint64) {
	t.Helper()
	if len(errs) != 0 {
		t.Errorf("errors = %v, want none", errs)
	}
}

func TestSteady(t *testing.T) {
	c := startChatd(t)
	var r SteadyReport
	runTool(t, c, &r, "steady", "--visitors", "20", "--admins", "2", "--rate", "100", "--duration", "2s",
		"--senders", "4", "--settle", "100ms", "--pid", strconv.Itoa(c.PID()))
	if r.Connected != 20 {
		t.Errorf("connected = %d, want 20", r.Connected)
	}
	if r.Sent == 0 || r.Acked != r.Sent || r.Failed != 0 || r.Delivered != 2*r.Sent {
		t.Errorf("sent %d acked %d failed %d delivered %d: want sent == acked, 0 failed, delivered == 2 x sent",
			r.Sent, r.Acked, r.Failed, r.Delivered)
	}
	if r.Delivery.Count != r.Delivered || r.Ack.Count != r.Acked {
		t.Errorf("latency counts %d/%d do not match delivered %d / acked %d", r.Delivery.Count, r.Ack.Count, r.Delivered, r.Acked)
	}
	if r.Delivery.P50 > r.Delivery.P99 || r.Delivery.P99 > r.Delivery.Max {
		t.Errorf("delivery percentiles out of order: %+v", r.Delivery)
	}
	if r.Memory == nil || r.Memory.PID != c.PID() || r.Memory.RSSBeforeKiB <= 0 || r.Memory.RSSIdleKiB <= 0 {
		t.Errorf("memory = %+v, want the server's RSS", r.Memory)
	}
	noErrors(t, r.Errors)
}

func TestFlood(t *testing.T) {
	c := startChatd(t)
	var r FloodReport
	runTool(t, c, &r, "flood", "--senders", "4", "--window", "2", "--duration", "1s")
	if r.Senders != 4 || r.Sent == 0 || r.Acked != r.Sent || r.Failed != 0 || r.Delivered != r.Sent {
		t.Errorf("senders %d sent %d acked %d failed %d delivered %d: want sent == acked == delivered, 0 failed",
			r.Senders, r.Sent, r.Acked, r.Failed, r.Delivered)
	}
	noErrors(t, r.Errors)
}

func TestStorm(t *testing.T) {
	c := startChatd(t)
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprintf("full=%v", full), func(t *testing.T) {
			args := []string{"storm", "--visitors", "30", "--history", "2", "--missed", "1"}
			want := uint64(30 * 1)
			if full {
				args = append(args, "--full")
				want = 30 * 3
			}
			var r StormReport
			runTool(t, c, &r, args...)
			if r.Connected != 30 || r.Reconnected != 30 || r.Restore.Count != 30 {
				t.Errorf("connected %d reconnected %d timed %d, want 30 each", r.Connected, r.Reconnected, r.Restore.Count)
			}
			if r.Replayed != want {
				t.Errorf("replayed %d messages, want %d", r.Replayed, want)
			}
			noErrors(t, r.Errors)
		})
	}
}

func TestRamp(t *testing.T) {
	c := startChatd(t)
	var r RampReport
	// thresholds so loose that a step can only fail by losing messages
	runTool(t, c, &r, "ramp", "--visitors", "10", "--start", "40", "--step", "40", "--max-rate", "120",
		"--step-duration", "500ms", "--p99", "1m", "--max-errors", "0")
	if len(r.Steps) == 0 {
		t.Fatal("no steps")
	}
	for _, s := range r.Steps {
		if s.Sent == 0 || s.Acked != s.Sent || s.Delivered != s.Sent || s.Errors != 0 {
			t.Errorf("step %.0f: sent %d acked %d delivered %d errors %d", s.Rate, s.Sent, s.Acked, s.Delivered, s.Errors)
		}
		if !s.Pass && !strings.HasPrefix(s.Reason, "could only send") {
			t.Errorf("step %.0f failed: %s", s.Rate, s.Reason)
		}
	}
	if last := r.Steps[len(r.Steps)-1]; last.Pass && r.Capacity != 120 {
		t.Errorf("all steps passed but capacity = %v, want 120", r.Capacity)
	}
	noErrors(t, r.Errors)
}

func TestTableAndUsage(t *testing.T) {
	c := startChatd(t)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	noenv := func(string) string { return "" }
	var out, errb bytes.Buffer
	// common flags may come before the mode
	code := run(ctx, []string{"--url", c.URL(), "--admin", testAdmin, "--password-file", pw, "steady",
		"--visitors", "3", "--rate", "20", "--duration", "500ms"}, noenv, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "delivery visitor->admin") {
		t.Errorf("table run: exit %d\n%s\n%s", code, out.String(), errb.String())
	}

	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"nope"}, 2},
		{[]string{"steady", "--url", "ftp://x"}, 2},
		{[]string{"steady", "extra"}, 2},
		// no password anywhere: the login step refuses to start
		{[]string{"steady", "--url", c.URL(), "--admin", testAdmin, "--visitors", "1"}, 1},
		// a wrong password: 401 from /api/login
		{[]string{"flood", "--url", c.URL(), "--admin", testAdmin, "--password-file", os.DevNull}, 1},
	} {
		out.Reset()
		errb.Reset()
		if got := run(ctx, tc.args, noenv, &out, &errb); got != tc.code {
			t.Errorf("chatbench %q: exit %d, want %d\n%s", tc.args, got, tc.code, errb.String())
		}
	}
}
