package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/chatd/chatd/seed"
)

func adminFlags(data *string, cost *int) *flag.FlagSet {
	fs := newFlagSet("chatd admin")
	dataFlag(fs, data)
	bcryptFlag(fs, cost)
	return fs
}

// adminCmd edits the admins seed file: set NAME (password on stdin), remove NAME, list.
// A running chatd picks changes up at its next boot.
func adminCmd(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	var data string
	var cost int
	fs := adminFlags(&data, &cost)
	pos, err := parseFlags(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, "Usage:\n  chatd admin set NAME [--data DIR]   (password: one line on stdin)\n"+
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
		if f, ok := stdin.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			fmt.Fprintf(stderr, "Password for %s (one line; it is shown as you type): ", pos[1])
		}
		password, err := readPassword(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "chatd admin set: %v\n", err)
			return exitFail
		}
		if err := seed.Set(data, pos[1], password, cost); err != nil {
			fmt.Fprintf(stderr, "chatd admin set: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "admin %q saved in %s; restart chatd to apply\n", pos[1], seed.Path(data))
	case len(pos) > 0 && pos[0] == "remove" && want(2):
		if err := seed.Remove(data, pos[1]); err != nil {
			fmt.Fprintf(stderr, "chatd admin remove: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "admin %q removed from %s; restart chatd to apply\n", pos[1], seed.Path(data))
	case len(pos) > 0 && pos[0] == "list" && want(1):
		admins, err := seed.Load(data)
		if err != nil {
			fmt.Fprintf(stderr, "chatd admin list: %v\n", err)
			return exitFail
		}
		for _, a := range admins {
			fmt.Fprintln(stdout, a.Name)
		}
	default:
		return usageError(stderr, " admin", errors.New("want: set NAME | remove NAME | list"))
	}
	return exitOK
}

// readPassword reads one line from r; the password must not be empty.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty password: write the password as one line on stdin")
	}
	return line, nil
}
