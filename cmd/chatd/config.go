package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/internal/netaddr"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/store"
)

// config is chatd's serving configuration: flags, then CHATD_* environment
// twins for flags not given, then CHATD_*_FILE for secrets.
type config struct {
	Addr            string
	Data            string
	Fsync           string
	CompactMinMB    int
	LogLevel        string
	LogFormat       string
	Origins         string
	TrustedProxies  string
	TokenTTL        time.Duration
	Metrics         bool
	MetricsToken    string
	MaxText         int
	MaxFrame        int
	MaxName         int
	MsgRate         float64
	MsgBurst        int
	SocketsPerVisit int
	SocketsPerIP    int
	NewVisitorsPIP  int
	IPv6Prefix      int
	QuotaVisitor    int
	QuotaAddress    int
	SendBuffer      int
	AdminSendBuffer int
	PingPeriod      time.Duration
	ShutdownTimeout time.Duration
	ShutdownDelay   time.Duration
	Pprof           string
	BcryptCost      int
	Cluster         clusterFlags // empty: single node
	inboxOpts                    // auto-assignment, retention (config_inbox.go)
	AdminsPoll      time.Duration
	visitorOpts     // availability, e-mail capture, identity (config_visitors.go)
	notifyOpts      // notification channels (config_notify.go)

	// Derived by validate.
	sync         db.SyncPolicy
	syncInterval time.Duration
	level        zerolog.Level
	origins      []string
	trusted      []netip.Prefix
}

// secretFlags may also be read from a file named by CHATD_<NAME>_FILE.
var secretFlags = map[string]bool{"metrics-token": true, "token": true, "identity-secret": true, "smtp-password": true, "webhook-secret": true, "cluster-secret": true, "nats-url": true}

// envName is the environment twin of flag name: --token-ttl -> CHATD_TOKEN_TTL.
func envName(flagName string) string {
	return "CHATD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet returns a silent flag set; run prints errors and help itself.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// addrFlag and dataFlag are shared by the subcommands.
func addrFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
}

func dataFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "data", "./data", "data directory: store file, lock and admins seed file")
}

func bcryptFlag(fs *flag.FlagSet, p *int) {
	fs.IntVar(p, "bcrypt-cost", 12, "bcrypt cost for new admin password hashes (4-31)")
}

