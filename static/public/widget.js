/*! chatd visitor widget. Include with one tag:
 *  <script src="https://chat.example.com/widget.js" defer></script>
 * Optional attributes: data-title, data-color, data-greeting, data-position (right|left), data-lang.
 */
(function () {
  'use strict';

  var script = document.currentScript;
  if (!script || !script.src || document.querySelector('chatd-widget')) return;

  // Strings, ready for translation: add a language next to "en".
  var I18N = {
    en: {
      title: 'Chat with us',
      subtitle: 'We usually reply in a few minutes',
      greeting: 'Hi there! How can we help you today?',
      placeholder: 'Write a message…',
      send: 'Send',
      open: 'Open chat',
      close: 'Close chat',
      connecting: 'Connecting…',
      reconnecting: 'Reconnecting… your messages are kept',
      sending: 'Sending…',
      notSent: 'Not sent',
      you: 'You',
      support: 'Support',
      rateLimited: 'You are sending messages quickly, we will send this one in a moment.',
      tooLarge: 'That message is too long. Please shorten it and try again.',
      unread: 'unread messages',
      powered: 'Powered by chatd',
      adjectives: ['Blue', 'Green', 'Golden', 'Quiet', 'Brave', 'Happy', 'Lucky', 'Swift', 'Sunny', 'Gentle',
        'Clever', 'Calm', 'Bright', 'Silver', 'Misty', 'Cosmic', 'Jolly', 'Witty', 'Amber', 'Coral'],
      animals: ['Otter', 'Fox', 'Panda', 'Owl', 'Koala', 'Heron', 'Lynx', 'Dolphin', 'Badger', 'Robin',
        'Falcon', 'Seal', 'Hedgehog', 'Penguin', 'Tiger', 'Rabbit', 'Whale', 'Wren', 'Moose', 'Gecko']
    }
  };

  var src = new URL(script.src, location.href);
  var attr = function (n) { return script.getAttribute('data-' + n) || ''; };
  var lang = (attr('lang') || document.documentElement.lang || 'en').toLowerCase();
  var T = I18N[lang] || I18N[lang.split('-')[0]] || I18N.en;
  var title = attr('title') || T.title;
  var greeting = attr('greeting') || T.greeting;
  var wsURL = (src.protocol === 'https:' ? 'wss://' : 'ws://') + src.host + '/ws/client';
  var KEY = 'chatd:' + src.origin + ':';
  var MAX_HISTORY = 200;
  var MAX_TEXT = 4096;

  // ---- storage (localStorage may be missing or full: then we just keep memory) ----
  function load(k, def) {
    try { var v = localStorage.getItem(KEY + k); return v ? JSON.parse(v) : def; } catch (e) { return def; }
  }
  function save(k, v) {
    try { localStorage.setItem(KEY + k, JSON.stringify(v)); } catch (e) { /* memory only */ }
  }
  function rid() {
    var a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }
  function pick(list) { return list[Math.floor(Math.random() * list.length)]; }

  var me = load('me', null) || { id: '', token: '', name: pick(T.adjectives) + ' ' + pick(T.animals) };
  var msgs = load('msgs', []); // confirmed messages, ordered by offset, last MAX_HISTORY
  var read = load('read', 0); // highest admin message offset the visitor has seen
  function outbox() { return load('outbox', []); }
  function setOutbox(list) { save('outbox', list); }

  // ---- DOM (Shadow DOM, text only) ----
  var css = '' +
    ':host{all:initial!important;display:block!important;--a:#2563eb}' +
    '*{box-sizing:border-box;margin:0;padding:0;font:inherit;color:inherit}' +
    '.r{position:fixed;z-index:2147483000;bottom:20px;right:20px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2937;-webkit-font-smoothing:antialiased}' +
    '.r.l{right:auto;left:20px}' +
    'button{cursor:pointer;border:0;background:none}' +
    '.b{width:60px;height:60px;border-radius:50%;background:var(--a);color:#fff;display:flex;align-items:center;justify-content:center;box-shadow:0 6px 24px rgba(15,23,42,.25);transition:transform .15s;margin-left:auto}' +
    '.l .b{margin-left:0}.b:hover{transform:scale(1.06)}.b:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}' +
    '.b svg{width:28px;height:28px;fill:currentColor}.b .c2,.o .b .c1{display:none}.o .b .c2{display:block}' +
    '.k{position:absolute;top:-2px;right:-2px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#ef4444;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center;border:2px solid #fff}' +
    '.p{display:none;flex-direction:column;width:370px;height:min(600px,calc(100vh - 110px));margin-bottom:14px;background:#fff;border-radius:16px;overflow:hidden;box-shadow:0 12px 48px rgba(15,23,42,.28)}' +
    '.o .p{display:flex}' +
    '.h{display:flex;align-items:center;gap:12px;padding:16px 14px 16px 18px;background:var(--a);color:#fff}' +
    '.av{width:38px;height:38px;border-radius:50%;background:rgba(255,255,255,.22);display:flex;align-items:center;justify-content:center;flex:none}' +
    '.av svg{width:20px;height:20px;fill:#fff}' +
    '.ht{flex:1;min-width:0}.t{font-size:16px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}' +
    '.s{font-size:12.5px;opacity:.88;display:flex;align-items:center;gap:6px}.s:before{content:"";width:7px;height:7px;border-radius:50%;background:#fbbf24}.on .s:before{background:#4ade80}' +
    '.x{color:#fff;width:34px;height:34px;border-radius:8px;display:flex;align-items:center;justify-content:center}.x:hover{background:rgba(255,255,255,.16)}.x svg{width:18px;height:18px;fill:currentColor}' +
    '.g{flex:1;overflow-y:auto;padding:18px 14px 8px;background:#f8fafc;display:flex;flex-direction:column;gap:10px}' +
    '.m{max-width:82%;display:flex;flex-direction:column;align-self:flex-start}.m.me{align-self:flex-end;align-items:flex-end}' +
    '.mt{padding:9px 13px;border-radius:16px 16px 16px 4px;background:#fff;border:1px solid #e5e7eb;white-space:pre-wrap;overflow-wrap:anywhere}' +
    '.me .mt{background:var(--a);color:#fff;border-color:transparent;border-radius:16px 16px 4px 16px}' +
    '.mm{font-size:11px;color:#6b7280;margin:3px 4px 0}.pe .mt{opacity:.65}.fa .mm{color:#dc2626}' +
    '.n{margin:0 14px 8px;padding:8px 10px;border-radius:8px;background:#fef3c7;color:#92400e;font-size:12.5px}' +
    '.f{display:flex;align-items:flex-end;gap:8px;padding:10px 12px;border-top:1px solid #e5e7eb;background:#fff}' +
    'textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:12px;padding:9px 12px;max-height:120px;outline:0;background:#fff}' +
    'textarea:focus{border-color:var(--a);box-shadow:0 0 0 3px color-mix(in srgb,var(--a) 18%,transparent)}' +
    '.sd{width:38px;height:38px;border-radius:50%;background:var(--a);color:#fff;display:flex;align-items:center;justify-content:center;flex:none}.sd svg{width:18px;height:18px;fill:currentColor}' +
    '.w{text-align:center;font-size:11px;color:#9ca3af;padding:0 0 8px;background:#fff}' +
    '[hidden]{display:none!important}' +
    '@media (max-width:480px){.r,.r.l{bottom:14px;right:14px;left:auto}.r.l{left:14px;right:auto}' +
    '.o.r{inset:0}.o .p{width:100%;height:100%;margin:0;border-radius:0}.o .b{display:none}textarea{font-size:16px}}';

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function icon(d, cls) {
    var ns = 'http://www.w3.org/2000/svg';
    var s = document.createElementNS(ns, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    if (cls) s.setAttribute('class', cls);
    var p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    s.appendChild(p);
    return s;
  }
  var CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-4.5 3.6A.9.9 0 0 1 2 20.9V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z';
  var CLOSE = 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4L12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z';
  var SEND = 'M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z';

  var host = document.createElement('chatd-widget');
  var shadow = host.attachShadow({ mode: 'open' });
  if (shadow.adoptedStyleSheets && window.CSSStyleSheet && 'replaceSync' in CSSStyleSheet.prototype) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    shadow.appendChild(el('style', '', css)); // old browsers
  }
  var color = attr('color');
  if (color && window.CSS && CSS.supports('color', color)) host.style.setProperty('--a', color);

  var root = el('div', 'r' + (attr('position') === 'left' ? ' l' : ''));
  var panel = el('section', 'p');
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', title);
  var head = el('div', 'h');
  var av = el('div', 'av');
  av.appendChild(icon(CHAT));
  var ht = el('div', 'ht');
  ht.appendChild(el('div', 't', title));
  var status = el('div', 's', T.subtitle);
  ht.appendChild(status);
  var closeBtn = el('button', 'x');
  closeBtn.setAttribute('aria-label', T.close);
  closeBtn.appendChild(icon(CLOSE));
  head.appendChild(av);
  head.appendChild(ht);
  head.appendChild(closeBtn);
  var log = el('div', 'g');
  log.setAttribute('role', 'log');
  log.setAttribute('aria-live', 'polite');
  var notice = el('div', 'n');
  notice.hidden = true;
  var form = el('form', 'f');
  var input = el('textarea');
  input.rows = 1;
  input.placeholder = T.placeholder;
  input.setAttribute('aria-label', T.placeholder);
  var sendBtn = el('button', 'sd');
  sendBtn.type = 'submit';
  sendBtn.setAttribute('aria-label', T.send);
  sendBtn.appendChild(icon(SEND));
  form.appendChild(input);
  form.appendChild(sendBtn);
  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(notice);
  panel.appendChild(form);
  panel.appendChild(el('div', 'w', T.powered));
  var bubble = el('button', 'b');
  bubble.setAttribute('aria-label', T.open);
  bubble.appendChild(icon(CHAT, 'c1'));
  bubble.appendChild(icon(CLOSE, 'c2'));
  var badge = el('span', 'k');
  badge.hidden = true;
  bubble.appendChild(badge);
  root.appendChild(panel);
  root.appendChild(bubble);
  shadow.appendChild(root);

  // ---- rendering ----
  var byOffset = {}; // offset -> element
  var byCid = {}; // cid of a visitor message -> element (pending or confirmed)
  var greet = el('div', 'm');
  greet.appendChild(el('div', 'mt', greeting));
  log.appendChild(greet);

  function time(iso) {
    var d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  function bubbleFor(m, pending) {
    var mine = m.from !== 'admin';
    var e = el('div', 'm' + (mine ? ' me' : '') + (pending ? ' pe' : ''));
    e.appendChild(el('div', 'mt', m.text));
    e.appendChild(el('div', 'mm', pending ? T.sending : meta(m)));
    return e;
  }
  function meta(m) {
    return (m.from === 'admin' ? (m.admin || T.support) : T.you) + ' · ' + time(m.at);
  }
  function stick() { log.scrollTop = log.scrollHeight; }
  function place(e, offset) {
    // Confirmed messages stay ordered by offset, pending ones stay at the end.
    e.setAttribute('data-offset', offset);
    var kids = log.children;
    for (var i = 1; i < kids.length; i++) {
      var o = kids[i].getAttribute('data-offset');
      if (o === null || Number(o) > offset) { log.insertBefore(e, kids[i]); return; }
    }
    log.appendChild(e);
  }
  function showPending(item) {
    if (byCid[item.cid]) return;
    var e = bubbleFor({ from: 'client', text: item.text }, true);
    e.setAttribute('data-cid', item.cid);
    byCid[item.cid] = e;
    log.appendChild(e);
    stick();
  }
  function fail(cid, why) {
    setOutbox(outbox().filter(function (x) { return x.cid !== cid; }));
    var e = byCid[cid];
    if (e && e.classList.contains('pe')) {
      e.classList.add('fa');
      e.lastChild.textContent = T.notSent;
    }
    say(why);
  }

  // accept records a stored message (from the server or from storage); false if already shown.
  function accept(m, fromStore) {
    if (typeof m.offset !== 'number' || byOffset[m.offset]) return false;
    if (m.client && me.id && m.client !== me.id) return false;
    var e = m.from === 'client' && m.cid ? byCid[m.cid] : null;
    if (e && e.getAttribute('data-offset') !== null) return false; // same cid already confirmed
    if (e) {
      e.classList.remove('pe', 'fa');
      e.lastChild.textContent = meta(m);
      e.removeAttribute('data-cid');
    } else {
      e = bubbleFor(m, false);
      if (m.from === 'client' && m.cid) byCid[m.cid] = e;
    }
    byOffset[m.offset] = e;
    place(e, m.offset);
    if (!fromStore) {
      msgs.push(m);
      msgs.sort(function (a, b) { return a.offset - b.offset; });
      if (msgs.length > MAX_HISTORY) msgs = msgs.slice(-MAX_HISTORY);
    }
    return true;
  }
  function lastOffset() { return msgs.length ? msgs[msgs.length - 1].offset : 0; }

  function unread() {
    var n = 0;
    msgs.forEach(function (m) { if (m.from === 'admin' && m.offset > read) n++; });
    return n;
  }
  function updateBadge() {
    if (isOpen() && !document.hidden) {
      var l = lastOffset();
      if (l > read) { read = l; save('read', read); }
    }
    var n = isOpen() ? 0 : unread();
    badge.hidden = n === 0;
    badge.textContent = n > 9 ? '9+' : String(n);
    bubble.setAttribute('aria-label', n ? T.open + ' (' + n + ' ' + T.unread + ')' : T.open);
  }
  var noticeTimer = 0;
  function say(text) {
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { notice.hidden = true; }, 6000);
  }
  function setStatus(text, online) {
    status.textContent = text;
    root.classList.toggle('on', !!online);
  }

  msgs.forEach(function (m) { accept(m, true); });
  outbox().forEach(showPending);

  // ---- connection ----
  var ws = null;
  var ready = false; // client:id received on the current socket
  var attempt = 0;
  var retryTimer = 0;
  var identifiedAt = 0;

  function frame(type, data) {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: type, data: data }));
  }
  function transmit(item) {
    if (ready) frame('client:message', { cid: item.cid, text: item.text });
  }
  function connect() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    if (ws) return;
    var s;
    try { s = new WebSocket(wsURL); } catch (e) { schedule(); return; }
    ws = s;
    setStatus(ready || attempt ? T.reconnecting : T.connecting);
    var openTimer = setTimeout(function () { s.close(); }, 10000);
    s.onopen = function () {
      clearTimeout(openTimer);
      frame('client:add', { name: me.name, token: me.token, after: lastOffset(), meta: { page: location.href } });
    };
    s.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f && f.type) handle(f.type, f.data);
    };
    s.onclose = function (ev) {
      clearTimeout(openTimer);
      if (ws !== s) return;
      ws = null;
      ready = false;
      // Back off from scratch only after a connection that lived a while.
      if (identifiedAt && Date.now() - identifiedAt > 5000) attempt = 0;
      identifiedAt = 0;
      setStatus(T.reconnecting);
      schedule(ev.code === 1008 ? 3 : 0);
    };
  }
  function schedule(extra) {
    if (retryTimer) return;
    var cap = Math.min(15000, 500 * Math.pow(2, attempt + (extra || 0)));
    attempt++;
    retryTimer = setTimeout(connect, cap / 2 + Math.random() * cap / 2);
  }
  function reconnectNow() {
    if (!ws && (me.token || outbox().length || isOpen())) { attempt = 0; connect(); }
  }

  function handle(type, data) {
    if (type === 'client:id' && data) {
      if (me.id && data.id !== me.id) {
        // The server did not know our token: a new visitor, so the stored history is not ours.
        msgs = [];
        read = 0;
        save('read', 0);
        Object.keys(byOffset).forEach(function (k) { log.removeChild(byOffset[k]); });
        byOffset = {};
        byCid = {};
        Array.prototype.forEach.call(log.querySelectorAll('[data-cid]'), function (e) {
          byCid[e.getAttribute('data-cid')] = e;
        });
      }
      me = { id: data.id, token: data.token, name: data.name || me.name };
      save('me', me);
      save('msgs', msgs);
      ready = true;
      identifiedAt = Date.now();
      setStatus(T.subtitle, true);
      outbox().forEach(function (item) { showPending(item); transmit(item); });
    } else if (type === 'client:messages' || type === 'client:message') {
      var list = type === 'client:messages' ? data || [] : [data];
      var changed = false;
      list.forEach(function (m) {
        if (!m) return;
        if (m.from === 'client' && m.cid) setOutbox(outbox().filter(function (x) { return x.cid !== m.cid; }));
        if (accept(m, false)) changed = true;
      });
      if (changed) {
        save('msgs', msgs);
        stick();
        updateBadge();
      }
    } else if (type === 'error' && data) {
      var cid = data.cid;
      if (data.code === 'rate_limited' && !ready) {
        // Too many new visitors from this address: identify again later.
        if (ws) ws.close();
      } else if (data.code === 'rate_limited') {
        say(T.rateLimited);
        if (cid) setTimeout(function () { resend(cid); }, 1500);
      } else if (data.code === 'too_large' && cid) {
        fail(cid, T.tooLarge);
      } else if (data.code === 'bad_request' && cid) {
        fail(cid, data.message || T.notSent);
      } else if ((data.code === 'unavailable' || data.code === 'internal') && cid) {
        setTimeout(function () { resend(cid); }, 2000);
      }
    }
  }
  function resend(cid) {
    outbox().forEach(function (item) { if (item.cid === cid) transmit(item); });
  }

  function send() {
    var text = input.value.replace(/^\s+|\s+$/g, '');
    if (!text) return;
    if (new TextEncoder().encode(text).length > MAX_TEXT) { say(T.tooLarge); return; }
    var item = { cid: rid(), text: text };
    var box = outbox();
    box.push(item);
    setOutbox(box);
    input.value = '';
    grow();
    showPending(item);
    if (ready) transmit(item);
    else reconnectNow();
  }

  // ---- interaction ----
  function isOpen() { return root.classList.contains('o'); }
  function toggle(open) {
    root.classList.toggle('o', open);
    bubble.setAttribute('aria-expanded', String(open));
    updateBadge();
    if (open) {
      reconnectNow();
      stick();
      input.focus();
    }
  }
  function grow() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 120) + 'px';
  }
  bubble.addEventListener('click', function () { toggle(!isOpen()); });
  closeBtn.addEventListener('click', function () { toggle(false); });
  form.addEventListener('submit', function (ev) { ev.preventDefault(); send(); input.focus(); });
  input.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
  });
  input.addEventListener('input', grow);
  root.addEventListener('keydown', function (ev) { if (ev.key === 'Escape' && isOpen()) toggle(false); });
  window.addEventListener('online', reconnectNow);
  // A lost network often leaves a socket that looks open: drop it; the outbox keeps what is unsent.
  window.addEventListener('offline', function () {
    if (!ws) return;
    var s = ws;
    ws = null;
    ready = false;
    s.onclose = s.onmessage = null;
    s.close();
    setStatus(T.reconnecting);
    schedule();
  });
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) { reconnectNow(); updateBadge(); }
  });
  window.addEventListener('storage', function (ev) {
    // Another tab queued a message: show it as pending here too (its ack reaches every tab).
    if (ev.key === KEY + 'outbox') outbox().forEach(showPending);
  });

  function mount() {
    document.body.appendChild(host);
    updateBadge();
    if (me.token || outbox().length) connect();
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
}());
