package static

import (
	"bytes"
	"io/fs"
	"strings"
	"testing"
)

// The joined widget keeps every line of code of its parts, in order, and the
// parts avoid what would make dropping indentation and comment lines unsafe.
func TestWidgetJoin(t *testing.T) {
	parts := WidgetParts()
	if len(parts) < 2 {
		t.Fatalf("found %d widget parts", len(parts))
	}
	joined := string(Widget())
	served, err := fs.ReadFile(Public(), WidgetName)
	if err != nil || !bytes.Equal(served, Widget()) {
		t.Fatalf("Public()/%s differs from Widget(): %v", WidgetName, err)
	}
	at := 0
	for _, name := range []string{"widget/1-base.js", "widget/2-ui.js", "widget/3-chat.js", "widget/4-api.js"} {
		src, ok := parts[name]
		if !ok {
			t.Fatalf("no part %s", name)
		}
		if bytes.ContainsRune(src, '`') {
			t.Errorf("%s uses a template literal: joining it would be unsafe", name)
		}
		for _, line := range strings.Split(string(src), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "//") {
				continue
			}
			i := strings.Index(joined[at:], line+"\n")
			if i < 0 {
				t.Fatalf("%s: line %q missing or out of order in widget.js", name, line)
			}
			at += i + len(line)
		}
	}
	if !strings.HasPrefix(joined, "/*! chatd visitor widget") || !strings.HasSuffix(joined, "}());\n") {
		t.Errorf("widget.js does not start with its banner or end the function: %q ... %q", joined[:30], joined[len(joined)-10:])
	}
}
