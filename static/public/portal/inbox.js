// The inbox's state and protocol: conversation states and filters with their
// counts, assignment, who views and who types, seen offsets, notes and the
// reply box's mode. The rendering is in inboxview.js.
import { S, getItem, setItem, sess, conv } from './state.js';
import { renderSoon } from './view.js';

export var FILTERS = ['mine', 'unassigned', 'open', 'resolved', 'snoozed', 'all'];

export var I = {
  filter: FILTERS.indexOf(getItem(sess, 'chatd.portal.filter')) >= 0 ? getItem(sess, 'chatd.portal.filter') : 'all',
  replacing: false, // the next admin:visitors is the first page of another filter
  counts: null, // admin:counts
  convs: new Map(), // visitor id -> {status, assignee, snooze_until, visitor_seen, agent_seen}
  viewers: new Map(), // visitor id -> [logins]
  typing: new Map(), // visitor id -> {visitor: {until, preview}, agents: {login: {display, until}}}
  agents: [], // admin:agents when the server sends it: [{name, display, status, connected}]
  canned: [], // admin:canned
  contacts: new Map(), // visitor id -> {email, attributes} from the list and admin:client
  mode: getItem(sess, 'chatd.portal.mode') === 'note' ? 'note' : 'reply',
  jump: null // {client, offset}: scroll there once the message is shown (search, previous conversations)
};

var api = { send: function () {}, note: function () {} };
var listeners = {}; // event type -> [fn(data)] for the other inbox modules

// on registers fn for server events of type (context.js, canned.js).
export function on(type, fn) { (listeners[type] = listeners[type] || []).push(fn); }

export function send(type, data) { api.send(type, data); }
export function notice(text) { api.note(text); }

function fire(type, data) {
  (listeners[type] || []).forEach(function (fn) { fn(data); });
}

// state returns what is known of visitor id's conversation, or null.
export function state(id) { return I.convs.get(id) || null; }

function keep(c) {
  if (!c || typeof c.client !== 'string' && typeof c.id !== 'string') return;
  var id = c.client || c.id;
  var cur = I.convs.get(id) || {};
  if (typeof c.status === 'string') cur.status = c.status;
  if (typeof c.assignee === 'string') cur.assignee = c.assignee;
  if ('snooze_until' in c) cur.snooze_until = typeof c.snooze_until === 'string' ? c.snooze_until : '';
  if (typeof c.visitor_seen === 'number' && c.visitor_seen > (cur.visitor_seen || 0)) cur.visitor_seen = c.visitor_seen;
  if (typeof c.agent_seen === 'number' && c.agent_seen > (cur.agent_seen || 0)) cur.agent_seen = c.agent_seen;
  I.convs.set(id, cur);
  if (typeof c.email === 'string' || (c.attributes && typeof c.attributes === 'object')) contact(id, c);
}

function contact(id, c) {
  var cur = I.contacts.get(id) || { email: '', attributes: {} };
  if (typeof c.email === 'string') cur.email = c.email;
  if (c.attributes && typeof c.attributes === 'object') cur.attributes = c.attributes;
  I.contacts.set(id, cur);
}

// inboxList takes the conversation fields of admin:list / admin:visitors rows.
export function inboxList(entries, whole) {
  if (whole) I.convs = new Map();
  (Array.isArray(entries) ? entries : []).forEach(function (e) {
    if (e && typeof e.id === 'string') keep(e);
  });
}

// matches says whether visitor v belongs in the list of the current filter.
// A visitor whose conversation the portal does not know (listed by no page
// of this filter, and not changed since) is in "all" only.
export function matches(v) {
  var c = I.convs.get(v.id);
  if (I.filter === 'all' || v.id === S.selected) return true;
  if (!c || typeof c.status !== 'string') return false;
  switch (I.filter) {
  case 'open': return c.status === 'open';
  case 'resolved': return c.status === 'resolved';
  case 'snoozed': return c.status === 'snoozed';
  case 'mine': return c.status === 'open' && c.assignee === S.adminName;
  case 'unassigned': return c.status === 'open' && !c.assignee;
  }
  return true;
}

// setFilter shows another filter: its first page comes from the server.
export function setFilter(f) {
  if (FILTERS.indexOf(f) < 0 || f === I.filter) return;
  I.filter = f;
  setItem(sess, 'chatd.portal.filter', f === 'all' ? '' : f);
  if (S.ready) {
    I.replacing = true;
    S.loadingMore = true;
    send('admin:visitors', { before: '', limit: 500, filter: f });
  }
  renderSoon();
}

