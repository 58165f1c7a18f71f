package deploy

import (
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
)

// instruction is one Dockerfile instruction with continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ENV...
	args string
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open Dockerfile: %v", err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	if err := s.Err(); err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	return out
}

// shellWords splits s like a POSIX shell for the simple cases a Dockerfile
// RUN line uses: blanks, single and double quotes, backslash escapes.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// goBuild finds the Dockerfile's go build command: its environment
// assignments and the arguments after "go".
func goBuild(t *testing.T, ins []instruction) (env, args []string) {
	t.Helper()
	for _, in := range ins {
		if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
			continue
		}
		for _, part := range strings.Split(in.args, "&&") {
			if !strings.Contains(part, "go build") {
				continue
			}
			words, err := shellWords(strings.TrimSpace(part))
			if err != nil {
				t.Fatalf("parse %q: %v", part, err)
			}
			i := 0
			for ; i < len(words) && strings.Contains(words[i], "=") && words[i] != "go"; i++ {
				env = append(env, words[i])
			}
			if i >= len(words)-1 || words[i] != "go" || words[i+1] != "build" {
				t.Fatalf("cannot read the go build line %q", part)
			}
			return env, words[i+1:]
		}
	}
	t.Fatal("Dockerfile has no RUN ... go build line")
	return nil, nil
}

// envPairs reads the KEY=VALUE pairs of every ENV instruction.
func envPairs(t *testing.T, ins []instruction) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, in := range ins {
		if in.cmd != "ENV" {
			continue
		}
		words, err := shellWords(in.args)
		if err != nil {
			t.Fatalf("parse ENV %q: %v", in.args, err)
		}
		for _, w := range words {
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				t.Fatalf("ENV %q: use the KEY=VALUE form", in.args)
			}
			m[k] = v
		}
	}
	return m
}

// TestDockerfileShape checks, by reading, what cannot be built here.
func TestDockerfileShape(t *testing.T) {
	ins := parseDockerfile(t, filepath.Join("..", "Dockerfile"))
	var froms []string
	has := map[string][]string{}
	for _, in := range ins {
		has[in.cmd] = append(has[in.cmd], in.args)
		if in.cmd == "FROM" {
			froms = append(froms, in.args)
		}
	}
	if len(froms) < 2 {
		t.Errorf("want a multi-stage build, got FROM %q", froms)
	} else {
		if !strings.HasPrefix(froms[0], "golang:1.26-bookworm") {
			t.Errorf("builder = %q, want the official golang:1.26-bookworm", froms[0])
		}
		if last := froms[len(froms)-1]; last != "gcr.io/distroless/static-debian12:nonroot" {
			t.Errorf("final stage = %q, want gcr.io/distroless/static-debian12:nonroot", last)
		}
	}
	env := envPairs(t, ins)
	if env["CHATD_ADDR"] != "0.0.0.0:8080" || env["CHATD_DATA"] != "/data" {
		t.Errorf("ENV CHATD_ADDR=%q CHATD_DATA=%q, want 0.0.0.0:8080 and /data", env["CHATD_ADDR"], env["CHATD_DATA"])
	}
	want := map[string]string{
		"VOLUME":      "/data",
		"EXPOSE":      "8080",
		"USER":        "65532:65532",
		"ENTRYPOINT":  `["/chatd"]`,
		"HEALTHCHECK": `CMD ["/chatd", "healthcheck"]`,
	}
	for cmd, w := range want {
		got := has[cmd]
		if len(got) != 1 || !strings.HasSuffix(got[0], w) {
			t.Errorf("%s = %q, want one ending in %s", cmd, got, w)
		}
	}
	chowned := slices.ContainsFunc(has["COPY"], func(a string) bool {
		return strings.Contains(a, "--chown=65532:65532") && strings.HasSuffix(a, " /data")
	})
	if !chowned {
		t.Error("want /data copied with --chown=65532:65532 so the non-root user owns the volume")
	}
}

// TestDockerBuildStaticHealthcheck builds chatd exactly as the Dockerfile
// does, checks the binary is static, and runs its healthcheck against a
// running and a stopped server.
func TestDockerBuildStaticHealthcheck(t *testing.T) {
	ins := parseDockerfile(t, filepath.Join("..", "Dockerfile"))
	env, args := goBuild(t, ins)
	if !slices.Contains(env, "CGO_ENABLED=0") || !slices.Contains(args, "-trimpath") || !slices.Contains(args, "-ldflags=-s -w") {
		t.Fatalf("go build line env=%q args=%q: want CGO_ENABLED=0, -trimpath, -ldflags=\"-s -w\"", env, args)
	}
	bin := filepath.Join(t.TempDir(), "chatd")
	o := slices.Index(args, "-o")
	if o < 0 || o+1 >= len(args) {
		t.Fatalf("go build line has no -o: %q", args)
	}
	args = slices.Clone(args)
	args[o+1] = bin

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", args...)
	build.Dir = ".."
	build.Env = append(os.Environ(), env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("open built binary: %v", err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: not static", p.Type)
		}
	}
	if f.Section(".dynamic") != nil || f.Section(".interp") != nil {
		t.Error("binary has a .dynamic or .interp section: not static")
	}
	if f.Section(".symtab") != nil {
		t.Error("binary has a symbol table: -ldflags=-s did not apply")
	}
	f.Close()

	srv := chatdtest.Start(t, bin, chatdtest.Options{Data: t.TempDir()})
	if code, out, errOut := chatdtest.Run(t, bin, "", nil, "healthcheck", "--addr", srv.Addr); code != 0 {
		t.Errorf("healthcheck --addr %s against a running server: exit %d\n%s%s", srv.Addr, code, out, errOut)
	}
	// The image's HEALTHCHECK passes no flag: it reads CHATD_ADDR=0.0.0.0:PORT
	// and must reach the server on loopback.
	port := srv.Addr[strings.LastIndexByte(srv.Addr, ':')+1:]
	if code, out, errOut := chatdtest.Run(t, bin, "", []string{"CHATD_ADDR=0.0.0.0:" + port}, "healthcheck"); code != 0 {
		t.Errorf("healthcheck with CHATD_ADDR=0.0.0.0:%s: exit %d\n%s%s", port, code, out, errOut)
	}
	srv.Stop(t)
	if code, out, errOut := chatdtest.Run(t, bin, "", nil, "healthcheck", "--addr", srv.Addr); code == 0 {
		t.Errorf("healthcheck against a stopped server: exit 0, want non-zero\n%s%s", out, errOut)
	}
}
