package logcheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"level":"info","component":"db","message":"x"}`, true},
		{`{"a":{"b":1,"c":[{"d":1},{"d":2}]}}`, true},
		{`{"component":"db","level":"info","component":"db"}`, false},
		{`{"a":{"b":1,"b":2}}`, false},
		{`{"a":[{"b":1,"b":2}]}`, false},
		{`{"a":1} {"b":2}`, false},
		{`[1]`, false},
		{`not json`, false},
	} {
		if err := Line([]byte(tc.in)); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.in, err)
		}
	}
	if n, err := Lines(strings.NewReader("{\"a\":1}\n\n{\"b\":1,\"b\":1}\n")); err == nil || n != 2 {
		t.Errorf("Lines: %d %v", n, err)
	}
}

// TestDurationFieldsSayTheirUnit: every duration chatd logs is in
// milliseconds (zerolog's DurationFieldUnit, left at its default) in a field
// whose name ends in _ms, so a reader of `"retry_in_ms":1163.1` knows the
// unit. It reads the module's Go sources (tests excepted).
func TestDurationFieldsSayTheirUnit(t *testing.T) {
	dur := regexp.MustCompile(`\bDur\("([^"]*)"`)
	var bad []string
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range dur.FindAllStringSubmatch(string(src), -1) {
			if !strings.HasSuffix(m[1], "_ms") {
				bad = append(bad, path+": "+m[1])
			}
		}
		if strings.Contains(string(src), "zerolog.DurationField") {
			bad = append(bad, path+": sets zerolog.DurationField*")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("duration log field without its unit: %s", b)
	}
}
