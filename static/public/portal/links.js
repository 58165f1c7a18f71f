// Clickable http(s) links in user text, built with DOM calls only (never HTML).
//
// A link starts at "http://" or "https://" (any case) that does not follow a
// letter or digit, and runs to white space, a quote, an angle bracket, a
// backtick or an invisible formatting character (bidi controls, zero-width
// characters: they could make the shown text differ from where the link goes).
// Trailing punctuation is left out, and so is a closing bracket with no opening
// one inside the link: "(see https://x.example/a)." links https://x.example/a,
// "https://en.wikipedia.org/wiki/Go_(game)" keeps its parenthesis. What is left
// must parse as an absolute http: or https: URL with a host, else it stays text.
// No other scheme is ever linked (javascript:, data:, file:, ...).

var START = /(^|[^0-9A-Za-z])(https?:\/\/)/gi;
var STOP = /[\s"'<>`\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/;
var TRAILING = '.,;:!?*~\u2026\u3001\u3002\uFF0C\uFF0E';
var CLOSERS = { ')': '(', ']': '[', '}': '{' };

function count(s, ch) {
  var n = 0;
  for (var i = 0; i < s.length; i++) if (s[i] === ch) n++;
  return n;
}

function trimEnd(u) {
  for (;;) {
    var c = u[u.length - 1];
    if (TRAILING.indexOf(c) >= 0) {
      u = u.slice(0, -1);
    } else if (CLOSERS[c] && count(u, CLOSERS[c]) < count(u, c)) {
      u = u.slice(0, -1);
    } else {
      return u;
    }
  }
}

// safeHref returns the normalised URL when s is an absolute http(s) URL with a host, else "".
export function safeHref(s) {
  var u;
  try { u = new URL(s); } catch (e) { return ''; }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname) return '';
  return u.href;
}

// splitLinks cuts text into parts: {text} and {text, href}. Joined, the parts'
// texts are exactly the input.
export function splitLinks(text) {
  var parts = [];
  var from = 0;
  var m;
  START.lastIndex = 0;
  while ((m = START.exec(text))) {
    var at = m.index + m[1].length;
    var rest = text.slice(at);
    var stop = rest.slice(m[2].length).search(STOP);
    var raw = trimEnd(stop < 0 ? rest : rest.slice(0, m[2].length + stop));
    var href = raw.length > m[2].length ? safeHref(raw) : '';
    if (!href) {
      START.lastIndex = at + m[2].length;
      continue;
    }
    if (at > from) parts.push({ text: text.slice(from, at) });
    parts.push({ text: raw, href: href });
    from = at + raw.length;
    START.lastIndex = from;
  }
  if (from < text.length) parts.push({ text: text.slice(from) });
  return parts;
}

// link makes an <a> that opens href in a new tab without giving it this page.
export function link(text, href) {
  var a = document.createElement('a');
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.referrerPolicy = 'no-referrer';
  a.title = href;
  a.textContent = text;
  return a;
}

// appendText appends text to parent as text nodes and links.
export function appendText(parent, text) {
  splitLinks(String(text)).forEach(function (p) {
    parent.appendChild(p.href ? link(p.text, p.href) : document.createTextNode(p.text));
  });
}
