// Command chatbench is chatd's load tool: it drives a running chatd over the
// real WebSocket protocol and reports latency percentiles, throughput, errors
// and server memory, as a table or as JSON.
//
// Modes:
//
//	chatbench steady  N visitors, R msg/s in total, visitor->admin delivery and ack latency, RSS per socket
//	chatbench storm   N visitors drop and all reconnect at once: time until each has its history back
//	chatbench ramp    raise the rate step by step until p99 or errors cross a threshold: the capacity
//	chatbench flood   K closed-loop senders: the most acknowledged msg/s end to end
//	chatbench sinks   receivers for chatd's notifications that accept everything
//
// A load from one IP needs chatd's per-IP and per-visitor limits raised; see
// docs/performance.md for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// splitMode takes the mode out of args: the first argument, or, when flags
// come first, the first argument that names a mode.
func splitMode(args []string) (string, []string) {
	if !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	for i, a := range args {
		switch a {
		case "steady", "storm", "ramp", "flood":
			return a, append(append([]string{}, args[:i]...), args[i+1:]...)
		}
	}
	return args[0], args[1:]
}

const usage = `usage: chatbench MODE [flags]

modes:
  steady   N visitors connected, R msg/s in total, 1+ admins: delivery/ack latency, RSS per socket (--pid)
  storm    N visitors drop and all reconnect at once with token and last offset: time to history back
  ramp     increase the rate step by step until p99 delivery or errors cross a threshold: capacity
  flood    K closed-loop senders: maximum acknowledged msg/s end to end
  sinks    receivers for chatd's notifications (SMTP, push, webhooks) that accept everything, for a load test with them on

Run "chatbench MODE -h" for the flags of a mode. The admin password comes from
--password-file or the CHATBENCH_PASSWORD environment variable.
`

