// Canned replies: typing "/" and a shortcut's first letters in the reply box
// offers the matching replies; Enter, Tab or a click puts the reply in the
// box with its placeholders filled in ({{name}}, {{email}}, {{agent}}), for
// the agent to read before sending. The dialog lists, adds, edits and
// deletes them (PUT/DELETE /api/canned: the admin role). All text goes in
// through textContent and form values.
import { S } from './state.js';
import { I, on } from './inbox.js';
import { displayName } from './view.js';
import { api as apiJSON } from './api.js';

function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

var box = $('reply-text');
var pop = $('canned-pop');
var shown = []; // the replies offered
var chosen = 0;
var token = null; // {start, end} of the "/word" being completed

// expand fills a canned reply's placeholders for the open conversation. A
// placeholder with no value (no e-mail address left) becomes nothing; the
// names of those are added to empty, if given, so the agent can be warned.
export function expand(text, empty) {
  var v = S.selected && S.visitors.get(S.selected);
  var contact = S.selected && I.contacts.get(S.selected);
  var values = {
    name: v ? (v.name || displayName(v)) : '',
    email: contact && contact.email ? contact.email : '',
    agent: S.visitorDisplay || 'Support' // the name visitors see (session.js)
  };
  return text.replace(/\{\{\s*(name|email|agent)\s*\}\}/g, function (_, k) {
    if (!values[k] && empty && empty.indexOf(k) < 0) empty.push(k);
    return values[k];
  });
}

// The warning under the reply box after inserting a reply with an empty
// placeholder: shown until the box is emptied (sent or cleared).
var warn = el('p', 'canned-warn small');
warn.id = 'canned-warn';
warn.setAttribute('role', 'status');
warn.hidden = true;
box.parentNode.insertBefore(warn, box.nextSibling);
var warned = null; // the inserted text the warning is about, while shown
function warnEmpty(empty, text) {
  warned = empty.length ? text : null;
  warn.textContent = empty.length ? 'Left empty: ' + empty.map(function (k) { return '{{' + k + '}}'; }).join(', ') +
    ' (not known for this visitor). Read the reply before sending.' : '';
  warn.hidden = !empty.length;
}
// clearWarn hides the warning once the box no longer holds the inserted text
// (sent, cleared, or another conversation's draft shown).
function clearWarn() {
  if (warned !== null && (warned ? box.value.indexOf(warned) < 0 : !box.value)) warnEmpty([], '');
}

// slashWord finds the "/word" just before the caret, at the start or after white space.
function slashWord() {
  var pos = box.selectionStart;
  if (pos !== box.selectionEnd) return null;
  var before = box.value.slice(0, pos);
  var m = /(^|\s)\/([^\s/]{0,32})$/.exec(before);
  if (!m) return null;
  return { start: pos - m[2].length - 1, end: pos, word: m[2].toLowerCase() };
}

function offer() {
  token = slashWord();
  shown = token ? I.canned.filter(function (c) { return c.shortcut.indexOf(token.word) === 0; }).slice(0, 8) : [];
  if (!shown.length) {
    hide();
    return;
  }
  chosen = Math.min(chosen, shown.length - 1);
  pop.replaceChildren.apply(pop, shown.map(function (c, i) {
    var li = el('li', 'canned-item' + (i === chosen ? ' selected' : ''));
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', String(i === chosen));
    li.setAttribute('data-shortcut', c.shortcut);
    li.appendChild(el('span', 'canned-sc', '/' + c.shortcut));
    var t = el('span', 'canned-preview', c.text);
    t.dir = 'auto';
    li.appendChild(t);
    li.addEventListener('mousedown', function (ev) {
      ev.preventDefault(); // keep the focus in the box
      chosen = i;
      insert();
    });
    return li;
  }));
  pop.hidden = false;
}
function hide() {
  pop.hidden = true;
  pop.replaceChildren();
  shown = [];
  chosen = 0;
}
function insert() {
  var c = shown[chosen];
  if (!c || !token) return;
  var empty = [];
  var text = expand(c.text, empty);
  warnEmpty(empty, text);
  box.value = box.value.slice(0, token.start) + text + box.value.slice(token.end);
  var at = token.start + text.length;
  box.setSelectionRange(at, at);
  hide();
  box.dispatchEvent(new Event('input', { bubbles: true })); // the draft and typing follow
  box.focus();
}

