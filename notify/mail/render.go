package mail

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/notify"
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

// stamp formats t for a mail in zone (nil: UTC), naming the zone so the
// reader never has to guess: "2026-11-22 11:04 Europe/Paris",
// "2026-11-22 10:04 UTC".
func stamp(t time.Time, zone *time.Location) string {
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone).Format("2006-01-02 15:04 ") + zone.String()
}

// safeLink is notify.PageLink, the one rule for page URLs on every channel:
// scheme, host and path of an absolute http(s) URL, else "".
func safeLink(page string) string { return notify.PageLink(page) }

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
