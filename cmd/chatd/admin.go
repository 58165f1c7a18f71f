package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/chatd/chatd/internal/atomicfile"
	"github.com/chatd/chatd/seed"
)

// optString is a string flag that knows whether it was given (by flag or env).
type optString struct {
	v   string
	set bool
}

func (o *optString) String() string     { return o.v }
func (o *optString) Set(v string) error { o.v, o.set = v, true; return nil }

func (o *optString) ptr() *string {
	if !o.set {
		return nil
	}
	return &o.v
}

func adminFlags(data *string, cost *int, role, display *optString) *flag.FlagSet {
	fs := newFlagSet("chatd admin")
	dataFlag(fs, data)
	bcryptFlag(fs, cost)
	fs.Var(role, "role", "admin set: role, admin (chat and management endpoints) or agent (chat only); a new entry defaults to agent")
	fs.Var(display, "display", `admin set: name shown to visitors, e.g. "Alice from Acme" ("" removes it: visitors see "Support")`)
	return fs
}

// adminCmd edits the admins seed file: set NAME, remove NAME, list. A chatd
// serving the data directory applies the change at once (it is told through
// its control socket, and watches the file anyway).
func adminCmd(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	var data string
	var cost int
	var role, display optString
	fs := adminFlags(&data, &cost, &role, &display)
	pos, err := parseFlags(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, "Usage:\n  chatd admin set NAME [--role admin|agent] [--display NAME] [--data DIR]\n"+
			"      password: one line on stdin; for an existing entry with --role or --display,\n"+
			"      an empty stdin keeps the password\n"+
			"  chatd admin remove NAME [--data DIR]\n  chatd admin list [--data DIR]\n\nOptions:\n")
		printOptions(stdout, fs)
		return exitOK
	}
	if err == nil && (cost < 4 || cost > 31) {
		err = fmt.Errorf("--bcrypt-cost %d: must be between 4 and 31", cost)
	}
	if err != nil {
		return usageError(stderr, " admin", err)
	}
	want := func(n int) bool { return len(pos) == n }
	switch {
	case len(pos) > 0 && pos[0] == "set" && want(2):
		name := pos[1]
		existing := false
		if admins, err := seed.Load(data); err == nil {
			for _, a := range admins {
				existing = existing || a.Name == name
			}
		}
		keepable := existing && (role.set || display.set)
		if f, ok := stdin.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			hint := ""
			if keepable {
				hint = ", empty keeps the current one"
			}
			fmt.Fprintf(stderr, "Password for %s (one line%s; it is shown as you type): ", name, hint)
		}
		password, err := readPassword(stdin, keepable)
		if err != nil {
			fmt.Fprintf(stderr, "chatd admin set: %v\n", err)
			return exitFail
		}
		a, err := seed.SetWith(data, name, seed.Change{Password: password, Cost: cost, Role: role.ptr(), Display: display.ptr()})
		if err != nil && !warnNotDurable(stderr, "chatd admin set", err) {
			fmt.Fprintf(stderr, "chatd admin set: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "admin %q saved in %s (role %s, shown to agents as %q, to visitors as %q)\n",
			name, seed.Path(data), a.EffectiveRole(), a.AgentsSee(), a.DisplayName())
		if password != "" && existing {
			fmt.Fprintln(stdout, "new password: its sessions opened with the old one end")
		}
		reportApplied(data, stdout)
	case len(pos) > 0 && pos[0] == "remove" && want(2):
		if err := seed.Remove(data, pos[1]); err != nil && !warnNotDurable(stderr, "chatd admin remove", err) {
			fmt.Fprintf(stderr, "chatd admin remove: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "admin %q removed from %s; its sessions end\n", pos[1], seed.Path(data))
		reportApplied(data, stdout)
	case len(pos) > 0 && pos[0] == "list" && want(1):
		admins, err := seed.Load(data)
		if err != nil {
			fmt.Fprintf(stderr, "chatd admin list: %v\n", err)
			return exitFail
		}
		// Both names an agent is shown by, from its one display name (store.Admin): to
		// agents as admin:agents and the portal say it, to visitors as replies say it.
		fmt.Fprintln(stdout, "LOGIN\tROLE\tAGENTS SEE\tVISITORS SEE")
		for _, a := range admins {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", a.Name, a.EffectiveRole(), a.AgentsSee(), a.DisplayName())
		}
	default:
		return usageError(stderr, " admin", errors.New("want: set NAME | remove NAME | list"))
	}
	return exitOK
}

// warnNotDurable reports whether err says the admins file was replaced but
// not made durable (atomicfile.ErrNotDurable), and then warns on stderr: the
// change is in force (a running chatd applies it), so the command succeeds;
// failing would tell a script it did not happen.
func warnNotDurable(stderr io.Writer, cmd string, err error) bool {
	if !errors.Is(err, atomicfile.ErrNotDurable) {
		return false
	}
	fmt.Fprintf(stderr, "%s: warning: saved and in force, but a crash may undo it: %v\n", cmd, err)
	return true
}

// reportApplied asks the chatd serving dir, if any, to apply the admins file
// now and says what happened.
func reportApplied(dir string, stdout io.Writer) {
	switch err := reloadAdmins(dir); {
	case err == nil:
		fmt.Fprintln(stdout, "applied by the running chatd")
	case errors.Is(err, errNotRunning):
		fmt.Fprintln(stdout, "chatd is not running on this directory: applied at its next start")
	default:
		fmt.Fprintf(stdout, "could not tell the running chatd (%v): it applies the file within seconds "+
			"(it watches it), or at once on SIGHUP\n", err)
	}
}

var errNotRunning = errors.New("not running")

// reloadAdmins POSTs /reload-admins to the control socket in dir.
func reloadAdmins(dir string) error {
	sock := filepath.Join(dir, ControlSocketName)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://chatd/reload-admins", nil)
	res, err := c.Do(req)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return errNotRunning
	}
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
		return fmt.Errorf("%s: %s", res.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// readPassword reads one line from r. An empty one is an error unless
// mayKeep (then "" means: keep the current password).
func readPassword(r io.Reader, mayKeep bool) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" && !mayKeep {
		return "", errors.New("empty password: write the password as one line on stdin")
	}
	return line, nil
}
