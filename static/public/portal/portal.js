// chatd agent portal: login, the admin socket and the conversations' data.
// Plain JavaScript modules, no build step; the view is in view.js, and all user
// text is rendered with textContent (links.js builds links with DOM calls).
import { S, conv, local, sess, getItem, setItem, saveOutbox, saveDrafts } from './state.js';
import { renderSoon, renderNow, initView, scrollToEnd } from './view.js';
import { reconnectDelay, CLOSE_RESTART } from './backoff.js';
import { createSound } from './sound.js';
import { createReads } from './reads.js';
import { I, initInbox, inboxHandle, inboxList, replyMode, replied } from './inbox.js';
import './inboxview.js';
import './canned.js';
import './context.js';
import './search.js';
import './privacy.js';
import './agents.js';
import './inboxsettings.js';
import { notifyMessage, listed } from './notify.js';
import { refreshPush, disablePush } from './push.js';
import { initSettings } from './settings.js';
import { initStatus, statusConnected, agents } from './status.js';
import { loadSession } from './session.js';

var LIMIT = 1000; // newest messages replayed on connect
var PAGE = 500; // visitors per "load more"
var MAX_TEXT = 4096;
var TITLE = document.title;

function $(id) { return document.getElementById(id); }
function rid() {
  var a = new Uint8Array(12);
  crypto.getRandomValues(a);
  return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
}

// ---- login ----
function showLogin(note) {
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-note').hidden = !note;
  $('login-note').textContent = note || '';
  $('login-error').hidden = true;
  if (S.adminName) $('login-name').value = S.adminName;
  ($('login-name').value ? $('login-password') : $('login-name')).focus();
}
function showApp() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = S.adminName;
  $('me').title = S.adminName;
  if (S.reads) S.reads.close();
  S.reads = createReads(S.adminName, function () { renderSoon(); });
  if (S.epoch) S.reads.setEpoch(S.epoch);
  loadSession();
  renderSoon();
}
$('login-form').addEventListener('submit', function (ev) {
  ev.preventDefault();
  var name = $('login-name').value.trim(); // a login is an identifier: white space around it is not part of it
  var password = $('login-password').value;
  var otp = $('login-otp').hidden ? '' : $('login-otp').value.trim();
  var err = $('login-error');
  err.hidden = true;
  $('login-submit').disabled = true;
  fetch('/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: name, password: password, otp: otp })
  }).then(function (res) {
    if (res.ok) return res.json();
    if (res.status === 401) {
      return res.json().catch(function () { return {}; }).then(function (b) {
        var e = new Error('Wrong name or password.');
        if (b && (b.otp === 'required' || b.otp === 'invalid')) { // two-factor login (auth/totp.go)
          $('login-otp').hidden = $('login-otp-label').hidden = false;
          $('login-otp').focus();
          e.message = b.otp === 'required' ? 'Enter the code from your authenticator app.' : 'That code is wrong or already used; enter the current one.';
        }
        e.shown = true;
        throw e;
      });
    }
    var e = new Error(res.status === 429 ? 'Too many attempts. Please wait a minute and try again.' :
      res.status === 401 ? 'Wrong name or password.' : 'Sign-in failed (HTTP ' + res.status + ').');
    e.shown = true;
    throw e;
  }).then(function (body) {
    if (S.adminName && S.adminName !== name) {
      // Another agent on this tab: start from a clean slate.
      S.outbox = [];
      saveOutbox();
    }
    S.token = body.token;
    S.adminName = name;
    setItem(sess, 'chatd.portal.token', S.token);
    setItem(sess, 'chatd.portal.admin', name);
    $('login-password').value = '';
    $('login-otp').value = '';
    showApp();
    connect();
    refreshPush(); // a subscription of this browser now belongs to this agent
  }).catch(function (e) {
    err.textContent = e && e.shown ? e.message : 'Cannot reach the server. Please try again.';
    err.hidden = false;
  }).then(function () { $('login-submit').disabled = false; });
});
$('logout').addEventListener('click', function () {
  var t = S.token;
  signOut('');
  // A signed-out browser gets no more pushes for this agent; then the token goes.
  disablePush(t).catch(function () {}).then(function () {
    return fetch('/api/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + t } });
  }).catch(function () {});
});
function signOut(note) {
  S.token = '';
  setItem(sess, 'chatd.portal.token', '');
  clearTimeout(retryTimer);
  retryTimer = 0;
  if (ws) {
    var s = ws;
    ws = null;
    s.close(1000);
  }
  offline('Signed out');
  showLogin(note);
}

// ---- sound ----
var sound = createSound(function (state) {
  $('sound-note').hidden = state !== 'blocked' && state !== 'unavailable';
  $('sound-note').textContent = state === 'unavailable' ? 'No sound in this browser' : 'Click anywhere to enable sound';
});
$('sound').checked = getItem(local, 'chatd.portal.sound') === '1';
sound.enable($('sound').checked);
$('sound').addEventListener('change', function () {
  sound.enable(this.checked);
  setItem(local, 'chatd.portal.sound', this.checked ? '1' : '0');
  if (this.checked) sound.beep();
});
$('sound-note').addEventListener('click', function () { sound.unlock(); });

// ---- socket ----
var ws = null;
var attempt = 0;
var restarting = false; // the last close was a server restart (1012): come back quickly
var retryTimer = 0;
var listedAt = 0;
var addedAfter = 0; // the cursor of the last admin:add
var replay = null; // {after, count, min, msgs}: the replay that follows admin:list

function send(type, data) {
  if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: type, data: data }));
}
function setConn(ok, text) {
  var c = $('conn');
  c.textContent = text;
  c.classList.toggle('ok', ok);
}
// offline marks the portal disconnected: what it shows of presence is unknown until the next list.
function offline(text) {
  S.ready = false;
  S.loadingMore = false;
  setConn(false, text);
  renderNow(); // in the same task: never a moment with the old green dots
}
function connect() {
  clearTimeout(retryTimer);
  retryTimer = 0;
  if (ws || !S.token) return;
  var proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
  var s = new WebSocket(proto + location.host + '/ws/admin');
  ws = s;
  setConn(false, restarting ? 'Server restarting…' : attempt ? 'Reconnecting…' : 'Connecting…');
  var openTimer = setTimeout(function () { s.close(); }, 10000);
  s.onopen = function () {
    clearTimeout(openTimer);
    replay = null;
    addedAfter = S.maxOffset;
    var add = { token: S.token, after: S.maxOffset, limit: LIMIT, filter: I.filter };
    if (S.epoch) add.epoch = S.epoch;
    send('admin:add', add);
  };
  s.onmessage = function (ev) {
    var f;
    try { f = JSON.parse(ev.data); } catch (e) { return; }
    if (f && typeof f.type === 'string') handle(f.type, f.data);
  };
  s.onclose = function (ev) {
    clearTimeout(openTimer);
    if (ws !== s) return;
    ws = null;
    // Back off from scratch only after a connection that lived a while.
    if (listedAt && Date.now() - listedAt > 5000) attempt = 0;
    listedAt = 0;
    if (ev.code === CLOSE_RESTART) {
      restarting = true;
      attempt = 0;
    }
    offline(restarting ? 'Server restarting…' : 'Reconnecting…');
    if (!S.token) return;
    retryTimer = setTimeout(connect, reconnectDelay(attempt++, restarting));
  };
}

