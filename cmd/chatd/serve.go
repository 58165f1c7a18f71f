package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/cluster"
	"github.com/chatd/chatd/db"
	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/internal/atomicfile"
	"github.com/chatd/chatd/internal/netaddr"
	"github.com/chatd/chatd/notify/push"
	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/static"
	"github.com/chatd/chatd/store"
)

// serve opens the store, reseeds admins, serves until ctx ends, then shuts
// down within c.ShutdownTimeout: /readyz 503, sockets closed with 1012,
// HTTP drained, store flushed and closed.
func serve(ctx context.Context, c config, log zerolog.Logger) int {
	metrics := server.NewMetrics()
	var (
		st  backend
		one *store.Store   // single node
		cs  *cluster.Store // cluster mode (--cluster-name or --nats-url)
		err error
	)
	if c.Cluster.enabled() {
		cs, err = openCluster(c, log)
		st = cs
	} else {
		dbLog := log.With().Str("component", "db").Logger()
		one, err = store.Open(c.Data, db.Options{
			Sync: c.sync, Interval: c.syncInterval,
			Logger:        dbLog,
			OnCommit:      metrics.ObserveCommit,
			ShrinkMinSize: int64(c.CompactMinMB) << 20,
		})
		st = one
	}
	if err != nil {
		log.Error().Err(err).Msg("cannot open store")
		return exitFail
	}
	storeOpen := true
	defer func() {
		if storeOpen { // early return: nothing was served yet
			if err := st.Close(); err != nil {
				log.Error().Err(err).Msg("close store")
			}
		}
	}()

	// The store is the one source of the name and text limits (validate refused values it would refuse).
	if err := st.SetLimits(store.Limits{Name: c.MaxName, Text: c.MaxText}); err != nil {
		log.Error().Err(err).Msg("bad limits")
		return exitUsage
	}

	// Owner-only files: the store made its own so; the others (admins, keys)
	// and anything copied in with a wider mode are narrowed here.
	if err := db.SecureDir(c.Data, log.With().Str("component", "db").Logger()); err != nil {
		log.Error().Err(err).Msg("cannot secure the data directory")
		return exitFail
	}
	adminsVersion, err := seed.Stat(c.Data) // before loading: a change meanwhile is applied by the watcher
	if err != nil {
		log.Error().Err(err).Msg("cannot read admins")
		return exitFail
	}
	var (
		admins   []store.Admin
		password string
	)
	if cs != nil {
		// The cluster holds the admins: only a node with a seed file reseeds
		// them, and none invents a first admin of its own.
		admins, err = seed.Load(c.Data)
	} else {
		admins, password, err = seed.Ensure(c.Data, c.BcryptCost)
		if errors.Is(err, atomicfile.ErrNotDurable) {
			log.Error().Err(err).Msg("the first admin is saved and in force, but not known to be durable")
			err = nil
		}
	}
	if err != nil {
		log.Error().Err(err).Msg("cannot load admins")
		return exitFail
	}
	if password != "" {
		log.Warn().Str("admin", seed.DefaultAdmin).Str("password", password).Str("file", seed.Path(c.Data)).
			Msg("no admin existed: created one with this random password (shown only now; change it with 'chatd admin set')")
	}
	warnLegacyLogins(admins, log)
	// bg runs the cluster's background helpers; they end before the store closes.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var bgDone sync.WaitGroup
	defer func() { stopBG(); bgDone.Wait() }()
	authCfg := auth.Config{TTL: c.TokenTTL}
	if cs != nil {
		bgDone.Go(func() { seedCluster(bg, cs, admins, log) })
		authCfg.Sessions = cs
	} else if err := one.ReseedAdmins(admins); err != nil {
		log.Error().Err(err).Msg("cannot reseed admins")
		return exitFail
	}
	authCfg.DummyCost = c.BcryptCost
	if len(admins) > 0 {
		authCfg.DummyCost, _ = bcrypt.Cost([]byte(admins[0].Hash))
	}
	if one != nil {
		// Cluster mode: a key per process until the cluster's shared one is
		// adopted (adoptShared).
		authCfg.DeviceKey, err = one.Secret("device-key", 32)
	}
	if err != nil {
		log.Error().Err(err).Msg("auth")
		return exitFail
	}
	if cs == nil {
		authCfg.Sessions = one
	}
	authCfg.Log = log.With().Str("component", "auth").Logger()
	au, err := auth.New(authCfg, st)
	if err != nil {
		log.Error().Err(err).Msg("auth")
		return exitFail
	}
	defer au.Close() // before the store closes (defers run last-in first-out)

	var h *hub.Hub
	subsOf := func() (push.Store, error) { return push.NewDBStore(one.DB()) }
	if cs != nil {
		subsOf = func() (push.Store, error) { return cs, nil }
	}
	notes, err := c.buildNotifications(st, subsOf, func(v string) bool { return h.VisitorOnline(v) },
		func(a string) bool { return h.AdminConnected(a) }, notifyMetrics(c, metrics), log)
	if err != nil {
		log.Error().Err(err).Msg("cannot set up notifications")
		return exitFail
	}
	notifyCtx, stopNotify := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNotify()

	clientIP := server.ClientIP(c.trusted)
	addrKey := netaddr.Grouper(c.IPv6Prefix)
	hc := hub.Config{
		MaxFrame: int64(c.MaxFrame), AddressKey: addrKey,
		QuotaVisitor: c.QuotaVisitor, QuotaAddress: c.QuotaAddress,
		MsgRate: c.MsgRate, MsgBurst: c.MsgBurst,
		SocketsPerVisit: c.SocketsPerVisit, SocketsPerIP: c.SocketsPerIP, NewVisitorsPerIP: c.NewVisitorsPIP,
		SendBuffer: c.SendBuffer, AdminSendBuffer: c.AdminSendBuffer, PingPeriod: c.PingPeriod,
		AllowedOrigins: c.origins, ClientIP: clientIP, Observer: notes.observer(), Mailer: notes.visitorMail(),
	}
	if cs != nil && hc.Observer != nil {
		hc.Observer = notifierGate{inner: hc.Observer, on: cs.Notifier} // one node notifies (cluster_notify.go)
	}
	c.hubInboxConfig(&hc, cs != nil)
	c.hubVisitorConfig(&hc)
	h = hub.New(hc, st, au, log.With().Str("component", "hub").Logger())
	au.OnRevoke(func() { h.RecheckAdmins() }) // a session that ends closes its sockets at once
	notifyDone := notes.run(notifyCtx)
	memCtx, stopMem := context.WithCancel(ctx)
	memDone := make(chan struct{})
	go func() {
		defer close(memDone)
		runMemoryReturner(memCtx, memoryCheckEvery, memoryFreeMin, log.With().Str("component", "memory").Logger())
	}()
	defer func() { stopMem(); <-memDone }()
	if cs != nil {
		bgDone.Go(func() { adoptShared(bg, cs, au, notes.push, c.Data, log) })
	}
	if !c.Metrics {
		metrics = nil
	} else {
		metrics.WatchHub(h.Stats)
		if cs != nil {
			metrics.Registry().MustRegister(cs.Collector())
		} else {
			metrics.WatchStore(one.DB().Health, one.DB().Stats)
		}
	}
	agents := &agentsFile{dir: c.Data, cost: c.BcryptCost}
	srv := server.New(server.Config{
		Hub: h, Store: st, Auth: au, Static: static.Public(), StoreHealth: storeHealth(one),
		Metrics: metrics, MetricsToken: c.MetricsToken, ClientIP: clientIP, AddressKey: addrKey,
		Log:          log.With().Str("component", "http").Logger(),
		Availability: func() any { return h.Availability() },
		WidgetOrigin: h.ClientOriginAllowed,
		Inbox:        h,
		Agents:       agents,
		Push:         notes.pushAPI(), Webhooks: notes.webhookLog(),
	})

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		log.Error().Err(err).Str("addr", c.Addr).Msg("cannot listen")
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
		defer cancel()
		h.Shutdown(stopCtx)
		return exitFail
	}
	if one != nil {
		h.AdminsApplied(hub.BySystem) // conversations of agents removed while chatd was stopped
	}
	var op *ops
	if one != nil { // the admins file watcher reseeds the single node's store
		op = startOps(ctx, c.Data, c.AdminsPoll, one, au, srv, adminsVersion, func() { h.AdminsApplied(agents.actor()) }, log)
		agents.setReload(op.reload)
		defer op.stop()
	} else {
		// The agents API changes this node's file after it was made the
		// cluster's, then puts it into the cluster.
		reload := clusterAgentsReload(ctx, cs, c.Data)
		agents.setReload(func() error {
			err := reload()
			if err == nil {
				h.AdminsApplied(agents.actor()) // this node's portals; other nodes at their next boot
			}
			return err
		})
		agents.mirror = func() error {
			admins, err := cs.Admins()
			if err != nil {
				return err
			}
			return seed.Save(c.Data, admins)
		}
	}
	httpSrv := server.HTTPServer(srv, log)
	serveErr := make(chan error, 1)
	if cs != nil {
		bgDone.Go(func() { watchReady(bg, srv, cs, log) })
	} else {
		srv.SetReady(true)
	}
	go func() { serveErr <- httpSrv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Str("data", c.Data).Str("fsync", c.Fsync).
		Int("admins", len(admins)).Msg("listening")

	var pprofSrv *http.Server
	pprofErr := make(chan error, 1)
	if c.Pprof != "" {
		pprofSrv, err = startPprof(c.Pprof, pprofErr, log)
		if err != nil {
			log.Error().Err(err).Msg("cannot start pprof")
		}
	}

	code := exitOK
	select {
	case <-ctx.Done():
		log.Info().Msg("shutting down")
	case err := <-serveErr:
		log.Error().Err(err).Msg("http server stopped")
		code = exitFail
		serveErr <- err
	}

	deadline, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	defer cancel()
	stopBG()
	bgDone.Wait()
	srv.SetReady(false)
	if c.ShutdownDelay > 0 {
		t := time.NewTimer(c.ShutdownDelay)
		<-t.C
	}
	if cs != nil {
		cs.Drain() // a write waiting for a quorum must not hold the sockets' shutdown
	}
	if err := h.Shutdown(deadline); err != nil {
		log.Error().Err(err).Msg("hub shutdown")
		code = exitFail
	}
	// No event comes any more: stop the notifications (attempts in flight
	// are cancelled, queued ones dropped and counted).
	stopNotify()
	select {
	case <-notifyDone:
	case <-deadline.Done():
		log.Error().Msg("notifications did not stop before the shutdown deadline")
		code = exitFail
	}
	if err := httpSrv.Shutdown(deadline); err != nil {
		log.Error().Err(err).Msg("http shutdown timed out; closing connections")
		httpSrv.Close()
		code = exitFail
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) && code == exitOK {
		code = exitFail
	}
	if pprofSrv != nil {
		pprofSrv.Close()
		<-pprofErr
	}

	if op != nil {
		op.stop()
	}
	au.Close()
	storeOpen = false
	closed := make(chan error, 1)
	go func() { closed <- st.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			log.Error().Err(err).Msg("close store")
			return exitFail
		}
	case <-deadline.Done():
		log.Error().Dur("timeout_ms", c.ShutdownTimeout).Msg("store close exceeded the shutdown deadline")
		return exitFail
	}
	log.Info().Int("exit", code).Msg("stopped")
	return code
}

// storeHealth is the single node's store health for /readyz; a cluster
// node's readiness is set by watchReady instead.
func storeHealth(one *store.Store) func() db.Health {
	if one == nil {
		return nil
	}
	return one.DB().Health
}

// backend is the store chatd serves from: the single-node store or a cluster node.
type backend interface {
	hub.Store
	server.Backuper
	SetLimits(store.Limits) error
	Close() error
}

// startPprof serves net/http/pprof on its own loopback listener.
func startPprof(addr string, done chan<- error, log zerolog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s := server.HTTPServer(mux, log)
	go func() { done <- s.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Msg("pprof listening")
	return s, nil
}
