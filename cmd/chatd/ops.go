package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatd/chatd/auth"
	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/store"
)

// ControlSocketName is the control socket's name in the data directory.
const ControlSocketName = "chatd.sock"

// ops runs the operator-facing parts of a serving chatd: the admins file
// watcher (poll, SIGHUP, control socket) and the control socket.
type ops struct {
	once   sync.Once
	cancel context.CancelFunc
	done   chan struct{} // watcher and SIGHUP goroutines ended
	ctl    *http.Server
	ctlErr chan error
	sock   string
	log    zerolog.Logger
	reload func() error // applies the admins file now (the agents API, the control socket)
}

// startOps starts watching the admins file (since: its version when it was
// loaded) and serving the control socket. A control socket that cannot be
// created is logged and skipped: backups then go through --url.
//
// applied (may be nil) runs after each application of the file, with the
// agent whose API change caused it ("" otherwise): the hub tells the portals.
func startOps(ctx context.Context, dir string, poll time.Duration, st *store.Store, au *auth.Auth, srv *server.Server,
	since seed.Version, applied func(), log zerolog.Logger) *ops {
	ctx, cancel := context.WithCancel(ctx)
	o := &ops{cancel: cancel, done: make(chan struct{}), log: log}
	trigger := make(chan chan error)
	apply := func(admins []store.Admin) error {
		err := applyAdmins(dir, st, au, admins, log)
		if err == nil && applied != nil {
			applied()
		}
		return err
	}
	onErr := func(err error) {
		log.Error().Err(err).Str("file", seed.Path(dir)).
			Str("remedy", "fix the file (chatd admin set/remove, or an editor): it is applied as soon as it changes, or on SIGHUP").
			Msg("admins file not applied; the admins in force stay")
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer close(o.done)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			seed.Watch(ctx, dir, poll, since, trigger, apply, onErr)
		}()
		defer func() { <-watched }()
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info().Msg("SIGHUP: applying the admins file")
				select {
				case trigger <- nil:
				case <-ctx.Done():
					return
				}
			}
		}
	}()

	reload := func() error {
		reply := make(chan error, 1)
		select {
		case trigger <- reply:
		case <-ctx.Done():
			return errors.New("chatd is shutting down")
		}
		select {
		case err := <-reply:
			return err
		case <-ctx.Done():
			return errors.New("chatd is shutting down")
		}
	}
	o.reload = reload
	o.sock = filepath.Join(dir, ControlSocketName)
	ln, err := listenControl(o.sock, log)
	if err != nil {
		log.Warn().Err(err).Str("socket", o.sock).
			Msg("no control socket: 'chatd backup --data' cannot reach this server; use 'chatd backup --url --token' or a shorter --data path")
		o.sock = ""
		return o
	}
	o.ctl = server.HTTPServer(srv.ControlHandler(reload), log)
	o.ctlErr = make(chan error, 1)
	go func() { o.ctlErr <- o.ctl.Serve(ln) }()
	return o
}

// stop ends the watcher and closes the control socket (a backup in progress
// is cut: the client sees no "ok" trailer and keeps nothing).
func (o *ops) stop() {
	o.once.Do(func() {
		o.cancel()
		<-o.done
		if o.ctl != nil {
			o.ctl.Close()
			<-o.ctlErr
			os.Remove(o.sock)
		}
	})
}

// listenControl creates the control socket, owner-only: the file is made 0600
// at once, and every connection's peer must run as chatd's user or root.
func listenControl(path string, log zerolog.Logger) (net.Listener, error) {
	if fi, err := os.Stat(filepath.Dir(path)); err == nil && fi.Mode().Perm()&0o022 != 0 {
		log.Warn().Str("dir", filepath.Dir(path)).Str("mode", fi.Mode().Perm().String()).
			Msg("the data directory is writable by others: they could replace its files; chmod 700 it")
	}
	// A socket file left by a chatd that was killed: this process holds the
	// data directory lock, so no other chatd serves it.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale control socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod control socket: %w", err)
	}
	return peerCheck{ln.(*net.UnixListener), log}, nil
}

// peerCheck accepts only peers running as this process's user or root (on
// Linux, SO_PEERCRED); the socket's mode already keeps others out.
type peerCheck struct {
	*net.UnixListener
	log zerolog.Logger
}

func (p peerCheck) Accept() (net.Conn, error) {
	for {
		c, err := p.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if uid, ok := peerUID(c); ok && uid != os.Geteuid() && uid != 0 {
			p.log.Warn().Int("uid", uid).Msg("control socket connection from another user refused")
			c.Close()
			continue
		}
		return c, nil
	}
}

// applyAdmins puts a newly loaded admins file in force: the store's admins
// are replaced, then every session that is no longer valid (agent removed,
// password changed) ends, with its sockets.
func applyAdmins(dir string, st *store.Store, au *auth.Auth, admins []store.Admin, log zerolog.Logger) error {
	if fixed, err := seed.FixMode(dir); err != nil {
		log.Warn().Err(err).Msg("admins file mode")
	} else if fixed {
		log.Warn().Str("file", seed.Path(dir)).Msg("admins file was readable by others; made it 0600")
	}
	old, err := st.Admins()
	if err != nil {
		return fmt.Errorf("read admins in force: %w", err)
	}
	warnLegacyLogins(admins, log)
	if err := st.ReseedAdmins(admins); err != nil {
		return err
	}
	ended := au.Sweep()
	added, removed, changed := diffAdmins(old, admins)
	ev := log.Info()
	if len(added)+len(removed)+len(changed)+ended == 0 {
		ev = log.Debug() // touched, not changed (or the file chatd itself created at first boot)
	}
	ev.Int("admins", len(admins)).Strs("added", added).Strs("removed", removed).Strs("changed", changed).
		Int("sessions_ended", ended).Msg("admins file applied")
	return nil
}

// diffAdmins names the entries added, removed and changed (any field) from old to now.
func diffAdmins(old, now []store.Admin) (added, removed, changed []string) {
	byName := make(map[string]store.Admin, len(old))
	for _, a := range old {
		byName[a.Name] = a
	}
	for _, a := range now {
		prev, ok := byName[a.Name]
		switch {
		case !ok:
			added = append(added, a.Name)
		case prev != a:
			changed = append(changed, a.Name)
		}
		delete(byName, a.Name)
	}
	for name := range byName {
		removed = append(removed, name)
	}
	slices.Sort(removed)
	return added, removed, changed
}

// warnLegacyLogins warns about admins-file logins outside the login rule
// (seed/login.go): they keep working, so nobody is locked out, but look-alike
// logins should be renamed (add the new login, remove the old one).
func warnLegacyLogins(admins []store.Admin, log zerolog.Logger) {
	if l := seed.Legacy(admins); len(l) > 0 {
		log.Warn().Strs("logins", l).
			Str("rule", "lower-case a-z, digits and . _ -, unique ignoring case; the display name is free-form").
			Msg("admins file: logins outside the login rule still work; replace them with logins that follow it")
	}
}
