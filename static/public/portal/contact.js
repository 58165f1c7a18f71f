// What a visitor left to be reached by, shown in the conversation's header:
// the e-mail address it gave (client:email, admin:list's "email",
// admin:client), and the site's verified user id (identity). Both are
// optional: a server without them sends neither and the line stays hidden.
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