// serveFlags binds every serving option to c with its default.
func serveFlags(c *config) *flag.FlagSet {
	fs := newFlagSet("chatd")
	addrFlag(fs, &c.Addr)
	dataFlag(fs, &c.Data)
	fs.StringVar(&c.Fsync, "fsync", "1s", "when the store fsyncs: always (before each ack), never, or an interval such as 1s")
	fs.IntVar(&c.CompactMinMB, "compact-min-mb", 32, "compact the data file in the background once it is this many MiB and at least half of it is superseded records")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "auto", "log format: auto (console on a terminal, else json), json, console")
	fs.StringVar(&c.Origins, "origins", "", "comma list of origins allowed on the visitor socket, e.g. https://shop.example (empty = any)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma list of proxy IPs/CIDRs whose X-Forwarded-For / X-Real-IP are believed (empty = none)")
	fs.DurationVar(&c.TokenTTL, "token-ttl", 12*time.Hour, "lifetime of admin login tokens")
	fs.BoolVar(&c.Metrics, "metrics", true, "serve Prometheus metrics at /metrics")
	fs.StringVar(&c.MetricsToken, "metrics-token", "", "if set, /metrics requires Authorization: Bearer <token> (secret: CHATD_METRICS_TOKEN_FILE works)")
	fs.IntVar(&c.MaxText, "max-text", store.DefaultMaxText, fmt.Sprintf("max bytes of one message text (UTF-8, 1-%d)", store.CeilMaxText))
	fs.IntVar(&c.MaxFrame, "max-frame", hub.DefaultMaxFrame, "max bytes of one WebSocket frame")
	fs.IntVar(&c.MaxName, "max-name", store.DefaultMaxName, fmt.Sprintf("max characters of a visitor name (1-%d)", store.CeilMaxName))
	fs.Float64Var(&c.MsgRate, "msg-rate", hub.DefaultMsgRate, "messages per second per visitor")
	fs.IntVar(&c.MsgBurst, "msg-burst", hub.DefaultMsgBurst, "burst of messages per visitor")
	fs.IntVar(&c.SocketsPerVisit, "sockets-per-visitor", hub.DefaultSocketsPerVisit, "open sockets per visitor")
	fs.IntVar(&c.SocketsPerIP, "sockets-per-ip", hub.DefaultSocketsPerIP, "open sockets per client IP")
	fs.IntVar(&c.NewVisitorsPIP, "new-visitors-per-ip", hub.DefaultNewVisitorsPerIP, "visitors created per client IP per minute")
	fs.IntVar(&c.IPv6Prefix, "ipv6-prefix", netaddr.DefaultIPv6Prefix,
		fmt.Sprintf("IPv6 addresses in one /N count as one address for every per-IP limit (%d-%d)", netaddr.MinIPv6Prefix, netaddr.MaxIPv6Prefix))
	fs.IntVar(&c.QuotaVisitor, "quota-visitor", hub.DefaultQuotaVisitor, "storage budget of one visitor, bytes per 24 hours (messages and page changes)")
	fs.IntVar(&c.QuotaAddress, "quota-address", hub.DefaultQuotaAddress, "storage budget of all visitors of one address, bytes per 24 hours")
	fs.IntVar(&c.SendBuffer, "send-buffer", hub.DefaultSendBuffer, "frames queued per socket before a slow socket is closed")
	fs.IntVar(&c.AdminSendBuffer, "admin-send-buffer", hub.DefaultAdminSendBuffer, "frames queued per admin socket (admins get every message) before it is closed")
	fs.DurationVar(&c.PingPeriod, "ping-period", hub.DefaultPingPeriod, "WebSocket ping interval (a socket silent for twice this is closed)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "hard deadline for a graceful shutdown (then exit 1)")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", 0, "on SIGTERM, answer /readyz 503 this long before closing sockets (load balancer drain)")
	fs.StringVar(&c.Pprof, "pprof", "", "serve net/http/pprof on this loopback address, e.g. 127.0.0.1:6060 (empty = off)")
	fs.DurationVar(&c.AdminsPoll, "admins-poll", 2*time.Second, "how often the admins file is checked for changes (0 = only on SIGHUP and 'chatd admin')")
	bcryptFlag(fs, &c.BcryptCost)
	clusterFlagsInto(fs, &c.Cluster)
	inboxFlags(fs, &c.inboxOpts)
	notifyFlags(fs, &c.notifyOpts)
	visitorFlags(fs, &c.visitorOpts)
	return fs
}

// parseFlags parses args into fs, allowing flags after positional arguments,
// then fills flags not given from getenv. It returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	pos, _, err := parseFlagsEnv(fs, args, getenv)
	return pos, err
}

// parseFlagsEnv is parseFlags that also says which flags the environment
// set: flag name -> the variable (CHATD_X or CHATD_X_FILE).
func parseFlagsEnv(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, map[string]string, error) {
	var pos []string
	fromEnv := map[string]string{}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		env := envName(f.Name)
		v, fromFile := getenv(env), ""
		if secretFlags[f.Name] {
			fromFile = getenv(env + "_FILE")
		}
		switch {
		case v != "" && fromFile != "":
			errs = append(errs, fmt.Errorf("both %s and %s_FILE are set; use one", env, env))
			return
		case fromFile != "":
			b, err := os.ReadFile(fromFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", env, err))
				return
			}
			v = strings.TrimRight(string(b), "\r\n")
			if v == "" {
				errs = append(errs, fmt.Errorf("%s_FILE: file %s is empty", env, fromFile))
				return
			}
			env += "_FILE"
		case v == "":
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			shown := v
			if secretFlags[f.Name] {
				shown = "<hidden>"
			}
			errs = append(errs, fmt.Errorf("invalid value %q for %s: %s", shown, env, unwrapFlagErr(err)))
			return
		}
		fromEnv[f.Name] = env
	})
	return pos, fromEnv, errors.Join(errs...)
}

