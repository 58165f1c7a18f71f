package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
)

// Cache policies. The widget, its language packs and its lazily loaded part
// (widget-mail.js) are loaded by customers' pages: a browser reuses its copy for 5 minutes, then for a day
// may show the copy it has while it revalidates in the background (a 304 when
// nothing changed), so a new release reaches a returning visitor at most one
// page view after those 5 minutes (RFC 9111 §5.2.2.1, RFC 5861 §3). Everything
// else (demo page, portal) is revalidated on each use.
const (
	widgetCache = "public, max-age=300, stale-while-revalidate=86400"
	pageCache   = "no-cache"
)

// assets serves an fs.FS with a strong validator per representation and each
// compressible file compressed once (gzip and brotli), on its first request.
type assets struct {
	fsys    fs.FS
	modtime time.Time // Last-Modified of every file: embedded files carry none

	mu    sync.Mutex
	files map[string]*asset
}

// asset is one file in its three encodings; gz and br are nil when they would
// not be smaller than raw.
type asset struct {
	once   sync.Once
	err    error
	raw    []byte
	gz, br []byte
	ctype  string
	tag    string // hex digest of raw, the base of the ETags
}

func newAssets(fsys fs.FS) *assets {
	return &assets{fsys: fsys, modtime: buildTime(), files: make(map[string]*asset)}
}

// buildTime is the commit time stamped into the binary by the Go toolchain
// (vcs.time), else the start of this process.
func buildTime() time.Time {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					return t
				}
			}
		}
	}
	return time.Now().UTC().Truncate(time.Second)
}

func (a *assets) get(name string) (*asset, error) {
	a.mu.Lock()
	f := a.files[name]
	if f == nil {
		f = &asset{}
		a.files[name] = f
	}
	a.mu.Unlock()
	f.once.Do(func() { f.load(a.fsys, name) })
	return f, f.err
}

func (f *asset) load(fsys fs.FS, name string) {
	if f.raw, f.err = fs.ReadFile(fsys, name); f.err != nil {
		return
	}
	sum := sha256.Sum256(f.raw)
	f.tag = hex.EncodeToString(sum[:12])
	f.ctype = mime.TypeByExtension(path.Ext(name))
	if f.ctype == "" {
		f.ctype = http.DetectContentType(f.raw)
	}
	if !compressible(f.ctype) {
		return
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(f.raw)
	zw.Close()
	if gz.Len() < len(f.raw) {
		f.gz = gz.Bytes()
	}
	var br bytes.Buffer
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	bw.Write(f.raw)
	bw.Close()
	if br.Len() < len(f.raw) {
		f.br = br.Bytes()
	}
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg") || strings.Contains(ctype, "xml")
}

// ServeHTTP serves the file at r.URL.Path ("dir/" means "dir/index.html"; a
// directory without a trailing slash is redirected to it; no listings).
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	if strings.HasSuffix(p, "/") {
		name = path.Join(name, "index.html")
	}
	if name == "" || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	if st, err := fs.Stat(a.fsys, name); err != nil {
		http.NotFound(w, r)
		return
	} else if st.IsDir() {
		if _, err := fs.Stat(a.fsys, path.Join(name, "index.html")); err != nil {
			http.NotFound(w, r)
			return
		}
		target := p + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	f, err := a.get(name)
	if err != nil {
		http.Error(w, "cannot read file", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	if name == "widget.js" || name == "widget-mail.js" || strings.HasPrefix(name, "widget-lang/") {
		// Loaded by <script src> from customers' sites: no same-origin resource policy.
		h.Set("Cache-Control", widgetCache)
	} else {
		h.Set("Cache-Control", pageCache)
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
	}
	h.Set("Content-Type", f.ctype)
	body, suffix := f.raw, ""
	if f.gz != nil || f.br != nil {
		h.Add("Vary", "Accept-Encoding")
		enc := pickEncoding(r.Header.Get("Accept-Encoding"), f.br != nil, f.gz != nil)
		switch enc {
		case "br":
			body, suffix = f.br, "-br"
		case "gzip":
			body, suffix = f.gz, "-gz"
		}
		if enc != "" {
			h.Set("Content-Encoding", enc)
		}
	}
	// A strong ETag names one representation: each encoding has its own (RFC 9110 §8.8.3).
	h.Set("ETag", `"`+f.tag+suffix+`"`)
	http.ServeContent(w, r, name, a.modtime, bytes.NewReader(body))
}

// pickEncoding chooses "br", "gzip" or "" (identity) from an Accept-Encoding
// header (RFC 9110 §12.5.3): the available coding with the highest q above 0,
// br before gzip on a tie; "*" stands for any coding not named.
func pickEncoding(header string, haveBr, haveGzip bool) string {
	q := map[string]float64{}
	star := -1.0
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(part, ";")
		coding := strings.ToLower(strings.TrimSpace(fields[0]))
		if coding == "" {
			continue
		}
		weight := 1.0
		for _, param := range fields[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					weight = f
				} else {
					weight = 0
				}
			}
		}
		if coding == "*" {
			star = weight
		} else {
			q[coding] = weight
		}
	}
	weight := func(c string) float64 {
		if w, ok := q[c]; ok {
			return w
		}
		if c == "gzip" {
			if w, ok := q["x-gzip"]; ok {
				return w
			}
		}
		return max(star, 0)
	}
	best, bestQ := "", 0.0
	if haveBr && weight("br") > bestQ {
		best, bestQ = "br", weight("br")
	}
	if haveGzip && weight("gzip") > bestQ {
		best = "gzip"
	}
	return best
}
