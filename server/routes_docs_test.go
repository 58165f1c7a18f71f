package server

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAPIRoutesAreInConfigurationDocs: every /api/ route the server
// registers is listed in docs/configuration.md's Endpoints table as
// "METHOD /api/path", so the operator's overview cannot fall behind.
// Routes are read from this package's sources (net/http's ServeMux does not
// list its patterns).
func TestAPIRoutesAreInConfigurationDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(doc), "## Endpoints")
	table, _, _ = strings.Cut(strings.TrimLeft(table, "\n"), "\n\n")
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	route := regexp.MustCompile(`Handle(?:Func)?\("((?:GET|POST|PUT|DELETE|PATCH) /api/[^"]*)"`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range route.FindAllStringSubmatch(string(src), -1) {
			n++
			if !strings.Contains(table, "`"+m[1]+"`") {
				t.Errorf("%s: route %s is not in docs/configuration.md's Endpoints table", f, m[1])
			}
		}
	}
	if n < 10 {
		t.Fatalf("found %d routes: the pattern no longer matches how routes are registered", n)
	}
}
