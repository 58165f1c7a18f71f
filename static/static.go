// Package static embeds the visitor widget, the demo page and the agent portal.
// Everything under public/ is served as-is from the server root, plus
// widget.js, which is joined from the parts in widget/ (no build step: the
// parts are plain JavaScript, joined in name order at first use, without
// their indentation and whole-line // comments, which customers' visitors
// would otherwise download on every site).
package static

import (
	"bytes"
	"embed"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"
)

//go:embed public
var files embed.FS

//go:embed widget/*.js
var widgetParts embed.FS

// WidgetName is the path of the joined widget in the tree Public returns.
const WidgetName = "widget.js"

var (
	widgetOnce sync.Once
	widgetJS   []byte
)

// Widget returns widget.js: the files of widget/ in name order, joined, each
// line without its leading white space, lines that are only a // comment left
// out. This is safe because the parts use no template literals (a test checks):
// a JavaScript line never continues a string onto the next line otherwise.
func Widget() []byte {
	widgetOnce.Do(func() {
		names, _ := fs.Glob(widgetParts, "widget/*.js")
		sort.Strings(names)
		var b bytes.Buffer
		for _, n := range names {
			part, _ := widgetParts.ReadFile(n) // embedded: cannot fail
			for _, line := range strings.Split(string(part), "\n") {
				line = strings.TrimLeft(line, " \t")
				if line == "" || strings.HasPrefix(line, "//") {
					continue
				}
				b.WriteString(line)
				b.WriteByte('\n')
			}
		}
		widgetJS = b.Bytes()
	})
	return widgetJS
}

// WidgetParts returns the source files widget.js is joined from, by name.
func WidgetParts() map[string][]byte {
	names, _ := fs.Glob(widgetParts, "widget/*.js")
	out := make(map[string][]byte, len(names))
	for _, n := range names {
		out[n], _ = widgetParts.ReadFile(n)
	}
	return out
}

// Public returns the file tree served at "/" (index.html, widget.js,
// widget-lang/, portal/...).
func Public() fs.FS {
	sub, err := fs.Sub(files, "public")
	if err != nil {
		panic(err) // cannot happen: "public" is embedded above
	}
	return overlay{sub}
}

// overlay is the embedded tree plus the joined widget.js.
type overlay struct{ fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	if name == WidgetName {
		return &memFile{Reader: bytes.NewReader(Widget()), name: name, size: int64(len(Widget()))}, nil
	}
	return o.FS.Open(name)
}

// memFile is an in-memory regular file (read-only, seekable).
type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Name() string               { return f.name }
func (f *memFile) Size() int64                { return f.size }
func (f *memFile) Mode() fs.FileMode          { return 0o444 }
func (f *memFile) ModTime() time.Time         { return time.Time{} }
func (f *memFile) IsDir() bool                { return false }
func (f *memFile) Sys() any                   { return nil }

var _ io.ReadSeeker = (*memFile)(nil)
