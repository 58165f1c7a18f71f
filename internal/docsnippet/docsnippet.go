// Package docsnippet runs the code snippets of the operator docs in their
// own interpreters, so a test can check that what docs/ tells a site owner
// to run computes what chatd expects.
package docsnippet

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Blocks returns the fenced code blocks of the markdown file at path whose
// info string is lang ("js", "php", "python", "ruby"), in order.
func Blocks(t testing.TB, path, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur *strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```"+lang:
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return out
}

// interpreters maps a block's language to its command and file suffix.
var interpreters = map[string][2]string{
	"js":     {"node", ".js"},
	"php":    {"php", ".php"},
	"python": {"python3", ".py"},
	"ruby":   {"ruby", ".rb"},
}

// Run runs code as a program of lang and returns its standard output. The
// test is skipped when the interpreter is not installed (it fails instead
// when CI is set), and fails on a non-zero exit or after 30 s.
func Run(t testing.TB, lang, code string) string {
	t.Helper()
	in, ok := interpreters[lang]
	if !ok {
		t.Fatalf("docsnippet: no interpreter for %q", lang)
	}
	bin, err := exec.LookPath(in[0])
	if err != nil {
		if os.Getenv("CI") != "" { // .ci/run installs every interpreter
			t.Fatalf("%s not installed (CI installs it in .ci/run)", in[0])
		}
		t.Skipf("%s not installed", in[0])
	}
	file := filepath.Join(t.TempDir(), "snippet"+in[1])
	if err := os.WriteFile(file, []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, file)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s snippet: %v\n%s\n--- code:\n%s", lang, err, stderr.String(), code)
	}
	return stdout.String()
}
