// Who is signed in, as GET /api/session says: the role (controls that need
// the admin role are shown only with it: body.role-admin), the name other
// agents see (display name, or the login) and the name visitors see (the
// display name, or "Support": the {{agent}} placeholder of canned replies).
import { S } from './state.js';

export function loadSession() {
  document.body.classList.remove('role-admin');
  var token = S.token;
  return fetch('/api/session', { headers: { Authorization: 'Bearer ' + token } }).then(function (res) {
    return res.ok ? res.json() : null;
  }).then(function (b) {
    if (!b || token !== S.token) return;
    S.role = b.role;
    S.display = typeof b.display === 'string' ? b.display : S.adminName;
    S.visitorDisplay = typeof b.visitor_display === 'string' ? b.visitor_display : 'Support';
    document.body.classList.toggle('role-admin', b.role === 'admin');
  }).catch(function () { /* offline: the controls stay hidden; the server decides anyway */ });
}
