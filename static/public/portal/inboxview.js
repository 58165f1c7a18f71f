// The inbox in the view: filter tabs with counts, a conversation's state and
// assignee in its row and header, who else views or types, notes, "Seen"
// under the reply the visitor has seen, and the reply box's Reply / Note
// switch. User text goes in through textContent only.
import { S } from './state.js';
import { extendView, convVisible, renderSoon, displayName } from './view.js';
import { renderContext, toggleContext } from './context.js';
import { I, FILTERS, matches, setFilter, state, typingOf, resolve, reopen, snooze, assign, visible, pendingJump, setMode, typed } from './inbox.js';

function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
function button(cls, text, title, fn) {
  var b = el('button', cls, text);
  b.type = 'button';
  if (title) b.title = title;
  b.addEventListener('click', fn);
  return b;
}

var LABELS = { mine: 'Mine', unassigned: 'Unassigned', open: 'Open', resolved: 'Resolved', snoozed: 'Snoozed', all: 'All' };

// agentName is how the portal names another agent: the display name the
// server tells (admin:agents), else the login.
function agentName(login) {
  if (login === S.adminName) return 'you';
  for (var i = 0; i < I.agents.length; i++) {
    var a = I.agents[i];
    if (a.name === login && a.display && a.display !== login) return a.display + ' (' + login + ')';
  }
  return login;
}
function others(list) {
  return list.filter(function (a) { return a !== S.adminName; });
}
function names(list) {
  return list.map(agentName).join(', ');
}

// ---- filter tabs ----
var tabs = null;
function renderFilters() {
  var nav = $('filters');
  if (!tabs) {
    tabs = {};
    FILTERS.forEach(function (f) {
      var b = button('filter', '', f === 'mine' ? 'Show my conversations' : 'Show ' + LABELS[f].toLowerCase() + ' conversations', function () { setFilter(f); });
      b.setAttribute('data-filter', f);
      b.appendChild(el('span', 'filter-label', LABELS[f]));
      b.appendChild(el('span', 'filter-count'));
      nav.appendChild(b);
      tabs[f] = b;
    });
  }
  // The empty list says what is empty: the whole inbox, or only this view.
  var empty = $('no-visitors');
  if (!empty.dataset.all) empty.dataset.all = empty.textContent;
  empty.textContent = I.filter === 'all' ? empty.dataset.all : 'No conversations in this view.';
  FILTERS.forEach(function (f) {
    var b = tabs[f];
    b.classList.toggle('selected', I.filter === f);
    b.setAttribute('aria-pressed', I.filter === f ? 'true' : 'false');
    var n = I.counts && typeof I.counts[f] === 'number' ? I.counts[f] : null;
    b.lastChild.textContent = n == null ? '' : n > 9999 ? Math.floor(n / 1000) + 'k' : String(n);
  });
}

// ---- list rows ----
function row(b, v, body) {
  var c = state(v.id);
  var t = typingOf(v.id);
  if (t.visitor) {
    var prev = body.querySelector('.visitor-preview');
    if (prev) {
      prev.textContent = t.preview ? 'typing: ' + t.preview : 'typing…';
      prev.classList.add('typing');
    }
  }
  var tags = el('span', 'visitor-tags');
  if (c && c.status && c.status !== 'open') tags.appendChild(el('span', 'tag status-' + c.status, c.status === 'resolved' ? 'Resolved' : 'Snoozed'));
  if (c && c.assignee) {
    var who = el('span', 'tag assignee' + (c.assignee === S.adminName ? ' mine' : ''), c.assignee === S.adminName ? 'You' : c.assignee);
    who.title = 'Assigned to ' + agentName(c.assignee);
    who.dir = 'auto';
    tags.appendChild(who);
  } else if (c && c.status === 'open') {
    tags.appendChild(el('span', 'tag unassigned', 'Unassigned'));
  }
  var viewers = others(I.viewers.get(v.id) || []);
  if (viewers.length) {
    var eye = el('span', 'tag viewers', viewers.length + ' viewing');
    eye.title = 'Viewing now: ' + names(viewers);
    tags.appendChild(eye);
  }
  if (tags.children.length) body.appendChild(tags);
  b.setAttribute('data-status', c && c.status ? c.status : '');
}