function handle(type, data) {
  switch (type) {
  case 'admin:list': // the first reply to admin:add: the replay starts
    replay = { after: addedAfter, count: 0, min: 0, msgs: [] };
    S.visitors.replace(Array.isArray(data) ? data : []);
    inboxList(data, true);
    S.ready = true;
    S.listMore = false;
    S.listCursor = '';
    S.loadingMore = false;
    listedAt = Date.now();
    restarting = false;
    setConn(true, 'Connected');
    S.outbox.forEach(transmit);
    listed();
    renderSoon();
    break;
  case 'admin:messages':
    (Array.isArray(data) ? data : []).forEach(function (m) {
      addMessage(m, false);
      if (replay) replay.msgs.push(m); // all of them: after a resync, old offsets mean nothing
    });
    if (replay && Array.isArray(data) && data.length) {
      replay.count += data.length;
      if (!replay.min || data[0].offset < replay.min) replay.min = data[0].offset;
      if (replay.after && replay.count >= LIMIT) pruneBefore(replay.min); // a server without admin:replayed
    }
    renderSoon();
    break;
  case 'admin:replayed':
    replayed(data || {});
    statusConnected(S.adminName);
    break;
  case 'admin:agents': // who is there to answer (issue 12); the inbox's assignee choices
    agents(data);
    inboxHandle(type, data);
    break;
  case 'admin:message':
    inboxHandle(type, data); // a message ends its sender's typing
    addMessage(data, true);
    renderSoon();
    break;
  case 'admin:client_status':
    if (!data || typeof data.id !== 'string' || !data.id) break;
    S.visitors.status(data, new Date().toISOString());
    listed();
    renderSoon();
    break;
  case 'admin:client': // a visitor's changed fields: e-mail, identity, name... (issue 12)
    inboxHandle(type, data); // the details panel and the search's contacts
    if (data && S.visitors.update(data)) renderSoon();
    break;
  case 'admin:client_page':
    inboxHandle(type, data); // the details panel follows the visitor
    if (data && typeof data.id === 'string' && S.visitors.page(data)) renderSoon();
    break;
  case 'admin:visitors':
    if (!data) break;
    if (I.replacing) S.visitors.replace(Array.isArray(data.visitors) ? data.visitors : []); // the first page of another filter
    else S.visitors.addPage(Array.isArray(data.visitors) ? data.visitors : []);
    inboxList(data.visitors, I.replacing);
    I.replacing = false;
    S.listMore = !!data.more;
    S.listCursor = typeof data.next === 'string' ? data.next : '';
    S.loadingMore = false;
    listed();
    renderSoon();
    break;
  case 'admin:history':
    if (!data || !data.client) break;
    var c = conv(data.client);
    c.loading = false;
    (Array.isArray(data.messages) ? data.messages : []).forEach(function (m) { addMessage(m, false); });
    if (!data.more) c.complete = true;
    renderSoon(true);
    break;
  case 'error':
    if (!inboxHandle(type, data || {})) onError(data || {});
    break;
  default:
    inboxHandle(type, data);
  }
}