// Actions on a conversation.
export function resolve(id) { send('admin:resolve', { client: id }); }
export function reopen(id) { send('admin:reopen', { client: id }); }
export function snooze(id, until) { send('admin:snooze', { client: id, until: until.toISOString() }); }
export function assign(id, to) { send('admin:assign', { client: id, to: to }); }

// ---- typing ----
var TYPING_SHOWN = 6500; // an indicator not refreshed for this long goes away
var typingOut = { client: '', at: 0, on: false, timer: 0 };

// typed tells the server the agent types in conversation id (throttled:
// every 2 s while typing, a stop after 4 s without a key or when emptied).
// Notes are never announced: the visitor must not see "typing" for a note.
export function typed(id, hasText) {
  var on = hasText && I.mode === 'reply';
  var now = Date.now();
  if (typingOut.client && typingOut.client !== id) stopTyping();
  clearTimeout(typingOut.timer);
  if (!on) {
    stopTyping();
    return;
  }
  if (!typingOut.on || now - typingOut.at > 2000) {
    send('admin:typing', { client: id, typing: true });
    typingOut.at = now;
  }
  typingOut.client = id;
  typingOut.on = true;
  typingOut.timer = setTimeout(stopTyping, 4000);
}
export function stopTyping() {
  clearTimeout(typingOut.timer);
  if (typingOut.on && typingOut.client) send('admin:typing', { client: typingOut.client, typing: false });
  typingOut.on = false;
  typingOut.client = '';
}
// replied is called once a reply or note left the box.
export function replied() { stopTyping(); }

function typingEvent(d) {
  if (!d || typeof d.client !== 'string') return;
  var t = I.typing.get(d.client) || { visitor: null, agents: Object.create(null) }; // keyed by login: no inherited keys
  var until = Date.now() + TYPING_SHOWN;
  if (d.from === 'client') {
    t.visitor = d.typing ? { until: until, preview: typeof d.preview === 'string' ? d.preview : '' } : null;
  } else if (typeof d.admin === 'string') {
    if (d.typing) t.agents[d.admin] = { display: typeof d.display === 'string' ? d.display : d.admin, until: until };
    else delete t.agents[d.admin];
  }
  I.typing.set(d.client, t);
  setTimeout(renderSoon, TYPING_SHOWN + 50);
}
// typingOf returns who types in visitor id's conversation now: {visitor, preview, agents: [login]}.
export function typingOf(id) {
  var t = I.typing.get(id);
  var now = Date.now();
  var out = { visitor: false, preview: '', agents: [] };
  if (!t) return out;
  if (t.visitor && t.visitor.until > now) {
    out.visitor = true;
    out.preview = t.visitor.preview;
  }
  for (var a in t.agents) {
    if (Object.prototype.hasOwnProperty.call(t.agents, a) && t.agents[a].until > now) out.agents.push(a);
  }
  return out;
}
// A message from someone ends their indicator. A visitor's message also
// says its conversation is open: one the portal knew nothing of is asked
// for (admin:visitor tells its assignee).
var asked = {};
function messageEnds(m) {
  if (m && m.from === 'client' && typeof m.client === 'string') {
    var c = I.convs.get(m.client);
    if (!c) {
      I.convs.set(m.client, { status: 'open' });
      if (!asked[m.client]) {
        asked[m.client] = true;
        send('admin:visitor', { client: m.client });
      }
    } else if (c.status !== 'open') {
      c.status = 'open'; // admin:conversation follows
    }
  }
  var t = m && I.typing.get(m.client);
  if (!t) return;
  if (m.from === 'client') t.visitor = null;
  else if (typeof m.admin === 'string') delete t.agents[m.admin];
}

// ---- seen and viewing ----
var sentSeen = {}; // visitor id -> agent_seen sent
var viewing = null; // the conversation this socket told it shows

// visible is called after each render with the conversation the agent sees ("" for none).
export function visible(id) {
  if (!S.ready) {
    viewing = null;
    return;
  }
  if (viewing !== id) {
    viewing = id;
    send('admin:view', { client: id });
  }
  if (!id) return;
  var c = S.convs.get(id);
  var last = 0;
  if (c) {
    for (var i = c.msgs.length - 1; i >= 0 && !last; i--) if (c.msgs[i].from === 'client') last = c.msgs[i].offset;
  }
  var st = I.convs.get(id);
  if (last && last > (sentSeen[id] || 0) && last > ((st && st.agent_seen) || 0)) {
    sentSeen[id] = last;
    send('admin:seen', { client: id, offset: last });
  }
}

