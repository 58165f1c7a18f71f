// chatd agent portal: login, the visitor list and the conversations, over the admin socket.
// Plain JavaScript, no build step; all user text is rendered with textContent.
(function () {
  'use strict';

  var LIMIT = 1000; // newest messages replayed on connect
  var MAX_TEXT = 4096;
  var TITLE = document.title;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function getJSON(store, key, def) {
    try { var v = store.getItem(key); return v ? JSON.parse(v) : def; } catch (e) { return def; }
  }
  function setJSON(store, key, v) {
    try { store.setItem(key, JSON.stringify(v)); } catch (e) { /* keep in memory only */ }
  }
  function rid() {
    var a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  // ---- state ----
  var token = sessionStorage.getItem('chatd.portal.token') || '';
  var adminName = sessionStorage.getItem('chatd.portal.admin') || '';
  var selected = sessionStorage.getItem('chatd.portal.selected') || '';
  var drafts = getJSON(sessionStorage, 'chatd.portal.drafts', {}); // visitor id -> text
  var outbox = getJSON(sessionStorage, 'chatd.portal.outbox', []); // replies not yet acknowledged
  var read = {}; // visitor id -> last read offset (localStorage, per admin)
  var visitors = new Map(); // id -> {id, name, connected, last, seen, created}
  var convs = new Map(); // id -> {msgs: [], offsets: {}, complete: bool, loading: bool}
  var maxOffset = 0;
  var hiddenCount = 0;
  var sound = localStorage.getItem('chatd.portal.sound') === '1';
  var audio = null;

  function saveOutbox() { setJSON(sessionStorage, 'chatd.portal.outbox', outbox); }
  function saveDrafts() { setJSON(sessionStorage, 'chatd.portal.drafts', drafts); }
  function loadRead() { read = getJSON(localStorage, 'chatd.portal.read.' + adminName, {}); }
  function saveRead() { setJSON(localStorage, 'chatd.portal.read.' + adminName, read); }

  // ---- time formatting ----
  function fmtTime(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    if (isNaN(d)) return '';
    var t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    if (d.toDateString() === new Date().toDateString()) return t;
    return d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ', ' + t;
  }
  function fmtDay(iso) {
    var d = new Date(iso);
    if (d.toDateString() === new Date().toDateString()) return 'Today';
    return d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric' });
  }

  // ---- login ----
  function showLogin(note) {
    $('app').hidden = true;
    $('login').hidden = false;
    $('login-note').hidden = !note;
    $('login-note').textContent = note || '';
    $('login-error').hidden = true;
    if (adminName) $('login-name').value = adminName;
    ($('login-name').value ? $('login-password') : $('login-name')).focus();
  }
  function showApp() {
    $('login').hidden = true;
    $('app').hidden = false;
    $('me').textContent = adminName;
    $('sound').checked = sound;
    loadRead();
    renderSoon();
  }
  $('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var name = $('login-name').value.trim();
    var password = $('login-password').value;
    var err = $('login-error');
    err.hidden = true;
    $('login-submit').disabled = true;
    fetch('/api/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: name, password: password })
    }).then(function (res) {
      if (res.ok) return res.json();
      var e = new Error(res.status === 429 ? 'Too many attempts. Please wait a minute and try again.' :
        res.status === 401 ? 'Wrong name or password.' : 'Sign-in failed (HTTP ' + res.status + ').');
      e.shown = true;
      throw e;
    }).then(function (body) {
      if (adminName && adminName !== name) {
        // Another agent on this tab: start from a clean slate.
        outbox = [];
        saveOutbox();
      }
      token = body.token;
      adminName = name;
      sessionStorage.setItem('chatd.portal.token', token);
      sessionStorage.setItem('chatd.portal.admin', name);
      $('login-password').value = '';
      showApp();
      connect();
    }).catch(function (e) {
      err.textContent = e && e.shown ? e.message : 'Cannot reach the server. Please try again.';
      err.hidden = false;
    }).then(function () { $('login-submit').disabled = false; });
  });
  $('logout').addEventListener('click', function () {
    var t = token;
    signOut('');
    fetch('/api/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + t } }).catch(function () {});
  });
  function signOut(note) {
    token = '';
    sessionStorage.removeItem('chatd.portal.token');
    clearTimeout(retryTimer);
    retryTimer = 0;
    if (ws) {
      var s = ws;
      ws = null;
      s.close(1000);
    }
    setConn(false, 'Signed out');
    showLogin(note);
  }

  // ---- socket ----
  var ws = null;
  var ready = false;
  var attempt = 0;
  var retryTimer = 0;
  var listedAt = 0;
  var replay = null; // {after, count, min} while the replay after connecting is arriving

  function send(type, data) {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: type, data: data }));
  }
  function setConn(ok, text) {
    var c = $('conn');
    c.textContent = text;
    c.classList.toggle('ok', ok);
  }
  function connect() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    if (ws || !token) return;
    var proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
    var s = new WebSocket(proto + location.host + '/ws/admin');
    ws = s;
    setConn(false, attempt ? 'Reconnecting…' : 'Connecting…');
    var openTimer = setTimeout(function () { s.close(); }, 10000);
    s.onopen = function () {
      clearTimeout(openTimer);
      replay = { after: maxOffset, count: 0, min: 0 };
      send('admin:add', { token: token, after: maxOffset, limit: LIMIT });
    };
    s.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f && f.type) handle(f.type, f.data);
    };
    s.onclose = function () {
      clearTimeout(openTimer);
      if (ws !== s) return;
      ws = null;
      ready = false;
      // Back off from scratch only after a connection that lived a while.
      if (listedAt && Date.now() - listedAt > 5000) attempt = 0;
      listedAt = 0;
      if (!token) return;
      setConn(false, 'Reconnecting…');
      var cap = Math.min(4000, 500 * Math.pow(2, attempt++)); // back within seconds after a restart (1012), jittered below
      retryTimer = setTimeout(connect, cap / 2 + Math.random() * cap / 2);
    };
  }

  function handle(type, data) {
    switch (type) {
    case 'admin:list':
      var fresh = new Map();
      (data || []).forEach(function (v) { if (v && v.id) fresh.set(v.id, v); });
      visitors = fresh;
      ready = true;
      listedAt = Date.now();
      setConn(true, 'Connected');
      outbox.forEach(transmit);
      renderSoon();
      break;
    case 'admin:messages':
      (data || []).forEach(function (m) { addMessage(m, false); });
      if (replay && data && data.length) {
        replay.count += data.length;
        if (!replay.min || data[0].offset < replay.min) replay.min = data[0].offset;
        if (replay.after && replay.count >= LIMIT) pruneBefore(replay.min);
      }
      renderSoon();
      break;
    case 'admin:message':
      addMessage(data, true);
      renderSoon();
      break;
    case 'admin:client_status':
      if (!data || !data.id) break;
      var v = visitor(data.id);
      if (data.name) v.name = data.name;
      v.connected = !!data.status;
      if (!data.status) v.seen = new Date().toISOString();
      renderSoon();
      break;
    case 'admin:history':
      if (!data || !data.client) break;
      var c = conv(data.client);
      c.loading = false;
      (data.messages || []).forEach(function (m) { addMessage(m, false); });
      if (!data.more) c.complete = true;
      renderSoon(true);
      break;
    case 'error':
      onError(data || {});
      break;
    }
  }

  function onError(e) {
    if (e.code === 'unauthorized') {
      signOut('Your session has ended. Please sign in again; your unsent replies are kept.');
      return;
    }
    var item = e.cid && outbox.filter(function (x) { return x.cid === e.cid; })[0];
    if (!item) return;
    if (e.code === 'rate_limited' || e.code === 'unavailable' || e.code === 'internal') {
      note(e.code === 'rate_limited' ? 'Sending too fast; retrying in a moment.' : 'The server could not store the reply; retrying.');
      setTimeout(function () { if (outbox.indexOf(item) >= 0) transmit(item); }, 1500);
    } else {
      outbox = outbox.filter(function (x) { return x !== item; });
      saveOutbox();
      if (e.code === 'not_found') note('That visitor no longer exists; the reply was not sent.');
      else if (e.code === 'too_large') note('The reply is too long (max ' + MAX_TEXT + ' bytes).');
      else note('The reply was not sent: ' + (e.message || e.code));
      if (item.client === selected && !drafts[selected]) {
        drafts[selected] = item.text;
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
  function visitor(id) {
    var v = visitors.get(id);
    if (!v) {
      v = { id: id, name: '', connected: false, last: 0 };
      visitors.set(id, v);
    }
    return v;
  }
  function conv(id) {
    var c = convs.get(id);
    if (!c) {
      c = { msgs: [], offsets: {}, complete: false, loading: false };
      convs.set(id, c);
    }
    return c;
  }
  function addMessage(m, live) {
    if (!m || typeof m.offset !== 'number' || !m.client) return;
    if (m.offset > maxOffset) maxOffset = m.offset;
    if (m.from === 'admin' && m.cid) {
      var before = outbox.length;
      outbox = outbox.filter(function (x) { return !(x.cid === m.cid && x.client === m.client); });
      if (outbox.length !== before) saveOutbox();
    }
    var c = conv(m.client);
    if (c.offsets[m.offset]) return;
    c.offsets[m.offset] = true;
    var i = c.msgs.length;
    while (i > 0 && c.msgs[i - 1].offset > m.offset) i--;
    c.msgs.splice(i, 0, m);
    var v = visitor(m.client);
    if (m.offset > (v.last || 0)) v.last = m.offset;
    if (live && m.from === 'client' && document.hidden) {
      hiddenCount++;
      document.title = '(' + hiddenCount + ') ' + TITLE;
      beep();
    }
  }
  // pruneBefore forgets cached messages older than a replay that hit its limit: they may have a gap.
  function pruneBefore(offset) {
    convs.forEach(function (c) {
      var kept = c.msgs.filter(function (m) { return m.offset >= offset; });
      if (kept.length !== c.msgs.length) {
        c.msgs = kept;
        c.offsets = {};
        kept.forEach(function (m) { c.offsets[m.offset] = true; });
        c.complete = false;
      }
    });
  }
  function unread(id) {
    var c = convs.get(id);
    if (!c) return 0;
    var r = read[id] || 0;
    var n = 0;
    c.msgs.forEach(function (m) { if (m.from === 'client' && m.offset > r) n++; });
    return n;
  }
  function markRead() {
    if (!selected || document.hidden) return;
    var c = convs.get(selected);
    var last = c && c.msgs.length ? c.msgs[c.msgs.length - 1].offset : 0;
    if (last > (read[selected] || 0)) {
      read[selected] = last;
      saveRead();
    }
  }
  function transmit(item) {
    if (ready) send('admin:message', { client: item.client, cid: item.cid, text: item.text });
  }

  // ---- sound ----
  function beep() {
    if (!sound) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator();
      var g = audio.createGain();
      o.type = 'sine';
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.0001, audio.currentTime);
      g.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      o.connect(g);
      g.connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + 0.3);
    } catch (e) { /* no audio */ }
  }
  $('sound').addEventListener('change', function () {
    sound = this.checked;
    localStorage.setItem('chatd.portal.sound', sound ? '1' : '0');
    if (sound) beep();
  });

  // ---- rendering ----
  var renderTimer = 0;
  var keepScroll = false;
  function renderSoon(older) {
    if (older) keepScroll = true;
    if (renderTimer) return;
    renderTimer = setTimeout(function () {
      renderTimer = 0;
      render();
    }, 0);
  }
  function render() {
    markRead();
    renderList();
    renderConversation();
  }
  function displayName(v) { return v.name || 'Visitor ' + v.id.slice(0, 6); }
  function preview(id) {
    var c = convs.get(id);
    var m = c && c.msgs[c.msgs.length - 1];
    if (!m) return '';
    return (m.from === 'admin' ? (m.admin === adminName ? 'You: ' : (m.admin || 'Agent') + ': ') : '') + m.text;
  }
  // The list keeps one row element per visitor and only moves and refills rows, so a
  // click that starts while a message arrives still lands on the same row.
  var rows = new Map(); // visitor id -> button
  function renderList() {
    var list = Array.from(visitors.values());
    list.sort(function (a, b) {
      return (b.last || 0) - (a.last || 0) || String(b.created || '').localeCompare(String(a.created || ''));
    });
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
    $('no-visitors').hidden = list.length > 0;
    var online = list.filter(function (v) { return v.connected; }).length;
    $('visitor-count').textContent = list.length ? online + ' online · ' + list.length : '';
  }
  function fillRow(b, v) {
    b.className = 'visitor' + (v.id === selected ? ' selected' : '');
    var dot = el('span', 'dot' + (v.connected ? ' online' : ''));
    dot.title = v.connected ? 'Online' : 'Offline';
    var body = el('span', 'visitor-body');
    var top = el('span', 'visitor-top');
    top.appendChild(el('span', 'visitor-name', displayName(v)));
    var c = convs.get(v.id);
    var last = c && c.msgs[c.msgs.length - 1];
    top.appendChild(el('span', 'visitor-time', last ? fmtTime(last.at) : ''));
    body.appendChild(top);
    var bottom = el('span', 'visitor-bottom');
    bottom.appendChild(el('span', 'visitor-preview', preview(v.id) || (v.connected ? 'Online' : 'No messages')));
    var n = v.id === selected && !document.hidden ? 0 : unread(v.id);
    if (n) bottom.appendChild(el('span', 'unread', n > 99 ? '99+' : String(n)));
    body.appendChild(bottom);
    b.replaceChildren(dot, body);
  }
  $('visitors').addEventListener('click', function (ev) {
    var b = ev.target.closest('button.visitor');
    if (b) select(b.getAttribute('data-id'));
  });

  var shownConv = '';
  var nodeCache = new Map(); // key -> node of the shown conversation
  function select(id) {
    if (selected === id) return;
    selected = id;
    sessionStorage.setItem('chatd.portal.selected', id);
    renderSoon();
  }
  function renderConversation() {
    var v = selected && visitors.get(selected);
    $('placeholder').hidden = !!v;
    $('conversation').hidden = !v;
    if (!v) return;
    var c = conv(selected);
    var box = $('messages');
    var switched = shownConv !== selected;
    var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    var fromBottom = box.scrollHeight - box.scrollTop;
    if (switched) {
      shownConv = selected;
      $('reply-text').value = drafts[selected] || '';
      $('reply-note').hidden = true;
      if (!c.complete && c.msgs.length < 30) loadOlder();
    }
    $('conv-name').textContent = displayName(v);
    $('conv-dot').className = 'dot' + (v.connected ? ' online' : '');
    var page = v.meta && v.meta.page ? ' · on ' + v.meta.page : '';
    $('conv-sub').textContent = (v.connected ? 'Online now' : 'Offline' + (v.seen ? ' · last seen ' + fmtTime(v.seen) : '')) +
      page + ' · visitor ' + v.id;
    $('older').hidden = c.complete || (c.msgs.length === 0 && c.loading);
    $('older').disabled = c.loading;
    $('older').textContent = c.loading ? 'Loading…' : 'Load earlier messages';

    // Nodes are kept per message, so a new message does not disturb a text selection.
    if (switched) nodeCache = new Map();
    var fresh = new Map();
    function cached(key, make) {
      var n = nodeCache.get(key) || make();
      fresh.set(key, n);
      return n;
    }
    var nodes = [];
    var day = '';
    c.msgs.forEach(function (m) {
      var d = m.at ? new Date(m.at).toDateString() : '';
      if (d && d !== day) {
        day = d;
        nodes.push(cached('d' + d, function () { return el('div', 'day', fmtDay(m.at)); }));
      }
      nodes.push(cached('o' + m.offset, function () { return messageNode(m, v, false); }));
    });
    outbox.forEach(function (item) {
      if (item.client !== selected) return;
      nodes.push(cached('p' + item.cid, function () {
        return messageNode({ from: 'admin', admin: adminName, text: item.text, cid: item.cid }, v, true);
      }));
    });
    if (!nodes.length && c.complete) nodes.push(cached('empty', function () { return el('div', 'day', 'No messages yet'); }));
    nodeCache = fresh;
    var list = $('message-list');
    nodes.forEach(function (n, i) {
      if (list.children[i] !== n) list.insertBefore(n, list.children[i] || null);
    });
    while (list.children.length > nodes.length) list.lastChild.remove();
    if (switched || atBottom) box.scrollTop = box.scrollHeight;
    else if (keepScroll) box.scrollTop = box.scrollHeight - fromBottom;
    keepScroll = false;
  }
  function messageNode(m, v, pending) {
    var agent = m.from === 'admin';
    var wrap = el('div', 'msg ' + (agent ? 'from-agent' : 'from-visitor') + (pending ? ' pending' : ''));
    if (m.offset) wrap.setAttribute('data-offset', m.offset);
    if (m.cid) wrap.setAttribute('data-cid', m.cid);
    wrap.appendChild(el('div', 'text', m.text));
    var meta = el('div', 'meta');
    meta.appendChild(el('span', 'who', agent ? (m.admin || 'Agent') : displayName(v)));
    meta.appendChild(el('span', 'when', pending ? 'Sending…' : fmtTime(m.at)));
    wrap.appendChild(meta);
    return wrap;
  }
  function loadOlder() {
    var c = conv(selected);
    if (c.loading || c.complete || !ready) return;
    var v = visitors.get(selected);
    var before = c.msgs.length ? c.msgs[0].offset : (v && v.last ? v.last + 1 : maxOffset + 1);
    c.loading = true;
    send('admin:history', { client: selected, before: before, limit: 100 });
  }
  $('older').addEventListener('click', loadOlder);

  // ---- reply box ----
  $('reply-text').addEventListener('input', function () {
    if (!selected) return;
    if (this.value) drafts[selected] = this.value;
    else delete drafts[selected];
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
  function reply() {
    var box = $('reply-text');
    var text = box.value.trim();
    if (!text || !selected) return;
    if (new TextEncoder().encode(text).length > MAX_TEXT) {
      note('The reply is too long (max ' + MAX_TEXT + ' bytes).');
      return;
    }
    var item = { client: selected, cid: rid(), text: text };
    outbox.push(item);
    saveOutbox();
    delete drafts[selected];
    saveDrafts();
    box.value = '';
    transmit(item);
    keepScroll = false;
    renderSoon();
    $('messages').scrollTop = $('messages').scrollHeight;
  }

  // ---- page visibility ----
  document.addEventListener('visibilitychange', function () {
    if (document.hidden) return;
    hiddenCount = 0;
    document.title = TITLE;
    if (token && !ws) {
      attempt = 0;
      connect();
    }
    renderSoon();
  });
  // A lost network often leaves a socket that looks open: drop it; the outbox keeps what is unsent.
  window.addEventListener('offline', function () {
    if (!ws || !token) return;
    var s = ws;
    ws = null;
    ready = false;
    s.onclose = s.onmessage = null;
    s.close();
    setConn(false, 'Reconnecting…');
    retryTimer = retryTimer || setTimeout(connect, 1000);
  });
  window.addEventListener('online', function () {
    if (token && !ws) {
      attempt = 0;
      connect();
    }
  });

  if (token) {
    showApp();
    connect();
  } else {
    showLogin('');
  }
}());
