// The inbox settings (GET/PUT /api/settings): auto-assignment, its limit,
// typing previews and retention. Admins change them here; agents see them
// read-only. A setting the operator fixed at start (a flag or CHATD_*
// variable) is locked: its control is disabled and the reason shown. Every
// change by anyone arrives as admin:settings and is shown at once. All text
// goes in through textContent.
import { S } from './state.js';
import { on } from './inbox.js';
import { api } from './api.js';

function $(id) { return document.getElementById(id); }

var dialog = $('inbox-settings');
// Each setting: its control, whether it is a number, and what it says when not locked.
var FIELDS = {
  auto_assign: { id: 'set-auto-assign', number: false, note: 'New and reopened conversations go to online agents in turn.' },
  assign_limit: { id: 'set-assign-limit', number: true, note: 'Most open conversations an agent is given automatically (0 = no limit).' },
  typing_preview: { id: 'set-typing-preview', number: false, note: 'Agents see the text a visitor is typing before it is sent (never stored).' },
  retention_days: { id: 'set-retention-days', number: true, note: 'Visitors without activity for this many days are deleted with their conversations (0 = keep forever).' }
};
var current = null; // the last settings the server sent

function isAdmin() { return S.role === 'admin'; }

// showError shows text (none: ''); either way the saved line goes: each open, save or error
// starts from no status, so a line never outlives what it reported.
function showError(text) {
  $('inbox-settings-saved').hidden = true;
  $('inbox-settings-error').textContent = text;
  $('inbox-settings-error').hidden = !text;
}

// render shows settings v: values, locks with their reasons, and whether this agent may change them.
function render(v) {
  if (!v || typeof v !== 'object') return;
  current = v;
  var locked = Array.isArray(v.locked) ? v.locked : [];
  var reasons = v.reasons && typeof v.reasons === 'object' ? v.reasons : {};
  var admin = isAdmin();
  Object.keys(FIELDS).forEach(function (name) {
    var f = FIELDS[name];
    var input = $(f.id);
    if (f.number) input.value = typeof v[name] === 'number' ? String(v[name]) : '';
    else input.checked = v[name] === true;
    var isLocked = locked.indexOf(name) >= 0;
    input.disabled = isLocked || !admin;
    var row = input.closest('.inbox-setting');
    row.classList.toggle('locked', isLocked);
    var note = $(f.id + '-note');
    note.textContent = isLocked ? 'Locked: ' + String(reasons[name] || 'set at start') : f.note;
  });
  $('inbox-settings-save').hidden = !admin;
  $('inbox-settings-save').disabled = false;
  $('inbox-settings-readonly').hidden = admin;
}

function load() {
  showError('');
  // Nothing can be changed until the values in force are shown: a change
  // made before would be overwritten by them.
  Object.keys(FIELDS).forEach(function (name) { $(FIELDS[name].id).disabled = true; });
  $('inbox-settings-save').disabled = true;
  api('GET', '/api/settings').then(render, function (e) { showError(e.message); });
}

// changes returns the settings this admin may change, as the form holds them.
function changes() {
  var out = {};
  var locked = current && Array.isArray(current.locked) ? current.locked : [];
  Object.keys(FIELDS).forEach(function (name) {
    if (locked.indexOf(name) >= 0) return;
    var f = FIELDS[name];
    var input = $(f.id);
    if (!f.number) {
      out[name] = input.checked;
      return;
    }
    var s = input.value.trim(), n = Number(s);
    // A number, not text: white space around it is not part of it. An integer (negative or too
    // large too) is sent as a number, so the server's range message shows; anything else
    // (empty, a fraction, beyond 2^53) exactly as typed, for the server to explain.
    out[name] = s !== '' && Number.isSafeInteger(n) ? n : input.value;
  });
  return out;
}

$('inbox-settings-open').addEventListener('click', function () {
  load();
  if (typeof dialog.showModal === 'function') dialog.showModal();
  else dialog.setAttribute('open', '');
});
$('inbox-settings-close').addEventListener('click', function () {
  if (typeof dialog.close === 'function') dialog.close();
  else dialog.removeAttribute('open');
});
$('inbox-settings-save').addEventListener('click', function () {
  var body = changes();
  showError('');
  if (!Object.keys(body).length) {
    showError('Every setting is locked by the server\'s start options.');
    return;
  }
  var btn = this;
  btn.disabled = true;
  api('PUT', '/api/settings', body, 'Only agents with the admin role can change settings.').then(function (v) {
    render(v);
    $('inbox-settings-saved').hidden = false;
  }, function (e) { showError(e.message); }).then(function () { btn.disabled = false; });
});
Object.keys(FIELDS).forEach(function (name) {
  $(FIELDS[name].id).addEventListener('input', function () { $('inbox-settings-saved').hidden = true; });
});
// Changed by anyone, on any node: shown at once while the dialog is open.
on('admin:settings', function (v) {
  if (dialog.open) render(v);
  else current = v;
});
