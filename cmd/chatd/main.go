// Command chatd is a self-hosted live-support chat server in one binary:
// visitors chat from an embeddable widget, support agents answer from a web
// portal. This package only wires: config, store, admins seed, hub, server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

func main() {
	zerolog.TimeFieldFormat = time.RFC3339Nano // millisecond-precise log times
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // runtime failure
	exitUsage = 2 // bad command line or configuration
)

// run is chatd's whole life; tests call it with their own args and environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "admin":
			return adminCmd(args[1:], getenv, os.Stdin, stdout, stderr)
		case "healthcheck":
			return healthCmd(ctx, args[1:], getenv, stdout, stderr)
		case "backup":
			return backupCmd(ctx, args[1:], getenv, stdout, stderr)
		case "cluster":
			return clusterCmd(ctx, args[1:], getenv, stdout, stderr)
		case "restore":
			return restoreCmd(ctx, args[1:], getenv, stdout, stderr)
		case "version", "--version", "-version":
			fmt.Fprintln(stdout, "chatd", version())
			return exitOK
		case "help":
			return run(ctx, []string{"--help"}, getenv, stdout, stderr)
		}
	}
	var c config
	fs := serveFlags(&c)
	pos, fromEnv, err := parseFlagsEnv(fs, args, getenv)
	c.lockInbox(fs, fromEnv)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, fs)
		return exitOK
	}
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unknown command %q", pos[0])
	}
	if err == nil {
		err = c.validate()
	}
	if err != nil {
		return usageError(stderr, "", err)
	}
	log := newLogger(stderr, c.LogFormat, c.level)
	for _, name := range unknownEnv(os.Environ()) {
		log.Warn().Str("var", name).Msg("unknown CHATD_* environment variable ignored")
	}
	if err := checkWritable(c.Data); err != nil {
		log.Error().Err(err).Msg("bad configuration")
		return exitUsage
	}
	return serve(ctx, c, log)
}

func usageError(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "chatd%s: %v\nRun 'chatd%s --help' for usage.\n", cmd, err, cmd)
	return exitUsage
}

func printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `chatd - self-hosted live-support chat

Usage:
  chatd [options]                      serve (the default)
  chatd admin set NAME [--role R] [--display D] [--data DIR]
                                       add an admin or change it (password from stdin);
                                       a running chatd applies it at once
  chatd admin remove NAME [--data DIR] remove an admin (its sessions and sockets end)
  chatd admin list [--data DIR]        list admins: name, role, display name
  chatd healthcheck [--addr A | --url U]  exit 0 if the server answers /healthz with 200
  chatd backup FILE [--data DIR | --url U --token T]  write a consistent store snapshot
  chatd cluster import|export --data DIR --nats-url URL  move a single-node store into a cluster, or back
  chatd restore FILE [--data DIR]      put a backup in place (chatd stopped)
  chatd version                        print the version

Every option can also be set with its CHATD_* environment variable; flags win.

Options:
`)
	printOptions(w, fs)
}

// newLogger builds the process logger: console on a terminal, JSON otherwise.
func newLogger(w io.Writer, format string, level zerolog.Level) zerolog.Logger {
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
			format = "console"
		}
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// version reports the module version and VCS revision baked in by go build.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "-dirty"
		}
	}
	return v + " " + bi.GoVersion
}
