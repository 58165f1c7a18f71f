package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

func healthFlags(addr, url *string, ready *bool) *flag.FlagSet {
	fs := newFlagSet("chatd healthcheck")
	addrFlag(fs, addr)
	fs.StringVar(url, "url", "", "base URL of the server, e.g. http://127.0.0.1:8080 (overrides --addr)")
	fs.BoolVar(ready, "ready", false, "check /readyz instead of /healthz")
	return fs
}

// healthCmd GETs the server's /healthz (or /readyz) with a 3s timeout: exit 0 on 200, 1 otherwise.
// It needs no curl, so a scratch or distroless image can use it as its HEALTHCHECK.
func healthCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var addr, base string
	var ready bool
	fs := healthFlags(&addr, &base, &ready)
	pos, err := parseFlags(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, "Usage:\n  chatd healthcheck [--addr ADDR | --url URL] [--ready]\n\nOptions:\n")
		printOptions(stdout, fs)
		return exitOK
	}
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		return usageError(stderr, " healthcheck", err)
	}
	if base == "" {
		b, err := baseURL(addr)
		if err != nil {
			return usageError(stderr, " healthcheck", err)
		}
		base = b
	}
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	target := strings.TrimRight(base, "/") + path
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return usageError(stderr, " healthcheck", fmt.Errorf("bad URL %q: %v", target, err))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "chatd healthcheck: %v\n", err)
		return exitFail
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "chatd healthcheck: %s answered %s\n", target, res.Status)
		return exitFail
	}
	fmt.Fprintf(stdout, "ok %s\n", target)
	return exitOK
}

// baseURL turns a listen address into a URL to reach it: an empty or
// unspecified host (0.0.0.0, ::) becomes loopback.
func baseURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr %q: want host:port", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
