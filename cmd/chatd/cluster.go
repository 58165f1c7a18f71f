package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/cluster"
	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/store"
)

// The cluster store must stay a hub.Feed (else the hub would deliver from
// its own acks and miss other nodes' messages) and share admin sessions.
var (
	_ hub.Feed            = (*cluster.Store)(nil)
	_ auth.SharedSessions = (*cluster.Store)(nil)
)

// clusterFlags are the cluster mode options; all empty means a single node.
type clusterFlags struct {
	Name        string
	Listen      string
	Peers       string
	Node        string
	Secret      string
	NatsListen  string
	NatsURL     string
	NatsCreds   string
	Replicas    int
	Dedupe      time.Duration
	PresenceTTL time.Duration

	cfg cluster.Config // built by validate
}

func clusterFlagsInto(fs *flag.FlagSet, c *clusterFlags) {
	fs.StringVar(&c.Name, "cluster-name", "", "cluster mode with an embedded NATS JetStream server: the NATS cluster name (same on every node; empty = single node)")
	fs.StringVar(&c.Listen, "cluster-listen", "0.0.0.0:6222", "cluster mode: host:port the embedded NATS server takes routes from the other nodes on")
	fs.StringVar(&c.Peers, "cluster-peers", "", "cluster mode: comma list of the other nodes' --cluster-listen host:port")
	fs.StringVar(&c.Node, "node-name", "", "cluster mode: this node's name, unique in the cluster (default: the host name)")
	fs.StringVar(&c.Secret, "cluster-secret", "", "cluster mode: shared secret the nodes' routes authenticate with, at least 16 characters (secret: CHATD_CLUSTER_SECRET_FILE works)")
	fs.StringVar(&c.NatsListen, "nats-listen", "", "cluster mode: also take NATS clients (chatd cluster import/export) on this host:port, token = the cluster secret (empty = none)")
	fs.StringVar(&c.NatsURL, "nats-url", "", "cluster mode on an existing NATS cluster with JetStream instead of an embedded server: nats://host:port[,...] (secret: CHATD_NATS_URL_FILE works)")
	fs.StringVar(&c.NatsCreds, "nats-creds", "", "credentials file (.creds) for --nats-url")
	fs.IntVar(&c.Replicas, "cluster-replicas", cluster.DefaultReplicas, "cluster mode: replicas of the message stream and buckets (3 survives the loss of one node)")
	fs.DurationVar(&c.Dedupe, "cluster-dedupe-window", cluster.DefaultDedupe, "cluster mode: JetStream duplicate window of the message stream (cid retries are idempotent also after it)")
	fs.DurationVar(&c.PresenceTTL, "cluster-presence-ttl", cluster.DefaultPresenceTTL, "cluster mode: a node silent this long has its visitors shown offline")
}

// enabled reports whether any flag asks for cluster mode.
func (c *clusterFlags) enabled() bool { return c.Name != "" || c.NatsURL != "" }

// validate builds the cluster config when cluster mode is on.
func (c *clusterFlags) validate(data string) error {
	if !c.enabled() {
		return nil
	}
	node := c.Node
	if node == "" {
		node, _ = os.Hostname()
		node, _, _ = strings.Cut(node, ".")
	}
	c.cfg = cluster.Config{
		Name: c.Name, Listen: c.Listen, Node: node, Secret: c.Secret, Client: c.NatsListen,
		DataDir: data, URL: c.NatsURL, Creds: c.NatsCreds,
		Replicas: c.Replicas, Dedupe: c.Dedupe, PresenceTTL: c.PresenceTTL,
	}
	for _, p := range strings.Split(c.Peers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.cfg.Peers = append(c.cfg.Peers, p)
		}
	}
	return c.cfg.Validate()
}

// openCluster starts this node's cluster store; it is set up in the background.
func openCluster(c config, log zerolog.Logger) (*cluster.Store, error) {
	cfg := c.Cluster.cfg
	cfg.Log = log.With().Str("component", "cluster").Logger()
	cfg.DataDir = c.Data
	return cluster.Open(cfg)
}

// seedCluster reseeds the admins bucket from this node's seed file once the
// cluster store is set up (every node does: keep one seed file for all).
func seedCluster(ctx context.Context, cs *cluster.Store, admins []store.Admin, log zerolog.Logger) {
	if len(admins) == 0 {
		log.Info().Msg("no admins seed file on this node: the cluster's admins are used (chatd admin set on a node, then restart it, changes them)")
		return
	}
	retryUntilDone(ctx, log, "cannot reseed admins into the cluster yet; retrying", func() error {
		if err := cs.WaitReady(ctx); err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := cs.ReseedAdmins(rctx, admins); err != nil {
			return err
		}
		log.Info().Int("admins", len(admins)).Msg("admins reseeded into the cluster")
		return nil
	})
}