// run is the whole tool; main only supplies the process's context, arguments,
// environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	mode, args := splitMode(args)
	if mode == "sinks" {
		return sinks(ctx, args, stdout, stderr)
	}
	fs := flag.NewFlagSet("chatbench "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		rawURL   = fs.String("url", "http://127.0.0.1:8080", "base URL of the chatd under test; a comma list (a cluster's nodes) spreads visitor sockets over them in turn")
		adminURL = fs.String("admin-url", "", "base URL for admin sockets (default: the first --url)")
		adminN   = fs.String("admin", "", "admin name to log in with")
		passFile = fs.String("password-file", "", "file holding the admin password (first line); else $CHATBENCH_PASSWORD")
		origin   = fs.String("origin", "", "Origin header for visitor sockets (when chatd restricts origins)")
		asJSON   = fs.Bool("json", false, "print the report as JSON")
		dialConc = fs.Int("dial-concurrency", 200, "sockets opened concurrently during setup")
		textSize = fs.Int("text-size", 64, "bytes of text per message")
		timeout  = fs.Duration("timeout", 30*time.Second, "bound on each setup step and on draining in-flight messages")
		pid      = fs.Int("pid", 0, "chatd's process id, to report its RSS and CPU (Linux /proc)")
	)
	var runMode func(context.Context, *bench) (tabular, error)
	switch mode {
	case "steady":
		o := steadyOpts{}
		fs.IntVar(&o.visitors, "visitors", 100, "visitors to connect")
		fs.IntVar(&o.admins, "admins", 1, "admin sockets to connect")
		fs.Float64Var(&o.rate, "rate", 100, "messages per second in total, spread over the visitors")
		fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send")
		fs.IntVar(&o.senders, "senders", 8, "sending goroutines")
		fs.DurationVar(&o.settle, "settle", 2*time.Second, "pause after connecting before reading the server's RSS (with --pid)")
		fs.DurationVar(&o.progress, "progress", 0, "print per-interval delivery figures to stderr at this interval (0 = off)")
		fs.Float64Var(&o.typing, "typing", 0, "fraction of the visitors that send client:typing meanwhile (0 to 1)")
		fs.Float64Var(&o.typeRate, "typing-rate", 2, "client:typing events per second per typing visitor")
		runMode = func(ctx context.Context, b *bench) (tabular, error) {
			o.pid = *pid
			o.out = stderr
			return runSteady(ctx, b, o)
		}
	case "storm":
		o := stormOpts{}
		fs.IntVar(&o.visitors, "visitors", 100, "visitors that drop and reconnect")
		fs.IntVar(&o.history, "history", 2, "messages each visitor sends before the drop")
		fs.IntVar(&o.missed, "missed", 1, "admin replies per visitor while it is away (needs an admin login when > 0)")
		fs.BoolVar(&o.full, "full", false, "reconnect with after=0 (replay the whole history)")
		runMode = func(ctx context.Context, b *bench) (tabular, error) { return runStorm(ctx, b, o) }
	case "ramp":
		o := rampOpts{}
		fs.IntVar(&o.visitors, "visitors", 1000, "visitors to connect")
		fs.IntVar(&o.admins, "admins", 1, "admin sockets to connect")
		fs.Float64Var(&o.startRate, "start", 500, "first rate, msg/s")
		fs.Float64Var(&o.step, "step", 500, "rate added at each step, msg/s")
		fs.Float64Var(&o.maxRate, "max-rate", 100000, "stop after this rate")
		fs.DurationVar(&o.stepDur, "step-duration", 5*time.Second, "how long each rate is held")
		fs.DurationVar(&o.p99Max, "p99", 50*time.Millisecond, "a step fails when p99 visitor->admin delivery exceeds this")
		fs.Float64Var(&o.maxErrors, "max-errors", 0.001, "a step fails when errors/sent exceeds this ratio")
		fs.IntVar(&o.senders, "senders", 8, "sending goroutines")
		runMode = func(ctx context.Context, b *bench) (tabular, error) {
			o.pid = *pid
			return runRamp(ctx, b, o)
		}
	case "flood":
		o := floodOpts{}
		fs.IntVar(&o.senders, "senders", 64, "concurrent visitors sending")
		fs.IntVar(&o.window, "window", 4, "messages each sender keeps in flight")
		fs.IntVar(&o.admins, "admins", 1, "admin sockets receiving every message")
		fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send")
		runMode = func(ctx context.Context, b *bench) (tabular, error) {
			o.pid = *pid
			return runFlood(ctx, b, o)
		}
	default:
		fmt.Fprintf(stderr, "chatbench: unknown mode %q\n\n%s", mode, usage)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chatbench %s: unexpected arguments %q\n", mode, fs.Args())
		return 2
	}
	var bases []*url.URL
	for _, raw := range strings.Split(*rawURL, ",") {
		u, err := parseBase(strings.TrimSpace(raw))
		if err != nil {
			fmt.Fprintf(stderr, "chatbench: --url: %v\n", err)
			return 2
		}
		bases = append(bases, u)
	}
	base := bases[0]
	var admins *url.URL
	if *adminURL != "" {
		u, err := parseBase(*adminURL)
		if err != nil {
			fmt.Fprintf(stderr, "chatbench: --admin-url: %v\n", err)
			return 2
		}
		admins = u
	}
	password := getenv("CHATBENCH_PASSWORD")
	if *passFile != "" {
		b, err := os.ReadFile(*passFile)
		if err != nil {
			fmt.Fprintf(stderr, "chatbench: read password: %v\n", err)
			return 2
		}
		password, _, _ = strings.Cut(string(b), "\n")
		password = strings.TrimRight(password, "\r")
	}
	if *dialConc < 1 || *textSize < 1 || *timeout <= 0 {
		fmt.Fprintln(stderr, "chatbench: --dial-concurrency, --text-size and --timeout must be positive")
		return 2
	}
	if n, err := raiseNoFile(); err != nil {
		fmt.Fprintf(stderr, "chatbench: warning: %v\n", err)
	} else if n < 20000 {
		fmt.Fprintf(stderr, "chatbench: note: open files limit is %d; each socket needs one\n", n)
	}

	b, err := newBench(config{
		base: base, visitors: bases, admins: admins, origin: *origin, adminName: *adminN, password: password,
		dialConc: *dialConc, textSize: *textSize, timeout: *timeout,
	})
	if err != nil {
		fmt.Fprintf(stderr, "chatbench: %v\n", err)
		return 1
	}
	rep, err := runMode(ctx, b)
	if err != nil {
		fmt.Fprintf(stderr, "chatbench %s: %v\n", mode, err)
		return 1
	}
	if err := printReport(stdout, rep, *asJSON); err != nil {
		fmt.Fprintf(stderr, "chatbench: %v\n", err)
		return 1
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "chatbench: interrupted; the report covers the run until then")
		return 1
	}
	return 0
}

// parseBase reads one http(s)://host:port base URL.
func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("want http(s)://host:port, got %q", raw)
	}
	return u, nil
}