box.addEventListener('input', offer);
box.addEventListener('input', clearWarn);
box.addEventListener('keyup', clearWarn); // Enter sends and empties the box without an input event
box.addEventListener('focus', clearWarn);
$('reply').addEventListener('submit', function () { setTimeout(clearWarn, 0); });
document.addEventListener('click', function () { setTimeout(clearWarn, 0); }); // another conversation opened
box.addEventListener('click', offer);
box.addEventListener('blur', function () { setTimeout(hide, 150); });
// Registered before portal.js's Enter-to-send: with the list open, keys drive the list.
box.addEventListener('keydown', function (ev) {
  if (pop.hidden || !shown.length) return;
  var k = ev.key;
  if (k === 'ArrowDown' || k === 'ArrowUp') {
    chosen = (chosen + (k === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
    offer();
  } else if ((k === 'Enter' && !ev.shiftKey && !ev.isComposing) || k === 'Tab') {
    insert();
  } else if (k === 'Escape') {
    hide();
  } else {
    return;
  }
  ev.preventDefault();
  ev.stopImmediatePropagation();
});

// ---- management dialog ----
var dialog = $('canned-dialog');

function api(method, path, body) {
  return apiJSON(method, path, body, 'Only agents with the admin role can change canned replies.');
}
function showError(text) {
  $('canned-error').textContent = text;
  $('canned-error').hidden = !text;
}
function renderList() {
  var list = $('canned-list');
  if (!I.canned.length) {
    list.replaceChildren(el('li', 'muted small', 'No canned replies yet.'));
    return;
  }
  list.replaceChildren.apply(list, I.canned.map(function (c) {
    var li = el('li', 'canned-row');
    li.setAttribute('data-shortcut', c.shortcut);
    li.appendChild(el('span', 'canned-sc', '/' + c.shortcut));
    var t = el('span', 'canned-preview', c.text);
    t.dir = 'auto';
    li.appendChild(t);
    var edit = el('button', 'ghost canned-edit-one', 'Edit');
    edit.type = 'button';
    edit.addEventListener('click', function () {
      $('canned-shortcut').value = c.shortcut;
      $('canned-text').value = c.text;
      $('canned-text').focus();
    });
    var del = el('button', 'ghost canned-delete', 'Delete');
    del.type = 'button';
    del.addEventListener('click', function () {
      showError('');
      api('DELETE', '/api/canned/' + encodeURIComponent(c.shortcut)).catch(function (e) { showError(e.message); });
    });
    li.appendChild(edit);
    li.appendChild(del);
    return li;
  }));
}
$('canned-open').addEventListener('click', function () {
  showError('');
  renderList();
  if (typeof dialog.showModal === 'function') dialog.showModal();
  else dialog.setAttribute('open', '');
  $('canned-shortcut').focus();
});
$('canned-close').addEventListener('click', function () { dialog.close(); });
$('canned-save').addEventListener('click', function () {
  // The shortcut is an identifier (typed after "/"): white space around it is
  // trimmed. The text goes exactly as typed; only a blank one is refused.
  var sc = $('canned-shortcut').value.trim();
  var text = $('canned-text').value;
  showError('');
  if (!sc || !text.trim()) {
    showError('A shortcut and a text are needed.');
    return;
  }
  $('canned-save').disabled = true;
  api('PUT', '/api/canned/' + encodeURIComponent(sc), { text: text }).then(function () {
    $('canned-shortcut').value = '';
    $('canned-text').value = '';
  }).catch(function (e) {
    showError(e.message);
  }).then(function () { $('canned-save').disabled = false; });
});
on('admin:canned', function () {
  if (dialog.open) renderList();
  if (!pop.hidden) offer();
});
