package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/andybalholm/brotli"
)

func TestPickEncoding(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   string
	}{
		{"", ""},
		{"gzip, deflate, br, zstd", "br"},
		{"gzip", "gzip"},
		{"x-gzip", "gzip"},
		{"br;q=0, gzip", "gzip"},
		{"gzip;q=0.5, br;q=0.4", "gzip"},
		{"gzip;q=0, br;q=0", ""},
		{"identity", ""},
		{"*", "br"},
		{"*;q=0", ""},
		{"br;q=0, *", "gzip"},
		{"BR ; Q=1", "br"},
		{"gzip;q=nonsense, br;q=0", ""},
		{" , ,gzip", "gzip"},
	} {
		if got := pickEncoding(tc.header, true, true); got != tc.want {
			t.Errorf("pickEncoding(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
	if got := pickEncoding("br, gzip", false, true); got != "gzip" {
		t.Errorf("without a brotli copy: %q, want gzip", got)
	}
}

// Every compressible file goes out in the encoding the client takes, each
// representation with its own strong validator; 304s for both validators.
func TestAssetsEncodingsAndValidators(t *testing.T) {
	js := []byte(strings.Repeat("console.log('chatd widget');\n", 200))
	fsys := fstest.MapFS{
		"widget.js":         {Data: js},
		"widget-lang/de.js": {Data: []byte(strings.Repeat("document.currentScript.chatd = {};\n", 20))},
		"index.html":        {Data: []byte("<h1>demo</h1>")},
		"portal/index.html": {Data: []byte(strings.Repeat("<p>portal</p>", 50))},
		"img/dot.png":       {Data: []byte("\x89PNG\r\n\x1a\n0000")},
	}
	ts := httptest.NewServer(newAssets(fsys))
	t.Cleanup(ts.Close)
	get := func(path string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Accept-Encoding", "identity") // the transport would add gzip otherwise
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	decode := map[string]func([]byte) []byte{
		"": func(b []byte) []byte { return b },
		"gzip": func(b []byte) []byte {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(zr)
			return out
		},
		"br": func(b []byte) []byte { out, _ := io.ReadAll(brotli.NewReader(bytes.NewReader(b))); return out },
	}
	tags := map[string]string{}
	for _, tc := range []struct{ accept, enc string }{{"identity", ""}, {"gzip", "gzip"}, {"br, gzip", "br"}} {
		res, body := get("/widget.js", "Accept-Encoding", tc.accept)
		if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != tc.enc {
			t.Fatalf("%s: %d, Content-Encoding %q, want %q", tc.accept, res.StatusCode, res.Header.Get("Content-Encoding"), tc.enc)
		}
		if !bytes.Equal(decode[tc.enc](body), js) {
			t.Fatalf("%s: the decoded body differs from the file", tc.accept)
		}
		if tc.enc != "" && len(body) >= len(js)/4 {
			t.Errorf("%s: %d bytes for a %d byte file", tc.enc, len(body), len(js))
		}
		if !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") || res.Header.Get("Cache-Control") != widgetCache ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") || res.Header.Get("Last-Modified") == "" {
			t.Errorf("%s: headers %v", tc.accept, res.Header)
		}
		etag := res.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") {
			t.Fatalf("%s: ETag %q is not strong", tc.accept, etag)
		}
		for enc, other := range tags {
			if other == etag {
				t.Errorf("encodings %q and %q share the ETag %s", enc, tc.enc, etag)
			}
		}
		tags[tc.enc] = etag
		res, body = get("/widget.js", "Accept-Encoding", tc.accept, "If-None-Match", etag)
		if res.StatusCode != http.StatusNotModified || len(body) != 0 || res.Header.Get("ETag") != etag {
			t.Errorf("%s: If-None-Match = %d with %d bytes, want an empty 304", tc.accept, res.StatusCode, len(body))
		}
		res, _ = get("/widget.js", "Accept-Encoding", tc.accept, "If-None-Match", `"stale"`)
		if res.StatusCode != 200 {
			t.Errorf("%s: a stale ETag = %d, want 200", tc.accept, res.StatusCode)
		}
		res, _ = get("/widget.js", "Accept-Encoding", tc.accept, "If-Modified-Since", time.Now().UTC().Add(time.Hour).Format(http.TimeFormat))
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("%s: If-Modified-Since = %d, want 304", tc.accept, res.StatusCode)
		}
	}

	for _, tc := range []struct {
		path, enc, cache string
		code             int
	}{
		{"/widget-lang/de.js", "br", widgetCache, 200},
		{"/portal/", "br", pageCache, 200},
		{"/", "", pageCache, 200}, // smaller than its compressed copies: sent as is
		{"/img/dot.png", "", pageCache, 200},
		{"/portal", "", "", http.StatusMovedPermanently},
		{"/img/", "", "", 404},
		{"/nope.js", "", "", 404},
		{"/../widget.js", "br", widgetCache, 200},
	} {
		res, _ := get(tc.path, "Accept-Encoding", "br, gzip")
		if res.StatusCode != tc.code || res.Header.Get("Content-Encoding") != tc.enc || (tc.cache != "" && res.Header.Get("Cache-Control") != tc.cache) {
			t.Errorf("%s = %d, Content-Encoding %q, Cache-Control %q; want %d, %q, %q", tc.path, res.StatusCode,
				res.Header.Get("Content-Encoding"), res.Header.Get("Cache-Control"), tc.code, tc.enc, tc.cache)
		}
	}
	res, _ := get("/widget.js", "Accept-Encoding", "br", "Range", "bytes=0-9")
	if res.StatusCode != http.StatusPartialContent {
		t.Errorf("a range of widget.js = %d, want 206", res.StatusCode)
	}
}
