// What a visitor left to be reached by, shown in the conversation's header:
// the e-mail address it gave (client:email, admin:list's "email",
// admin:client), and the site's verified user id (identity). Both are
// optional: a server without them sends neither and the line stays hidden.
// attributesLine shows what the site set with chatd('setAttributes', ...)
// (admin:list's "attributes", admin:client: all of them each time).
// Rendered with textContent only.

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

// contactLine fills the element line for visitor v.
export function contactLine(line, v) {
  var parts = [];
  if (v.email) {
    var mail = el('span', 'contact-email', v.email);
    mail.dir = 'ltr';
    mail.title = 'E-mail address the visitor left: replies it does not read are mailed to it';
    parts.push(el('span', 'page-label', 'E-mail: '), mail);
  }
  if (v.identity) {
    if (parts.length) parts.push(el('span', 'page-label', ' ·'));
    var id = el('span', 'contact-identity', v.identity);
    id.dir = 'auto';
    id.title = 'User id verified by the site (identity_hash)';
    parts.push(el('span', 'page-label', 'User: '), id);
  }
  line.replaceChildren.apply(line, parts);
  line.hidden = !parts.length;
}

// Attributes are the site's text: keys and values are clipped for the line
// (the whole value is in the tooltip); the server allows 32 of them.
var ATTR_KEY = 40, ATTR_VALUE = 80, ATTR_MAX = 32;

function clip(s, n) {
  var cps = Array.from(s);
  return cps.length > n ? cps.slice(0, n - 1).join('') + '…' : s;
}

// attributesLine fills the element line with visitor v's attributes, sorted
// by key: "plan: pro · order: A-1009".
export function attributesLine(line, v) {
  var a = v.attributes || {};
  var keys = Object.keys(a).filter(function (k) { return typeof a[k] === 'string' && a[k] !== ''; }).sort().slice(0, ATTR_MAX);
  var parts = [];
  keys.forEach(function (k) {
    var pair = el('span', 'attr');
    pair.dir = 'auto';
    pair.title = k + ': ' + a[k];
    pair.append(el('span', 'attr-key', clip(k, ATTR_KEY) + ': '), el('span', 'attr-value', clip(a[k], ATTR_VALUE)));
    parts.push(pair);
  });
  line.replaceChildren.apply(line, parts);
  line.hidden = !parts.length;
}
