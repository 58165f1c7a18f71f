// Package static embeds the visitor widget, the demo page and the agent portal.
// Everything under public/ is served as-is from the server root.
package static

import (
	"embed"
	"io/fs"
)

//go:embed public
var files embed.FS

// Public returns the file tree served at "/" (index.html, widget.js, portal/...).
func Public() fs.FS {
	sub, err := fs.Sub(files, "public")
	if err != nil {
		panic(err) // cannot happen: "public" is embedded above
	}
	return sub
}