// replayed ends the replay after admin:add. On resync (the store's epoch changed,
// or our cursor was beyond its end) the list and the messages of this replay are
// the whole truth: everything kept from before is dropped (the outbox stays).
function replayed(d) {
  if (typeof d.epoch === 'string' && d.epoch) {
    S.epoch = d.epoch;
    if (S.reads) S.reads.setEpoch(d.epoch);
  }
  var r = replay;
  replay = null;
  if (d.resync && r) {
    S.convs = new Map();
    S.maxOffset = 0;
    r.msgs.forEach(function (m) { addMessage(m, false); });
  } else if (r && r.after && d.more) {
    pruneBefore(r.min); // older messages after our cursor were not sent: a gap
  }
  if (typeof d.last === 'number' && d.last > S.maxOffset) S.maxOffset = d.last;
  S.listMore = !!d.list_more;
  S.listCursor = typeof d.list_next === 'string' ? d.list_next : '';
  renderSoon();
}

function onError(e) {
  if (e.code === 'unauthorized') {
    signOut('Your session has ended. Please sign in again; your unsent replies are kept.');
    return;
  }
  if (S.loadingMore && !e.cid && (e.code === 'unknown_type' || e.code === 'bad_request')) {
    // admin:visitors refused: a server without paging, or a cursor it did not
    // take (then the last visitor's id, which also works, is the next cursor).
    S.loadingMore = false;
    if (e.code === 'unknown_type') S.listMore = false;
    else S.listCursor = '';
    renderSoon();
    return;
  }
  var item = e.cid && S.outbox.filter(function (x) { return x.cid === e.cid; })[0];
  if (!item) return;
  if (e.code === 'rate_limited' || e.code === 'unavailable' || e.code === 'internal') {
    note(e.code === 'rate_limited' ? 'Sending too fast; retrying in a moment.' : 'The server could not store the reply; retrying.');
    setTimeout(function () { if (S.outbox.indexOf(item) >= 0) transmit(item); }, 1500);
  } else {
    S.outbox = S.outbox.filter(function (x) { return x !== item; });
    saveOutbox();
    if (e.code === 'not_found') note('That visitor no longer exists; the reply was not sent.');
    else if (e.code === 'too_large') note('The reply is too long (max ' + MAX_TEXT + ' bytes).');
    else note('The reply was not sent: ' + (e.message || e.code));
    if (item.client === S.selected && !S.drafts[S.selected]) {
      S.drafts[S.selected] = item.text;
      saveDrafts();
      $('reply-text').value = item.text;
    }
    renderSoon();
  }
}
var noteTimer = 0;
function note(text) {
  var n = $('reply-note');
  n.textContent = text;
  n.hidden = false;
  clearTimeout(noteTimer);
  noteTimer = setTimeout(function () { n.hidden = true; }, 6000);
}

