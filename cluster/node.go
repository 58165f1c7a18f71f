// Package cluster runs chatd as one node of a cluster on NATS JetStream: it
// embeds a NATS server with JetStream (or connects to an existing NATS
// cluster) and implements the hub's Store over one replicated message stream
// (stream sequence = offset) and replicated key-value buckets, with every
// node delivering to its own sockets from the stream in offset order.
// Without cluster flags chatd never imports this package's server.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Config says how a node joins its cluster. Either Name (embedded NATS
// server) or URL (an existing NATS cluster) is set.
type Config struct {
	Name    string   // NATS cluster name; with it, an embedded server is started
	Listen  string   // host:port the embedded server takes routes on
	Peers   []string // host:port of the other nodes' route listeners
	Node    string   // this node's name, unique in the cluster: [A-Za-z0-9_-], 1 to 32 bytes
	Secret  string   // shared secret: routes (and the optional client port) authenticate with it
	Client  string   // optional host:port for NATS clients (chatd cluster import/export); "" = none
	DataDir string   // JetStream's files go in DataDir/jetstream

	URL   string // existing NATS cluster: nats://host:port[,nats://...]
	Creds string // credentials file for URL (NATS .creds); optional

	Replicas int           // replicas of every stream and bucket; default 3
	Dedupe   time.Duration // JetStream duplicate window on the message stream; default 2m
	// PresenceTTL is how long a node that stopped heartbeating keeps its
	// visitors online elsewhere; default 10s (heartbeat every TTL/5).
	PresenceTTL time.Duration
	Log         zerolog.Logger
}

// Defaults of Config.
const (
	DefaultReplicas    = 3
	DefaultDedupe      = 2 * time.Minute
	DefaultPresenceTTL = 10 * time.Second
)

var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Validate checks c and fills defaults. Every problem is reported at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	if c.Dedupe == 0 {
		c.Dedupe = DefaultDedupe
	}
	if c.PresenceTTL == 0 {
		c.PresenceTTL = DefaultPresenceTTL
	}
	switch {
	case c.Name != "" && c.URL != "":
		bad("--cluster-name and --nats-url exclude each other: embed a NATS server or use an existing one")
	case c.Name == "" && c.URL == "":
		bad("cluster mode needs --cluster-name (embedded NATS) or --nats-url (existing NATS)")
	}
	if c.Name != "" {
		if !nodeNameRE.MatchString(c.Name) {
			bad("--cluster-name %q: want 1 to 32 of A-Z a-z 0-9 _ -", c.Name)
		}
		if err := checkHostPort(c.Listen); err != nil {
			bad("--cluster-listen %q: %v", c.Listen, err)
		}
		for _, p := range c.Peers {
			if err := checkHostPort(p); err != nil {
				bad("--cluster-peers: %q: %v", p, err)
			}
		}
		if len(c.Secret) < 16 {
			bad("--cluster-secret: required in embedded cluster mode, at least 16 characters (routes authenticate with it)")
		}
		if c.Client != "" {
			if err := checkHostPort(c.Client); err != nil {
				bad("--nats-listen %q: %v", c.Client, err)
			}
		}
		if c.DataDir == "" {
			bad("--data must not be empty")
		}
	}
	if !nodeNameRE.MatchString(c.Node) {
		bad("--node-name %q: want 1 to 32 of A-Z a-z 0-9 _ - (unique per node)", c.Node)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		bad("--cluster-replicas %d: want 1 to 5", c.Replicas)
	}
	if c.Name != "" && c.Replicas > len(c.Peers)+1 {
		bad("--cluster-replicas %d needs at least %d nodes: give --cluster-peers", c.Replicas, c.Replicas)
	}
	if c.Dedupe < 100*time.Millisecond {
		bad("--cluster-dedupe-window %v: at least 100ms", c.Dedupe)
	}
	if c.PresenceTTL < time.Second {
		bad("--cluster-presence-ttl %v: at least 1s", c.PresenceTTL)
	}
	return errors.Join(errs...)
}

