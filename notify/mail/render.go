package mail

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// previewBytes bounds each message text quoted in an alert.
const previewBytes = 300

// clip cuts s to at most n bytes at a rune boundary, marking the cut with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// quote writes text as an indented block, each line prefixed with prefix;
// the text itself is left as written (it is plain text, never markup).
func quote(b *strings.Builder, prefix, text string) {
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		b.WriteString(prefix)
		b.WriteString(line)
		b.WriteByte('\n')
	}
}

// stamp formats t for a mail: "2026-11-22 10:04 UTC".
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// safeLink returns page reduced to scheme, host and path, or "" when it is
// not an absolute http(s) URL. The query and fragment go: a page's URL can
// carry the site's own secrets (reset links, session ids), and chatd's link
// must never be what grants access.
func safeLink(page string) string {
	u, err := url.Parse(strings.TrimSpace(page))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	out := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return out.String()
}

// portalLink is the portal URL with the conversation in its fragment
// ("#visitor=<id>"); the portal still asks for a login.
func portalLink(portal, visitor string) string {
	base := safeLink(portal)
	if base == "" {
		return ""
	}
	return base + "#visitor=" + url.QueryEscape(visitor)
}

// subjectPrefix is "[Site] " or "".
func subjectPrefix(site string) string {
	if site == "" {
		return ""
	}
	return "[" + clip(oneLine(site), 64) + "] "
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
