package notify

import (
	"net/url"
	"strings"
)

// PageLink is the one rule for a visitor's page URL leaving chatd by any
// channel (webhooks, push, mails): it returns raw reduced to scheme, host and
// path, or "" when it is not an absolute http(s) URL. The query, the fragment
// and any user info go: a page's URL can carry the site's own secrets (reset
// links, session ids, "?session=..."), and a link chatd sends must never be
// what grants access.
func PageLink(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	out := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return out.String()
}

// ScrubMeta returns a copy of a visitor's meta for an outgoing channel:
// every value that is an http(s) URL (meta.page, a referrer, anything the
// site put there) goes through PageLink; other values are kept as sent.
// A nil map stays nil.
func ScrubMeta(meta map[string]string) map[string]string {
	if meta == nil {
		return nil
	}
	out := make(map[string]string, len(meta))
	for k, v := range meta {
		if looksLikeURL(v) {
			v = PageLink(v)
		}
		out[k] = v
	}
	return out
}

// looksLikeURL: an http(s) URL, whatever its case or leading spaces, or one
// that does not parse (then PageLink drops it rather than pass a secret on).
func looksLikeURL(v string) bool {
	s := strings.ToLower(strings.TrimSpace(v))
	return strings.HasPrefix(s, "http:") || strings.HasPrefix(s, "https:") || strings.HasPrefix(s, "//")
}