func checkHostPort(hp string) error {
	_, port, err := net.SplitHostPort(hp)
	if err != nil {
		return errors.New("want host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

// routeUser is the user name of route connections; the password is the secret.
const routeUser = "chatd"

// startServer starts the embedded NATS server with JetStream and returns it
// once it accepts connections. Its log goes to c.Log (warnings and errors).
func startServer(c Config) (*server.Server, error) {
	host, portS, _ := net.SplitHostPort(c.Listen)
	port, _ := strconv.Atoi(portS)
	opts := &server.Options{
		ServerName: c.Node,
		// The server starts routing only once its client listener is up, so
		// there always is one: on a random loopback port unless c.Client
		// asks for one. Clients need the secret as their token.
		Host:                   "127.0.0.1",
		Port:                   server.RANDOM_PORT,
		JetStream:              true,
		StoreDir:               c.DataDir, // the server adds /jetstream
		NoSigs:                 true,
		DisableJetStreamBanner: true,
		Authorization:          c.Secret,
		Cluster: server.ClusterOpts{
			Name: c.Name, Host: host, Port: port,
			Username: routeUser, Password: c.Secret,
			// A restarted peer is reached again without waiting long.
			ConnectRetries: -1,
		},
	}
	if c.Client != "" {
		h, p, _ := net.SplitHostPort(c.Client)
		opts.Host = h
		opts.Port, _ = strconv.Atoi(p)
	}
	for _, p := range c.Peers {
		opts.Routes = append(opts.Routes, &url.URL{Scheme: "nats-route", User: url.UserPassword(routeUser, c.Secret), Host: p})
	}
	if len(c.Peers) == 0 {
		// A cluster of one (tests, a first node to migrate into): JetStream
		// refuses clustering without routes, so it runs unclustered.
		opts.Cluster = server.ClusterOpts{}
	}
	if err := os.MkdirAll(filepath.Join(c.DataDir, "jetstream"), 0o700); err != nil {
		return nil, fmt.Errorf("jetstream dir: %w", err)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	s.SetLoggerV2(natsLogger{c.Log.With().Str("subsystem", "nats").Logger()}, false, false, false)
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, errors.New("nats server did not start within 30s (is the --cluster-listen port free?)")
	}
	return s, nil
}

// connect opens the node's NATS connection: in-process to the embedded
// server, or to c.URL. It reconnects forever; chatd's readiness follows it.
func connect(c Config, s *server.Server) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("chatd " + c.Node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.PingInterval(5 * time.Second),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			c.Log.Warn().Err(err).Str("subject", subj).Msg("nats async error")
		}),
	}
	url := c.URL
	if s != nil {
		opts = append(opts, nats.InProcessServer(s), nats.Token(c.Secret))
		url = s.ClientURL()
	} else if c.Creds != "" {
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", redactURL(url), err)
	}
	return nc, nil
}

// redactURL drops credentials from a NATS URL list for logs and errors.
func redactURL(s string) string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil {
			out = append(out, "<unparsable url>")
			continue
		}
		u.User = nil
		out = append(out, u.String())
	}
	return strings.Join(out, ",")
}

// natsLogger forwards the embedded server's warnings and errors to zerolog;
// its notices are debug lines.
type natsLogger struct{ log zerolog.Logger }

func (l natsLogger) Noticef(f string, v ...any) { l.log.Debug().Msgf(f, v...) }
func (l natsLogger) Warnf(f string, v ...any) {
	if strings.HasPrefix(f, "Waiting for routing") {
		l.log.Debug().Msgf(f, v...)
		return
	}
	l.log.Warn().Msgf(f, v...)
}
func (l natsLogger) Fatalf(f string, v ...any) { l.log.Error().Msgf(f, v...) }
func (l natsLogger) Errorf(f string, v ...any) {
	// A peer that is not up yet is routine while a cluster starts.
	if strings.Contains(f, "connect to route") {
		l.log.Debug().Msgf(f, v...)
		return
	}
	l.log.Error().Msgf(f, v...)
}
func (l natsLogger) Debugf(f string, v ...any) {}
func (l natsLogger) Tracef(f string, v ...any) {}

// waitJetStream blocks until JetStream answers (a meta leader exists) or ctx ends.
func waitJetStream(ctx context.Context, js jetstream.JetStream, log zerolog.Logger) error {
	logged := false
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.AccountInfo(rctx)
		cancel()
		if err == nil {
			return nil
		}
		if !logged {
			log.Info().Err(err).Msg("waiting for the JetStream cluster (quorum of nodes)")
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
