// The portal's view: the visitor list, the open conversation, and on phones the
// navigation between the two. All user text goes in through textContent or
// links.js (DOM calls only).
import { S, conv, saveSelected, senderName, getItem, setItem, sess } from './state.js';
import { timeLabel, shortLabel, dayKey, dayLabel, onNewDay } from './time.js';
import { appendText, link, safeHref } from './links.js';
import { contactLine, attributesLine } from './contact.js';

function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
// userText makes an element for text a user chose (a name, a title): its
// direction comes from its own characters and it cannot reorder the UI around it.
function userText(tag, cls, text) {
  var e = el(tag, cls, text);
  e.dir = 'auto';
  return e;
}

var actions = { loadOlder: function () {}, loadMoreVisitors: function () {} };

// ext are the inbox's additions to the view (inboxview.js): which visitors the
// list shows, what a row, the conversation's header and a message add, and
// what runs after each render.
var ext = { filter: null, row: null, conv: null, message: null, after: null };
export function extendView(e) { Object.assign(ext, e); }

// ---- phones: one column, list ⇄ conversation ----
// Below 760 px the portal shows either the list or the conversation. Opening a
// conversation adds a history entry, so the browser's back button (or the
// portal's) returns to the list; the scroll positions of both are kept.
var narrow = window.matchMedia('(max-width: 760px)');
var view = getItem(sess, 'chatd.portal.view') === 'conv' ? 'conv' : 'list';
var scrolls = { list: 0, conv: null }; // list scrollTop; {id, top, atBottom} of the conversation left

export function isNarrow() { return narrow.matches; }

// convVisible: the agent can see the selected conversation right now.
export function convVisible() {
  return !!S.selected && !document.hidden && (!narrow.matches || view === 'conv') && !$('app').hidden;
}

function setView(v) {
  if (v === view) return;
  var box = $('messages');
  if (narrow.matches) {
    if (view === 'list') scrolls.list = $('visitors').scrollTop;
    else if (shownConv) {
      scrolls.conv = { id: shownConv, top: box.scrollTop, atBottom: box.scrollHeight - box.scrollTop - box.clientHeight < 60 };
    }
  }
  view = v;
  setItem(sess, 'chatd.portal.view', v === 'conv' ? 'conv' : '');
  applyView();
  if (narrow.matches && v === 'list') $('visitors').scrollTop = scrolls.list;
  var was = scrolls.conv;
  if (narrow.matches && v === 'conv' && S.selected === shownConv) {
    box.scrollTop = was && was.id === shownConv && !was.atBottom ? was.top : box.scrollHeight;
  }
  renderSoon();
}
function applyView() {
  var conv = view === 'conv' && !!S.selected && S.visitors.has(S.selected);
  var app = $('app');
  app.classList.toggle('view-conv', conv);
  app.classList.toggle('view-list', !conv);
}

export function select(id, fromHistory) {
  var changed = S.selected !== id;
  if (changed) {
    S.selected = id;
    saveSelected();
  }
  if (narrow.matches && !fromHistory) {
    try {
      if (history.state && history.state.chatdConv) history.replaceState({ chatdConv: id }, '');
      else history.pushState({ chatdConv: id }, '');
    } catch (e) { /* no history: the portal's back button still works */ }
  }
  setView('conv');
  renderSoon();
}
function back() {
  if (history.state && history.state.chatdConv) history.back(); // popstate shows the list
  else setView('list');
}
window.addEventListener('popstate', function (ev) {
  var st = ev.state;
  if (st && st.chatdConv && S.visitors.has(st.chatdConv)) select(st.chatdConv, true);
  else setView('list');
});
narrow.addEventListener('change', function () {
  applyView();
  renderSoon();
});

// ---- rendering ----
var renderTimer = 0;
var keepScroll = false;
export function renderSoon(older) {
  if (older) keepScroll = true;
  if (renderTimer) return;
  renderTimer = setTimeout(function () {
    renderTimer = 0;
    render();
  }, 0);
}
// renderNow renders at once (when what is shown must change in the same task,
// like presence when the socket drops).
export function renderNow() {
  clearTimeout(renderTimer);
  renderTimer = 0;
  render();
}
function render() {
  applyView();
  $('app').classList.toggle('presence-unknown', !S.ready);
  markRead();
  renderList();
  renderConversation();
  if (ext.after) ext.after();
}

export function displayName(v) { return v.name || 'Visitor ' + v.id.slice(0, 6); }

