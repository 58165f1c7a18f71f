// Managing agents (admin role): the admins file on the server, through
// /api/agents; and turning one's own two-factor login on or off. All text
// goes in through textContent and form values.
//
// An agent without the admin role sees its colleagues here too (who they
// are, the name each is shown as, who is online: for assigning), from the
// socket's admin:agents, which every agent gets; the portal never asks
// GET /api/agents, which stays closed to that role (no 403 in normal use).
import { S } from './state.js';
import { I, on } from './inbox.js';
import { loadSession } from './session.js';

function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
// info is a row's second field: the display name (an agent's text, isolated
// in a <bdi> so a right-to-left name never reorders what follows it), then rest.
function info(display, rest) {
  var e = el('span', 'canned-preview');
  if (display) {
    e.appendChild(el('bdi', '', display));
    e.appendChild(document.createTextNode(' · '));
  }
  e.appendChild(document.createTextNode(rest));
  return e;
}

var dialog = $('agents-dialog');

function api(method, path, body) {
  return fetch(path, {
    method: method,
    headers: { Authorization: 'Bearer ' + S.token, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined
  }).then(function (res) {
    if (res.status === 204) return null;
    return res.json().catch(function () { return {}; }).then(function (b) {
      if (res.ok) return b;
      var otp = b && b.otp; // a current two-factor code is needed (server/second_factor.go)
      var err = new Error(otp ? b.error : res.status === 403 ? 'Only agents with the admin role can manage agents.' : (b && b.error) || 'HTTP ' + res.status);
      err.otp = otp;
      throw err;
    });
  });
}
function showError(text) {
  $('agents-error').textContent = text;
  $('agents-error').hidden = !text;
}
function showOTP(r) {
  var p = $('agents-otp');
  if (!r || !r.secret) {
    p.hidden = true;
    return;
  }
  p.replaceChildren(
    el('span', '', 'Two-factor login is on for ' + r.name + '. Add this key to an authenticator app now (it is not shown again): '),
    el('code', 'otp-secret', r.secret),
    el('span', 'muted small', ' · ' + r.otpauth));
  p.hidden = false;
}
// colleagues lists the agents as admin:agents tells them (no API call).
function colleagues() {
  var list = $('agents-list');
  $('agents-add').hidden = true;
  $('agent-save').hidden = true;
  if (!I.agents.length) {
    list.replaceChildren(el('li', 'muted small', 'The list of agents comes with the connection; try again once connected.'));
    return;
  }
  list.replaceChildren.apply(list, I.agents.map(function (a) {
    var li = el('li', 'canned-row agent-row');
    li.setAttribute('data-agent', a.name);
    var who = el('span', 'canned-sc', a.name);
    who.dir = 'auto';
    li.appendChild(who);
    var state = a.connected ? (a.status === 'away' ? 'away' : 'online') : 'offline';
    li.appendChild(info(a.display !== a.name && a.display, state + (a.name === S.adminName ? ' · you' : '')));
    return li;
  }));
}
on('admin:agents', function () {
  if (dialog.open && S.role !== 'admin') colleagues();
});

function load() {
  showError('');
  if (S.role !== 'admin') {
    colleagues();
    return;
  }
  var list = $('agents-list');
  api('GET', '/api/agents').then(function (agents) {
    $('agents-add').hidden = false;
    $('agent-save').hidden = false;
    list.replaceChildren.apply(list, agents.map(function (a) {
      var li = el('li', 'canned-row agent-row');
      li.setAttribute('data-agent', a.name);
      var who = el('span', 'canned-sc', a.name);
      who.dir = 'auto';
      li.appendChild(who);
      li.appendChild(info(a.display, a.role + (a.totp ? ' · two-factor' : '')));
      var edit = el('button', 'ghost', 'Edit');
      edit.type = 'button';
      edit.addEventListener('click', function () {
        $('agent-name').value = a.name;
        $('agent-display').value = a.display || '';
        $('agent-role').value = a.role;
        $('agent-password').value = '';
        $('agent-password').focus();
      });
      var del = el('button', 'ghost danger agent-delete', 'Remove');
      del.type = 'button';
      del.addEventListener('click', function () {
        if (!window.confirm('Remove ' + a.name + '? Their sessions end at once.')) return;
        api('DELETE', '/api/agents/' + encodeURIComponent(a.name)).then(load, function (e) { showError(e.message); });
      });
      li.appendChild(edit);
      li.appendChild(del);
      return li;
    }));
  }, function (e) {
    // Not an admin: only one's own two-factor login can be changed here.
    $('agents-add').hidden = true;
    $('agent-save').hidden = true;
    list.replaceChildren(el('li', 'muted small', e.message));
  });
}
$('agents-open').addEventListener('click', function () {
  showOTP(null);
  loadSession().then(load); // the role may have changed since sign-in
  if (typeof dialog.showModal === 'function') dialog.showModal();
  else dialog.setAttribute('open', '');
});
$('agents-close').addEventListener('click', function () { dialog.close(); });
$('agent-save').addEventListener('click', function () {
  // The login is an identifier (a-z, digits and . _ -): white space around it is
  // trimmed. The display name is text people read and goes as typed: the server
  // refuses white space around it with a message saying so, never rewrites it.
  var name = $('agent-name').value.trim();
  var body = { role: $('agent-role').value, display: $('agent-display').value };
  if ($('agent-password').value) body.password = $('agent-password').value;
  showError('');
  if (!name) {
    showError('A login is needed.');
    return;
  }
  api('PUT', '/api/agents/' + encodeURIComponent(name), body).then(function () {
    $('agent-password').value = '';
    load();
  }, function (e) { showError(e.message); });
});
$('my-otp').addEventListener('click', function () {
  showError('');
  var on = window.confirm('Turn two-factor login on for ' + S.adminName + '? (Cancel turns it off.)');
  setMyOTP(on, '');
});
// setMyOTP turns the agent's own two-factor login on (a new key) or off; when
// it is on already, the server asks for a current code first.
function setMyOTP(on, code) {
  var body = { totp: on ? 'enable' : 'disable' };
  if (code) body.otp = code;
  api('PUT', '/api/agents/' + encodeURIComponent(S.adminName), body).then(function (r) {
    showOTP(r);
    load();
  }, function (e) {
    var again = e.otp && window.prompt((e.otp === 'invalid' ? 'That code was not accepted. ' : '') + 'Enter the current code from your authenticator app:');
    if (again) setMyOTP(on, again.trim());
    else showError(e.message);
  });
}