// unwrapFlagErr turns strconv noise into a short reason.
func unwrapFlagErr(err error) string {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return ne.Err.Error()
	}
	return err.Error()
}

// validate checks c and fills its derived fields. Every problem is reported at once.
func (c *config) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if err := checkAddr(c.Addr); err != nil {
		bad("--addr %q: %v", c.Addr, err)
	}
	if c.Data == "" {
		bad("--data must not be empty")
	}
	if p, iv, err := db.ParseSyncPolicy(c.Fsync); err != nil {
		bad("--fsync %q: want always, never or an interval such as 1s", c.Fsync)
	} else {
		c.sync, c.syncInterval = p, iv
	}
	if lvl, err := zerolog.ParseLevel(strings.ToLower(c.LogLevel)); err != nil || c.LogLevel == "" {
		bad("--log-level %q: want debug, info, warn or error", c.LogLevel)
	} else {
		c.level = lvl
	}
	switch c.LogFormat {
	case "auto", "json", "console":
	default:
		bad("--log-format %q: want auto, json or console", c.LogFormat)
	}
	c.origins = nil
	for _, o := range strings.Split(c.Origins, ",") {
		if strings.TrimSpace(o) == "" {
			continue
		}
		n, err := hub.NormalizeOrigin(o)
		if err != nil {
			bad("--origins: %v", err)
			continue
		}
		c.origins = append(c.origins, n)
	}
	if t, err := server.ParseCIDRs(c.TrustedProxies); err != nil {
		bad("--trusted-proxies: %v", err)
	} else {
		c.trusted = t
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"token-ttl", c.TokenTTL}, {"ping-period", c.PingPeriod}, {"shutdown-timeout", c.ShutdownTimeout}} {
		if d.v <= 0 {
			bad("--%s %v: must be positive", d.name, d.v)
		}
	}
	if c.PingPeriod > maxPingPeriod {
		bad("--ping-period %v: must be at most %v (a socket silent for twice this is closed)", c.PingPeriod, maxPingPeriod)
	}
	if c.AdminsPoll < 0 {
		bad("--admins-poll %v: must be 0 (off) or positive", c.AdminsPoll)
	}
	if c.ShutdownDelay < 0 || (c.ShutdownTimeout > 0 && c.ShutdownDelay >= c.ShutdownTimeout) {
		bad("--shutdown-delay %v: must be >= 0 and below --shutdown-timeout %v", c.ShutdownDelay, c.ShutdownTimeout)
	}
	for _, l := range []struct {
		name string
		v    int
	}{{"max-text", c.MaxText}, {"max-frame", c.MaxFrame}, {"max-name", c.MaxName}, {"msg-burst", c.MsgBurst},
		{"sockets-per-visitor", c.SocketsPerVisit}, {"sockets-per-ip", c.SocketsPerIP},
		{"new-visitors-per-ip", c.NewVisitorsPIP}, {"send-buffer", c.SendBuffer},
		{"admin-send-buffer", c.AdminSendBuffer}, {"quota-visitor", c.QuotaVisitor}, {"quota-address", c.QuotaAddress},
		{"compact-min-mb", c.CompactMinMB}} {
		checkCount(bad, l.name, l.v)
	}
	if !(c.MsgRate > 0) {
		bad("--msg-rate %v: must be a positive number", c.MsgRate)
	}
	// The store enforces the name and text limits (store.Limits, the one
	// source); values it would refuse are refused here, before anything starts.
	if c.MaxName > store.CeilMaxName {
		bad("--max-name %d: must be at most %d characters", c.MaxName, store.CeilMaxName)
	}
	if c.MaxText > store.CeilMaxText {
		bad("--max-text %d: must be at most %d bytes", c.MaxText, store.CeilMaxText)
	}
	if err := netaddr.CheckIPv6Prefix(c.IPv6Prefix); err != nil {
		bad("--ipv6-prefix %d: must be between %d and %d", c.IPv6Prefix, netaddr.MinIPv6Prefix, netaddr.MaxIPv6Prefix)
	}
	if c.QuotaVisitor > 0 && c.QuotaVisitor < c.MaxText+store.MaxCIDLen+hub.MessageOverhead {
		bad("--quota-visitor %d: must hold at least one message of --max-text %d (%d bytes)", c.QuotaVisitor, c.MaxText, c.MaxText+store.MaxCIDLen+hub.MessageOverhead)
	}
	if c.QuotaAddress > 0 && c.QuotaAddress < c.QuotaVisitor {
		bad("--quota-address %d: must be at least --quota-visitor %d", c.QuotaAddress, c.QuotaVisitor)
	}
	if c.MaxText > 0 && c.MaxFrame > 0 && c.MaxFrame < c.MaxText+256 {
		bad("--max-frame %d: must leave room for a --max-text %d message (at least %d)", c.MaxFrame, c.MaxText, c.MaxText+256)
	}
	if c.Pprof != "" {
		if err := checkLoopback(c.Pprof); err != nil {
			bad("--pprof %q: %v", c.Pprof, err)
		}
	}
	if c.BcryptCost < 4 || c.BcryptCost > 31 {
		bad("--bcrypt-cost %d: must be between 4 and 31", c.BcryptCost)
	}
	if err := c.Cluster.validate(c.Data); err != nil {
		errs = append(errs, err)
	}
	c.validateInbox(bad)
	c.validateNotify(bad)
	c.validateVisitors(bad)
	return errors.Join(errs...)
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, e.g. 127.0.0.1:8080 or :8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