function markRead() {
  if (!S.reads || !convVisible()) return;
  var c = S.convs.get(S.selected);
  if (c && c.msgs.length) S.reads.mark(S.selected, c.msgs[c.msgs.length - 1].offset);
}
export function unread(id) {
  var c = S.convs.get(id);
  if (!c || !S.reads) return 0;
  var r = S.reads.get(id);
  var n = 0;
  c.msgs.forEach(function (m) { if (m.from === 'client' && m.offset > r) n++; });
  return n;
}
function preview(id) {
  var c = S.convs.get(id);
  var m = c && c.msgs[c.msgs.length - 1];
  if (!m) return '';
  if (m.note) return 'Note: ' + m.text; // an internal note, never a reply
  return (m.from === 'admin' ? (m.admin === S.adminName ? 'You: ' : senderName(m) + ': ') : '') + m.text;
}
function presence(v) {
  if (!S.ready) return { cls: 'dot unknown', title: 'Presence unknown until the portal reconnects' };
  return v.connected ? { cls: 'dot online', title: 'Online' } : { cls: 'dot', title: 'Offline' };
}

// The list keeps one row element per visitor and only moves and refills rows, so a
// click that starts while a message arrives still lands on the same row.
var rows = new Map(); // visitor id -> button
function renderList() {
  var list = S.visitors.sorted();
  if (ext.filter) list = list.filter(ext.filter);
  var ul = $('visitors');
  var keep = {};
  list.forEach(function (v, i) {
    var b = rows.get(v.id);
    if (!b) {
      b = el('button');
      b.type = 'button';
      b.setAttribute('data-id', v.id);
      el('li').appendChild(b);
      rows.set(v.id, b);
    }
    fillRow(b, v);
    if (ul.children[i] !== b.parentNode) ul.insertBefore(b.parentNode, ul.children[i] || null);
    keep[v.id] = true;
  });
  rows.forEach(function (b, id) {
    if (!keep[id]) {
      b.parentNode.remove();
      rows.delete(id);
    }
  });
  $('no-visitors').hidden = list.length > 0 || S.listMore;
  var more = $('more-visitors');
  more.hidden = !S.listMore;
  more.disabled = S.loadingMore || !S.ready;
  more.textContent = S.loadingMore ? 'Loading…' : 'Load more visitors';
  var total = list.length + (S.listMore ? '+' : '');
  var online = list.filter(function (v) { return v.connected; }).length;
  $('visitor-count').textContent = !list.length ? '' : S.ready ? online + ' online · ' + total : total + ' · presence unknown';
}
function fillRow(b, v) {
  b.className = 'visitor' + (v.id === S.selected ? ' selected' : '');
  var p = presence(v);
  var dot = el('span', p.cls);
  dot.title = p.title;
  var body = el('span', 'visitor-body');
  var top = el('span', 'visitor-top');
  top.appendChild(userText('span', 'visitor-name', displayName(v)));
  var c = S.convs.get(v.id);
  var last = c && c.msgs[c.msgs.length - 1];
  top.appendChild(el('span', 'visitor-time', last ? shortLabel(last.at) : ''));
  body.appendChild(top);
  var bottom = el('span', 'visitor-bottom');
  bottom.appendChild(userText('span', 'visitor-preview', preview(v.id) || (S.ready && v.connected ? 'Online' : 'No messages')));
  var n = v.id === S.selected && convVisible() ? 0 : unread(v.id);
  if (n) bottom.appendChild(el('span', 'unread', n > 99 ? '99+' : String(n)));
  body.appendChild(bottom);
  b.replaceChildren(dot, body);
  if (ext.row) ext.row(b, v, body);
}

// pageLine shows where the visitor is: the current page when the server tells
// it (admin:client_page, "page" in the list), else the page it first came from,
// labelled as such.
function pageLine(v) {
  var line = $('conv-page');
  var cur = v.page;
  var first = v.meta && typeof v.meta.page === 'string' ? v.meta.page : '';
  if (!cur && !first) {
    line.hidden = true;
    line.replaceChildren();
    return;
  }
  var label = !cur ? 'First page: ' : S.ready && v.connected ? 'Now on: ' : 'Last page: ';
  var url = cur ? cur.url : first;
  var text = cur && cur.title ? cur.title : url;
  var href = safeHref(url);
  var target = href ? link(text, href) : el('span', '', text);
  target.dir = 'auto';
  target.classList.add('page-link');
  if (!href) target.title = url;
  line.replaceChildren(el('span', 'page-label', label), target);
  line.hidden = false;
}