// watchReady keeps /readyz in step with the node's cluster state until ctx ends.
func watchReady(ctx context.Context, srv *server.Server, cs *cluster.Store, log zerolog.Logger) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	was := false
	for {
		ok, why := cs.Ready()
		srv.SetReady(ok)
		if ok != was {
			log.Info().Bool("ready", ok).Str("why", why).Msg("cluster readiness changed")
			was = ok
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func clusterCmdFlags(name string, data *string, cf *clusterFlags, timeout *time.Duration) *flag.FlagSet {
	fs := newFlagSet("chatd cluster " + name)
	dataFlag(fs, data)
	fs.StringVar(&cf.NatsURL, "nats-url", "", "a node's NATS client address: nats://<cluster secret>@host:port (the node's --nats-listen) or an existing NATS cluster (secret: CHATD_NATS_URL_FILE works)")
	fs.StringVar(&cf.NatsCreds, "nats-creds", "", "credentials file (.creds) for --nats-url")
	fs.IntVar(&cf.Replicas, "cluster-replicas", cluster.DefaultReplicas, "replicas, as the cluster's nodes have them")
	fs.DurationVar(timeout, "timeout", 10*time.Minute, "give up after this long")
	return fs
}

// clusterCmd runs `chatd cluster import|export --data DIR --nats-url URL`.
func clusterCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	usage := "Usage:\n  chatd cluster import --data DIR --nats-url URL   load a single-node store into a new cluster, same offsets\n" +
		"  chatd cluster export --data DIR --nats-url URL   write the cluster into a new single-node store in DIR\n\nOptions:\n"
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		return usageError(stderr, " cluster", errors.New("want import or export"))
	}
	verb := args[0]
	var (
		data    string
		cf      clusterFlags
		timeout time.Duration
	)
	fs := clusterCmdFlags(verb, &data, &cf, &timeout)
	pos, err := parseFlags(fs, args[1:], getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		printOptions(stdout, fs)
		return exitOK
	}
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err == nil && cf.NatsURL == "" {
		err = errors.New("--nats-url is required")
	}
	if err == nil {
		cf.Node = "migrate-" + verb
		err = cf.validate(data)
	}
	if err != nil {
		return usageError(stderr, " cluster "+verb, err)
	}
	log := newLogger(stderr, "auto", zerolog.InfoLevel)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg := cf.cfg
	cfg.Log = log.With().Str("component", "cluster").Logger()
	cs, err := cluster.Open(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "chatd cluster %s: %v\n", verb, err)
		return exitFail
	}
	defer cs.Close()
	var n cluster.Counts
	if verb == "import" {
		n, err = importStore(ctx, cs, data)
	} else {
		n, err = exportStore(ctx, cs, data)
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatd cluster %s: %v\n", verb, err)
		return exitFail
	}
	fmt.Fprintf(stdout, "%sed %d visitors, %d messages (last offset %d, %d offsets unused)\n", verb, n.Visitors, n.Messages, n.Last, n.Gaps)
	return exitOK
}

func importStore(ctx context.Context, cs *cluster.Store, data string) (cluster.Counts, error) {
	if _, err := os.Stat(filepath.Join(data, "chatd.db")); err != nil {
		return cluster.Counts{}, fmt.Errorf("no single-node store in %s: %w", data, err)
	}
	st, err := store.Open(data, db.Options{})
	if err != nil {
		return cluster.Counts{}, fmt.Errorf("open store %s: %w", data, err)
	}
	defer st.Close()
	return cs.Import(ctx, st)
}

func exportStore(ctx context.Context, cs *cluster.Store, data string) (cluster.Counts, error) {
	if _, err := os.Stat(filepath.Join(data, "chatd.db")); err == nil {
		return cluster.Counts{}, fmt.Errorf("%s already holds a store: export into a new directory", data)
	}
	if err := checkWritable(data); err != nil {
		return cluster.Counts{}, err
	}
	st, err := store.Open(data, db.Options{Sync: db.SyncNever})
	if err != nil {
		return cluster.Counts{}, fmt.Errorf("open store %s: %w", data, err)
	}
	n, err := cs.Export(ctx, st)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close store: %w", cerr)
	}
	return n, err
}

// retryUntilDone calls fn every 2 s until it succeeds or ctx ends, logging
// each failure at warn with msg (cluster set-up steps that wait for quorum).
func retryUntilDone(ctx context.Context, log zerolog.Logger, msg string, fn func() error) {
	for ctx.Err() == nil {
		err := fn()
		if err == nil || ctx.Err() != nil {
			return
		}
		log.Warn().Err(err).Msg(msg)
		t := time.NewTimer(2 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