// ---- conversation header ----
function snoozeChoices() {
  var now = new Date();
  var tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9, 0, 0);
  var monday = new Date(now.getFullYear(), now.getMonth(), now.getDate() + ((8 - now.getDay()) % 7 || 7), 9, 0, 0);
  return [
    ['1 hour', new Date(now.getTime() + 3600e3)],
    ['4 hours', new Date(now.getTime() + 4 * 3600e3)],
    ['Tomorrow 9:00', tomorrow],
    ['Next Monday 9:00', monday]
  ];
}
function agentsToOffer(c) {
  var seen = new Set(); // logins: a plain object would take "constructor" as seen
  var out = [];
  function add(login) {
    if (login && !seen.has(login)) {
      seen.add(login);
      out.push(login);
    }
  }
  add(S.adminName);
  I.agents.forEach(function (a) { add(a.name); });
  if (c && c.assignee) add(c.assignee);
  I.viewers.forEach(function (list) { list.forEach(add); });
  return out;
}
function conv(v) {
  var tools = $('conv-tools');
  var id = v.id;
  var c = state(id) || {};
  var status = c.status || '';
  var parts = [];
  var pill = el('span', 'state-pill status-' + (status || 'none'), status ? status.charAt(0).toUpperCase() + status.slice(1) : 'New');
  if (status === 'snoozed' && c.snooze_until) pill.title = 'Snoozed until ' + new Date(c.snooze_until).toLocaleString();
  parts.push(pill);

  var sel = el('select', 'assign');
  sel.title = 'Assign this conversation';
  sel.setAttribute('aria-label', 'Assignee');
  sel.appendChild(new Option('Unassigned', ''));
  agentsToOffer(c).forEach(function (login) { sel.appendChild(new Option(login === S.adminName ? 'Me (' + login + ')' : agentName(login), login)); });
  sel.value = c.assignee || '';
  sel.addEventListener('change', function () { assign(id, sel.value); });
  parts.push(sel);
  if (c.assignee !== S.adminName) parts.push(button('ghost take', 'Take', 'Assign this conversation to yourself', function () { assign(id, S.adminName); }));

  if (status === 'resolved' || status === 'snoozed') parts.push(button('ghost reopen', 'Reopen', 'Open this conversation again', function () { reopen(id); }));
  else parts.push(button('primary resolve', 'Resolve', 'Mark this conversation resolved', function () { resolve(id); }));
  var sz = el('select', 'snooze');
  sz.title = 'Snooze until…';
  sz.setAttribute('aria-label', 'Snooze');
  sz.appendChild(new Option('Snooze…', ''));
  var choices = snoozeChoices();
  choices.forEach(function (ch, i) { sz.appendChild(new Option(ch[0], String(i))); });
  sz.addEventListener('change', function () {
    if (sz.value !== '') snooze(id, choices[Number(sz.value)][1]);
    sz.value = '';
  });
  parts.push(sz);
  parts.push(button('ghost details' + (S.context ? ' selected' : ''), 'Details', 'Show what is known of this visitor', toggleContext));
  tools.replaceChildren.apply(tools, parts);

  // Who else is here: viewers, and who types.
  var act = $('conv-activity');
  var lines = [];
  var viewers = others(I.viewers.get(id) || []);
  if (viewers.length) lines.push(el('span', 'viewing', 'Also viewing: ' + names(viewers)));
  var t = typingOf(id);
  var agentsTyping = others(t.agents);
  if (agentsTyping.length) lines.push(el('span', 'typing agent-typing', names(agentsTyping) + (agentsTyping.length > 1 ? ' are' : ' is') + ' typing a reply…'));
  if (t.visitor) {
    var vt = el('span', 'typing visitor-typing', displayName(v) + ' is typing' + (t.preview ? ': ' : '…'));
    if (t.preview) {
      var p = el('q', 'preview', t.preview);
      p.dir = 'auto';
      vt.appendChild(p);
    }
    lines.push(vt);
  }
  act.replaceChildren.apply(act, lines);
  act.hidden = !lines.length;
}

// ---- messages ----
function message(wrap, m) {
  if (m.note) {
    wrap.classList.add('note');
    wrap.insertBefore(el('div', 'note-label', 'Internal note · agents only'), wrap.firstChild);
  }
}
// seenMarks puts "Seen" under the newest agent reply the visitor has seen.
function seenMarks() {
  var list = $('message-list');
  var old = list.querySelectorAll('.seen-mark');
  for (var i = 0; i < old.length; i++) old[i].remove();
  var c = S.selected && state(S.selected);
  var upTo = c && c.visitor_seen;
  if (!upTo) return;
  var nodes = list.querySelectorAll('.msg.from-agent:not(.note):not(.pending)');
  for (var j = nodes.length - 1; j >= 0; j--) {
    if (Number(nodes[j].getAttribute('data-offset')) <= upTo) {
      var meta = nodes[j].querySelector('.meta');
      if (meta) meta.appendChild(el('span', 'seen-mark', 'Seen'));
      return;
    }
  }
}

// ---- reply box ----
function renderMode() {
  var note = I.mode === 'note';
  $('mode-reply').classList.toggle('selected', !note);
  $('mode-note').classList.toggle('selected', note);
  $('mode-reply').setAttribute('aria-pressed', String(!note));
  $('mode-note').setAttribute('aria-pressed', String(note));
  $('reply').classList.toggle('note-mode', note);
  $('reply-text').placeholder = note ? 'Write an internal note… only agents see it' : 'Write a reply… (Enter to send, Shift+Enter for a new line, / for canned replies)';
  $('reply-send').textContent = note ? 'Add note' : 'Send';
}

function after() {
  renderFilters();
  renderMode();
  seenMarks();
  visible(convVisible() ? S.selected : '');
  pendingJump();
  renderContext();
}

$('mode-reply').addEventListener('click', function () { setMode('reply'); $('reply-text').focus(); });
$('mode-note').addEventListener('click', function () { setMode('note'); $('reply-text').focus(); });
$('reply-text').addEventListener('input', function () {
  if (S.selected) typed(S.selected, this.value.trim() !== '');
});

extendView({ filter: matches, row: row, conv: conv, message: message, after: after });