func checkLoopback(addr string) error {
	if err := checkAddr(addr); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return errors.New("must be a loopback address such as 127.0.0.1:6060")
	}
	return nil
}

// checkWritable creates dir if needed (0700) and proves a file can be
// written in it; an error names the directory, the cause and the remedy.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, db.DirMode); err != nil {
		return fmt.Errorf("data dir %s: %w. %s", dir, err, db.AccessRemedy(filepath.Join(dir, "x"), err))
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w. %s", dir, err, db.AccessRemedy(filepath.Join(dir, "x"), err))
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// knownEnv lists every CHATD_* variable some command reads.
func knownEnv() map[string]bool {
	known := map[string]bool{}
	var c config
	var s string
	var b bool
	var n int
	var cf clusterFlags
	var d time.Duration
	var u uint64
	var o optString
	for _, fs := range []*flag.FlagSet{serveFlags(&c), backupFlags(&s, &s, &s), healthFlags(&s, &s, &b),
		adminFlags(&s, &n, &o, &o), restoreFlags(&s, &u), clusterCmdFlags("", &s, &cf, &d)} {
		fs.VisitAll(func(f *flag.Flag) {
			known[envName(f.Name)] = true
			if secretFlags[f.Name] {
				known[envName(f.Name)+"_FILE"] = true
			}
		})
	}
	return known
}

// unknownEnv returns the CHATD_* names in environ that no command reads, sorted.
func unknownEnv(environ []string) []string {
	known := knownEnv()
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "CHATD_") && !known[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// printOptions writes one line per option of fs: flag, env twin, default, meaning.
func printOptions(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		env := envName(f.Name)
		if secretFlags[f.Name] {
			env += " / " + env + "_FILE"
		}
		fmt.Fprintf(w, "  --%s\n        %s (env %s, default %s)\n", f.Name, f.Usage, env, def)
	})
}