// ---- model ----
var hiddenCount = 0;
// addMessage keeps a stored message once (by offset); true if it was new.
function addMessage(m, live) {
  if (!m || typeof m.offset !== 'number' || typeof m.client !== 'string' || !m.client) return false;
  if (m.offset > S.maxOffset) S.maxOffset = m.offset;
  if (m.from === 'admin' && m.cid) {
    var before = S.outbox.length;
    S.outbox = S.outbox.filter(function (x) { return !(x.cid === m.cid && x.client === m.client); });
    if (S.outbox.length !== before) saveOutbox();
  }
  var c = conv(m.client);
  if (c.offsets[m.offset]) return false;
  c.offsets[m.offset] = true;
  var i = c.msgs.length;
  while (i > 0 && c.msgs[i - 1].offset > m.offset) i--;
  c.msgs.splice(i, 0, m);
  var v = S.visitors.get(m.client);
  var first = !(v && v.last); // the visitor had no message: a new conversation
  S.visitors.message(m.client, m.offset);
  if (live && m.from === 'client') notifyMessage(m, first);
  if (live && m.from === 'client' && document.hidden) {
    hiddenCount++;
    document.title = '(' + hiddenCount + ') ' + TITLE;
    sound.beep();
  }
  return true;
}
// pruneBefore forgets cached messages older than a replay that hit its limit: they may have a gap.
function pruneBefore(offset) {
  S.convs.forEach(function (c) {
    var kept = c.msgs.filter(function (m) { return m.offset >= offset; });
    if (kept.length !== c.msgs.length) {
      c.msgs = kept;
      c.offsets = {};
      kept.forEach(function (m) { c.offsets[m.offset] = true; });
      c.complete = false;
    }
  });
}
function transmit(item) {
  if (S.ready) send(item.note ? 'admin:note' : 'admin:message', { client: item.client, cid: item.cid, text: item.text });
}
function loadOlder() {
  var c = conv(S.selected);
  if (c.loading || c.complete || !S.ready) return;
  var v = S.visitors.get(S.selected);
  var before = c.msgs.length ? c.msgs[0].offset : (v && v.last ? v.last + 1 : S.maxOffset + 1);
  c.loading = true;
  send('admin:history', { client: S.selected, before: before, limit: 100 });
}
// loadMoreVisitors asks for the next page of visitors: after the server's cursor
// (list_next of admin:replayed, then next of each page), else after the last
// visitor listed.
function loadMoreVisitors() {
  if (!S.ready || S.loadingMore || !S.listMore) return;
  var list = S.visitors.sorted();
  var before = S.listCursor || (list.length ? list[list.length - 1].id : '');
  S.loadingMore = true;
  send('admin:visitors', { before: before, limit: PAGE, filter: I.filter });
  renderSoon();
}

// ---- reply box ----
$('reply-text').addEventListener('input', function () {
  if (!S.selected) return;
  if (this.value) S.drafts[S.selected] = this.value;
  else delete S.drafts[S.selected];
  saveDrafts();
});
$('reply-text').addEventListener('keydown', function (ev) {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    reply();
  }
});
$('reply').addEventListener('submit', function (ev) {
  ev.preventDefault();
  reply();
});
// reply sends the box's text exactly as typed (leading spaces of pasted code
// or logs, trailing new lines and all): user text is never rewritten. Only a
// blank text (white space alone) is not sent; the server refuses other text
// that shows nothing.
function reply() {
  var box = $('reply-text');
  var text = box.value;
  if (!text.trim() || !S.selected) return;
  if (new TextEncoder().encode(text).length > MAX_TEXT) {
    note('The reply is too long (max ' + MAX_TEXT + ' bytes).');
    return;
  }
  var item = { client: S.selected, cid: rid(), text: text };
  if (replyMode() === 'note') item.note = true;
  S.outbox.push(item);
  saveOutbox();
  delete S.drafts[S.selected];
  saveDrafts();
  box.value = '';
  replied(item.client);
  transmit(item);
  renderSoon();
  scrollToEnd();
}

// ---- page visibility and network ----
document.addEventListener('visibilitychange', function () {
  if (document.hidden) return;
  hiddenCount = 0;
  document.title = TITLE;
  if (S.token && !ws) {
    attempt = 0;
    connect();
  }
  renderSoon();
});
// A lost network often leaves a socket that looks open: drop it; the outbox keeps what is unsent.
window.addEventListener('offline', function () {
  if (!ws || !S.token) return;
  var s = ws;
  ws = null;
  s.onclose = s.onmessage = null;
  s.close();
  offline('Reconnecting…');
  retryTimer = retryTimer || setTimeout(connect, 1000);
});
window.addEventListener('online', function () {
  if (S.token && !ws) {
    attempt = 0;
    connect();
  }
});
// Leaving the page may keep it, frozen, in the back/forward cache with its
// socket open: the agent would still count as there (visitors told someone
// is available, no alert mails, no pushes). The socket closes when the page
// is hidden for good and reopens if the page comes back from that cache.
window.addEventListener('pagehide', function () {
  if (!ws) return;
  var s = ws;
  ws = null;
  s.onclose = s.onmessage = null;
  s.close(1000);
  clearTimeout(retryTimer);
  retryTimer = 0;
});
window.addEventListener('pageshow', function (ev) {
  if (ev.persisted && S.token && !ws) {
    attempt = 0;
    offline('Reconnecting…');
    connect();
  }
});

initView({ loadOlder: loadOlder, loadMoreVisitors: loadMoreVisitors });
initInbox({ send: send, note: note });
initSettings();
initStatus(send);
if (S.token) {
  showApp();
  connect();
} else {
  showLogin('');
}