// jumpTo shows visitor id's conversation at its first message with an
// offset from from to to (one offset: to omitted), loading older messages
// until it is there.
export function jumpTo(id, from, to) {
  I.jump = { client: id, from: from, to: to || from, asked: 0 };
  renderSoon();
}

// pendingJump is called after each render: scroll to the jump target, or
// page back through the conversation's history until it is loaded.
export function pendingJump() {
  var j = I.jump;
  if (!j || S.selected !== j.client || !S.ready) return;
  var c = conv(j.client);
  var target = null;
  for (var i = 0; i < c.msgs.length && !target; i++) {
    if (c.msgs[i].offset >= j.from && c.msgs[i].offset <= j.to) target = c.msgs[i];
  }
  var node = target && document.querySelector('#message-list .msg[data-offset="' + target.offset + '"]');
  if (node) {
    I.jump = null;
    node.scrollIntoView({ block: 'center' });
    node.classList.add('found');
    setTimeout(function () { node.classList.remove('found'); }, 2500);
    return;
  }
  if (target || c.loading) return; // drawn at the next render, or on its way
  if (c.complete || j.asked >= 60 || (c.msgs.length && c.msgs[0].offset < j.from)) { // not there (deleted?), or too far back
    I.jump = null;
    return;
  }
  j.asked++;
  c.loading = true;
  send('admin:history', { client: j.client, before: c.msgs.length ? c.msgs[0].offset : 0, limit: 100 });
}

// replyMode is 'reply' or 'note'.
export function replyMode() { return I.mode; }
export function setMode(m) {
  I.mode = m === 'note' ? 'note' : 'reply';
  setItem(sess, 'chatd.portal.mode', I.mode === 'note' ? 'note' : '');
  if (I.mode === 'note') stopTyping();
  renderSoon();
}

// inboxHandle takes the inbox's server events; true when it handled an error.
export function inboxHandle(type, d) {
  switch (type) {
  case 'admin:conversation':
    keep(d);
    break;
  case 'admin:counts':
    if (d && typeof d === 'object') I.counts = d;
    break;
  case 'admin:viewers':
    if (d && typeof d.client === 'string') {
      if (Array.isArray(d.admins) && d.admins.length) I.viewers.set(d.client, d.admins.filter(function (a) { return typeof a === 'string'; }));
      else I.viewers.delete(d.client);
    }
    break;
  case 'admin:typing':
    typingEvent(d);
    break;
  case 'admin:message':
    messageEnds(d);
    return false;
  case 'admin:seen':
    if (d && typeof d.client === 'string') keep(d);
    break;
  case 'admin:agents':
    if (Array.isArray(d)) I.agents = d.filter(function (a) { return a && typeof a.name === 'string'; });
    break;
  case 'admin:canned':
    if (Array.isArray(d)) I.canned = d.filter(function (c) { return c && typeof c.shortcut === 'string' && typeof c.text === 'string'; });
    break;
  case 'admin:client':
    if (d && typeof d.id === 'string') contact(d.id, d);
    break;
  case 'admin:visitor':
    if (d && d.conversation && typeof d.conversation.client === 'string') {
      keep(d.conversation);
      delete asked[d.conversation.client];
    }
    if (d && typeof d.client === 'string') contact(d.client, d);
    break;
  case 'error':
    if (d.cid && /^s\d+$/.test(d.cid)) { // a search's (search.js)
      fire('error', d);
      return true;
    }
    if (d.cid || !d.code) return false;
    if (d.code === 'not_found' || d.code === 'bad_request') {
      fire('error', d);
      return (listeners.error || []).length > 0 && pendingRequest();
    }
    return false;
  default:
    fire(type, d);
    return false;
  }
  fire(type, d);
  renderSoon();
  return false;
}

// pendingRequest: an inbox module waits for an answer (the context panel, search).
function pendingRequest() {
  var busy = false;
  (listeners.busy || []).forEach(function (fn) { busy = busy || fn(); });
  return busy;
}

// initInbox wires the inbox to the socket: send(type, data) and note(text) from portal.js.
export function initInbox(a) {
  api = a;
}