var shownConv = '';
var nodeCache = new Map(); // key -> node of the shown conversation
var relabel = false; // the date changed: rebuild every node (time labels)
function renderConversation() {
  var v = S.selected && S.visitors.get(S.selected);
  $('placeholder').hidden = !!v;
  $('conversation').hidden = !v;
  if (!v) return;
  var c = conv(S.selected);
  var box = $('messages');
  var switched = shownConv !== S.selected;
  var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  var fromBottom = box.scrollHeight - box.scrollTop;
  var shown = !$('conversation').hidden && box.clientHeight > 0;
  if (switched) {
    shownConv = S.selected;
    $('reply-text').value = S.drafts[S.selected] || '';
    $('reply-note').hidden = true;
    if (!c.complete && c.msgs.length < 30) actions.loadOlder();
  }
  $('conv-name').textContent = displayName(v);
  var p = presence(v);
  $('conv-dot').className = p.cls;
  $('conv-dot').title = p.title;
  var status = !S.ready ? 'Status unknown until reconnected' : v.connected ? 'Online now' :
    'Offline' + (v.seen ? ' · last seen ' + timeLabel(v.seen) : '');
  $('conv-sub').textContent = status + ' · visitor ' + v.id;
  pageLine(v);
  contactLine($('conv-contact'), v);
  attributesLine($('conv-attrs'), v);
  if (ext.conv) ext.conv(v, switched);
  $('older').hidden = c.complete || (c.msgs.length === 0 && c.loading);
  $('older').disabled = c.loading;
  $('older').textContent = c.loading ? 'Loading…' : 'Load earlier messages';

  // Nodes are kept per message, so a new message does not disturb a text selection.
  if (switched || relabel) nodeCache = new Map();
  relabel = false;
  var fresh = new Map();
  function cached(key, make) {
    var n = nodeCache.get(key) || make();
    fresh.set(key, n);
    return n;
  }
  var nodes = [];
  var day = '';
  c.msgs.forEach(function (m) {
    var d = dayKey(m.at);
    if (d && d !== day) {
      day = d;
      var label = dayLabel(m.at);
      nodes.push(cached('d' + d + '|' + label, function () { return el('div', 'day', label); }));
    }
    nodes.push(cached('o' + m.offset, function () { return messageNode(m, v, false); }));
  });
  S.outbox.forEach(function (item) {
    if (item.client !== S.selected) return;
    nodes.push(cached('p' + item.cid, function () {
      return messageNode({ from: 'admin', admin: S.adminName, text: item.text, cid: item.cid, note: !!item.note }, v, true);
    }));
  });
  if (!nodes.length && c.complete) nodes.push(cached('empty', function () { return el('div', 'day', 'No messages yet'); }));
  nodeCache = fresh;
  var list = $('message-list');
  nodes.forEach(function (n, i) {
    if (list.children[i] !== n) list.insertBefore(n, list.children[i] || null);
  });
  while (list.children.length > nodes.length) list.lastChild.remove();
  var older = keepScroll;
  keepScroll = false;
  if (!shown) return; // hidden (the list is shown on a phone): setView restores the scroll
  if (switched || atBottom) box.scrollTop = box.scrollHeight;
  else if (older) box.scrollTop = box.scrollHeight - fromBottom;
}
function messageNode(m, v, pending) {
  var agent = m.from === 'admin';
  var wrap = el('div', 'msg ' + (agent ? 'from-agent' : 'from-visitor') + (pending ? ' pending' : ''));
  if (m.offset) wrap.setAttribute('data-offset', m.offset);
  if (m.cid) wrap.setAttribute('data-cid', m.cid);
  var text = el('div', 'text');
  text.dir = 'auto';
  appendText(text, m.text);
  wrap.appendChild(text);
  var meta = el('div', 'meta');
  meta.appendChild(userText('span', 'who', agent ? (pending ? S.adminName : senderName(m)) : displayName(v)));
  var when = el('span', 'when', pending ? 'Sending…' : timeLabel(m.at));
  if (m.at) when.title = new Date(m.at).toLocaleString();
  meta.appendChild(when);
  wrap.appendChild(meta);
  if (ext.message) ext.message(wrap, m, pending);
  return wrap;
}

// scrollToEnd shows the newest message (after the agent sent a reply).
export function scrollToEnd() {
  keepScroll = false;
  $('messages').scrollTop = $('messages').scrollHeight;
}

// initView wires the view's controls; acts holds loadOlder() and loadMoreVisitors().
export function initView(acts) {
  actions = acts;
  $('visitors').addEventListener('click', function (ev) {
    var b = ev.target.closest('button.visitor');
    if (b) select(b.getAttribute('data-id'));
  });
  $('back').addEventListener('click', back);
  $('older').addEventListener('click', function () { actions.loadOlder(); });
  $('more-visitors').addEventListener('click', function () { actions.loadMoreVisitors(); });
  // "Today" becomes "Yesterday" at midnight: labels are rebuilt when the date changes.
  onNewDay(function () {
    relabel = true;
    renderSoon();
  });
  applyView();
}
