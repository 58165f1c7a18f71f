/*! chatd visitor widget. Include with one tag:
 *  <script src="https://chat.example.com/widget.js" async></script>
 * Attributes: data-title, data-color, data-greeting, data-position (right|left), data-lang,
 * data-offset-bottom, data-offset-side. JavaScript API: window.chatd (calls queued before
 * this file loads are run). See the README ("Embedding the widget", "JavaScript API").
 * Source: static/widget/*.js in chatd's repository, joined in name order (one function).
 */
(function () {
  'use strict';

  // ---- one widget per page, however often the tag runs ----
  // A second run (a repeated tag, a Turbo-style body swap re-running scripts) only pokes the first.
  var W = window, D = document;
  var GUARD = typeof Symbol == 'function' && Symbol['for'] ? Symbol['for']('chatd.widget') : '__chatd';
  if (W[GUARD]) { try { W[GUARD](); } catch (e) { /* the first instance is gone: nothing to do */ } return; }
  var script = null;
  try { script = D.currentScript; } catch (e) { /* below */ }
  try { if (!script) { var all = D.querySelectorAll('script[src*="widget.js"]'); script = all[all.length - 1]; } } catch (e) { /* none */ }
  if (!script) return;
  var poke = function () {};
  var poked = function () { poke(); };
  try { Object.defineProperty(W, GUARD, { value: poked }); } catch (e) { W[GUARD] = poked; }

  // ---- the host element, on <html> (not <body>, which single-page apps swap) ----
  // A page that took our tag for its own custom element gets a plain <div> host instead.
  var tag = 'chatd-widget';
  try { if (W.customElements.get(tag)) tag = 'div'; } catch (e) { /* none */ }
  var host = D.createElement(tag);
  // A fresh same-origin realm holds the built-ins as the browser made them: the host page may
  // have replaced or polluted its own (JSON, Array.prototype, Object.prototype, setTimeout,
  // DOM methods...). Until it is there, the page's own DOM methods are all there is.
  var frame = null, shadow = null, R = W, own = false;
  try { frame = D.createElement('iframe'); } catch (e) { /* a page that refuses frames: no realm */ }
  try { shadow = host.attachShadow({ mode: 'open' }); } catch (e) { /* below */ }
  // put appends c to p: the realm's appendChild, else the first of the page's that still works.
  function put(p, c) {
    try { return R.Node.prototype.appendChild.call(p, c); } catch (e) { /* the page's own */ }
    try { return p.append(c); } catch (e) { return p.prepend(c); }
  }
  // Without a working attachShadow on the page, the realm comes first (in the host's light DOM,
  // which a shadow root without a slot never shows) and lends its own.
  try { put(shadow || host, frame); } catch (e) { /* no realm */ }
  put(D.documentElement, host);
  try { if (frame.contentWindow.JSON.parse('1') === 1) R = frame.contentWindow; } catch (e) { /* sandboxed: keep the page's */ }
  var JS = R.JSON, Obj = R.Object, RD = R.document, M = R.Math, Dt = R.Date, I18n = R.Intl, URLp = R.URL, Refl = R.Reflect;
  // The widget's own nodes take the realm's prototypes (as if made there), so what the page did to
  // Node, Element, EventTarget... prototypes never reaches them; the page's own nodes, window and
  // document are only touched through the realm's functions (get, on, put).
  function mine(n, P) {
    if (R != W) {
      Obj.setPrototypeOf(n, P);
      // Its classList and style are objects of the page's realm too.
      if (n.classList) Obj.setPrototypeOf(n.classList, R.DOMTokenList.prototype);
      if (n.style) Obj.setPrototypeOf(n.style, R.CSSStyleDeclaration.prototype);
    }
    return n;
  }
  function proto(make, a, b) { return Obj.getPrototypeOf(make.call(RD, a, b)); }
  function node(make, a, b) { return mine(make.call(D, a, b), proto(make, a, b)); }
  var DP = R.Document.prototype;
  function get(o, P, n) { return Obj.getOwnPropertyDescriptor(R[P].prototype, n).get.call(o); }
  function on(o, type, f) { R.EventTarget.prototype.addEventListener.call(o, type, f); }
  function html() { return get(D, 'Document', 'documentElement'); }
  mine(host, proto(DP.createElement, tag));
  if (frame) {
    mine(frame, proto(DP.createElement, 'iframe'));
    frame.hidden = true;
    frame.setAttribute('aria-hidden', 'true');
    frame.tabIndex = -1;
  }
  try { own = get(shadow, 'ShadowRoot', 'host') === host; } catch (e) { /* not a shadow root */ }
  if (own) mine(shadow, R.ShadowRoot.prototype);
  else { try { shadow = R.Element.prototype.attachShadow.call(host, { mode: 'open' }); mine(shadow, R.ShadowRoot.prototype); } catch (e) { shadow = null; } }
  if (!shadow || shadow.host !== host) {
    host.remove();
    warn('attachShadow is broken on this page', 'error');
    return;
  }
  host.setAttribute('data-chatd', '');
  var srcURL = get(script, 'HTMLScriptElement', 'src');
  if (!srcURL) { host.remove(); return; }
  var JS = R.JSON, Obj = R.Object, M = R.Math, Dt = R.Date, I18n = R.Intl, URLp = R.URL, Refl = R.Reflect;
  var isArr = R.Array.isArray, fnText = R.Function.prototype.toString;
  var sT = R.setTimeout, cT = R.clearTimeout;
  function native(f) {
    try { return typeof f == 'function' && /\{\s*\[native code\]\s*\}\s*$/.test(fnText.call(f)); } catch (e) { return false; }
  }
  // Timers run on the page's window with the realm's own functions (valid after the realm goes).
  function later(f, ms) { return sT.call(W, f, ms); }
  function cancel(id) { if (id) cT.call(W, id); }
  var WSP = (R.WebSocket || W.WebSocket).prototype;
  function socketClass() {
    if (native(W.WebSocket)) return W.WebSocket;
    try { return frame.contentWindow.WebSocket || W.WebSocket; } catch (e) { return W.WebSocket; }
  }
  // JSON out without the page's JSON.stringify or any toJSON it added to prototypes.
  function enc(v) {
    var t = typeof v, s, k, i;
    if (v === null || t == 'number' || t == 'boolean' || t == 'string') return JS.stringify(v);
    if (isArr(v)) {
      for (s = '[', i = 0; i < v.length; i++) s += (i ? ',' : '') + enc(v[i]);
      return s + ']';
    }
    for (s = '{', k = Obj.keys(v), i = 0; i < k.length; i++) {
      if (v[k[i]] !== undefined) s += (s.length > 1 ? ',' : '') + JS.stringify(k[i]) + ':' + enc(v[k[i]]);
    }
    return s + '}';
  }
  function dict() { return Obj.create(null); }
  function add(list, x) { list[list.length] = x; return list; }
  function rand() { return M.random(); }
  function str(v, max) { return typeof v == 'string' && v.length <= max; }
  // whole is s without lone surrogates: they have no UTF-8 form, and the server refuses a frame
  // holding one (bad_json). A title cut mid-emoji or a broken paste loses only the broken half.
  function whole(s) { return s.replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g, function (p) { return p[1] ? p : ''; }); }
  // clean gives v when it is a string of at most max UTF-16 units without lone surrogates, else ''.
  function clean(v, max) { return str(v, max) && whole(v) == v ? v : ''; }
  // warn tells the site's developer on the console; a console the page replaced may throw: never into the widget.
  function warn(s, kind) { try { W.console[kind || 'warn'](typeof s == 'string' ? 'chatd: ' + s : s); } catch (e) { /* none */ } }

  var src = new URLp(srcURL, location.href);
  var attr = function (n) { return R.Element.prototype.getAttribute.call(script, 'data-' + n) || ''; };
  var wsURL = (src.protocol == 'https:' ? 'wss://' : 'ws://') + src.host + '/ws/client';
  var KEY = 'chatd:' + src.origin + ':';

  // ---- storage: memory is the truth, localStorage (else sessionStorage) keeps it across pages ----
  function area(name) {
    try { var s = W[name]; s.getItem(KEY); return s; } catch (e) { return null; }
  }
  var LS = area('localStorage'), SS = area('sessionStorage');
  // load returns the stored value of k after check(value) cleaned it, or def; never throws.
  function load(k, check, def) {
    for (var i = 0, a = [LS, SS]; i < 2; i++) {
      var raw = null, v;
      try { raw = a[i] && a[i].getItem(KEY + k); } catch (e) { /* unreadable */ }
      if (raw == null) continue;
      try { v = check(JS.parse(raw)); } catch (e) { v = undefined; }
      if (v !== undefined) return v;
      try { a[i].removeItem(KEY + k); } catch (e) { /* a bad value never comes back */ }
    }
    return def;
  }
  // save writes v under k; when the quota is full it drops kept history first, then falls back
  // to sessionStorage (same tab's later pages), then to memory alone.
  // Returns 2 when localStorage took it, 1 for sessionStorage, 0 for memory only.
  function save(k, v) {
    var s = enc(v), i;
    for (i = 0; i < 2; i++) {
      try { LS.setItem(KEY + k, s); break; } catch (e) { /* full or blocked */ }
      if (i || k == 'conv') { i = 2; break; }
      try { LS.removeItem(KEY + 'conv'); } catch (e) { i = 2; break; }
    }
    if (i < 2) { try { SS.removeItem(KEY + k); } catch (e) { /* none */ } return 2; }
    try { LS.removeItem(KEY + k); } catch (e) { /* none */ }
    try { SS.setItem(KEY + k, s); return 1; } catch (e) { return 0; }
  }
  function checkMe(v) {
    if (v && str(v.id, 64) && str(v.token, 256) && str(v.name, 64) && v.name) {
      return { id: v.id, token: v.token, name: v.name, uid: str(v.uid, 256) ? v.uid : '', email: str(v.email, 254) ? v.email : '' };
    }
  }
  function checkMsgs(v) {
    var out = [];
    for (var i = 0; isArr(v) && i < v.length; i++) {
      var m = v[i];
      if (m && typeof m.offset == 'number' && m.offset > 0 && typeof m.text == 'string' && (m.from == 'client' || m.from == 'admin')) {
        add(out, { offset: m.offset, client: str(m.client, 64) ? m.client : '', from: m.from, admin: str(m.admin, 256) ? m.admin : '',
          cid: str(m.cid, 64) ? m.cid : '', text: m.text, at: str(m.at, 64) ? m.at : '' });
      }
    }
    return out;
  }
  function checkConv(v) {
    if (v && typeof v.after == 'number' && v.after >= 0) return { epoch: str(v.epoch, 256) ? v.epoch : '', after: v.after, msgs: checkMsgs(v.msgs) };
  }
  function checkBox(v) {
    var out = [];
    for (var i = 0; isArr(v) && i < v.length; i++) {
      if (v[i] && str(v[i].cid, 64) && v[i].cid && typeof v[i].text == 'string') add(out, { cid: v[i].cid, text: whole(v[i].text) });
    }
    return out;
  }
  function checkNum(v) { if (typeof v == 'number' && v >= -1) return v; }

  // ---- language: English here, others in widget-lang/<code>.js next to widget.js ----
  var EN = {
    dir: 'ltr',
    title: 'Chat with us',
    greeting: 'Hi there! How can we help you today?',
    placeholder: 'Write a message…',
    send: 'Send',
    open: 'Open chat',
    close: 'Close chat',
    connecting: 'Connecting…',
    reconnecting: 'Reconnecting… your messages are kept',
    ready: 'Leave us a message, we reply here',
    online: 'We are online',
    onlineIn: 'We are online, we usually reply within {n} min',
    away: 'We are away. Leave a message, we reply here',
    awayMail: 'We are away. Leave your email and we will answer by email',
    backAt: 'We are back at {n}',
    backOn: 'We are back on {n}',
    blocked: 'The chat cannot connect on this page.',
    refused: 'The chat is unavailable on this site.',
    down: 'The chat is unavailable right now. We keep trying.',
    sending: 'Sending…',
    notSent: 'Not sent',
    you: 'You',
    support: 'Support',
    typing: '{name} is typing…',
    seen: 'Seen',
    rateLimited: 'You are sending messages quickly, we will send this one in a moment.',
    tooLong: 'This message is too long: remove {n} characters from the end to send it.',
    left: '{n} characters left',
    over: '{n} characters too many',
    preview: 'Agents can see what you type before you send it',
    full: 'This conversation cannot take more messages.',
    unread: 'unread messages',
    powered: 'Powered by chatd',
    order: 'an',
    adjectives: ['Blue', 'Green', 'Golden', 'Quiet', 'Brave', 'Happy', 'Lucky', 'Swift', 'Sunny', 'Gentle',
      'Clever', 'Calm', 'Bright', 'Silver', 'Misty', 'Cosmic', 'Jolly', 'Witty', 'Amber', 'Coral'],
    animals: ['Otter', 'Fox', 'Panda', 'Owl', 'Koala', 'Heron', 'Lynx', 'Dolphin', 'Badger', 'Robin',
      'Falcon', 'Seal', 'Hedgehog', 'Penguin', 'Tiger', 'Rabbit', 'Whale', 'Wren', 'Moose', 'Gecko'],
    feminine: []
  };
  var LANGS = ' de fr es pt ar '; // packs shipped in static/public/widget-lang/
  var lang = (attr('lang') || get(html(), 'HTMLElement', 'lang') || 'en').toLowerCase().split('-')[0];
  if (LANGS.indexOf(' ' + lang + ' ') < 0) lang = 'en';

  // part loads a file next to widget.js that leaves its value on its script element
  // (document.currentScript.chatd) and calls done with it (undefined if it failed).
  // A page under Trusted Types (require-trusted-types-for 'script') refuses a string as a
  // script's src: the URL goes through a policy named chatd (created once; a page whose
  // trusted-types list leaves chatd out keeps the string, and English).
  var TT = 0;
  function part(path, done) {
    var s = node(DP.createElement, 'script'), t = 0, fired = false;
    function finish() {
      if (fired) return;
      fired = true;
      cancel(t);
      s.remove();
      done(s.chatd);
    }
    s.onload = s.onerror = finish;
    t = later(finish, 4000);
    try {
      var u = new URLp(path + src.search, src).href;
      try { TT = TT || W.trustedTypes.createPolicy('chatd', { createScriptURL: String }); u = TT.createScriptURL(u); } catch (e) { /* no Trusted Types */ }
      s.src = u;
      put(html(), s);
    } catch (e) { finish(); } // e.g. a page's policy that refuses it
  }
  function withPack(done) {
    if (lang == 'en') return done(EN);
    part('widget-lang/' + lang + '.js', function (p) {
      var T = dict(), k;
      for (k in EN) if (Obj.prototype.hasOwnProperty.call(EN, k)) T[k] = p && typeof p[k] == typeof EN[k] ? p[k] : EN[k];
      if (!p) lang = 'en';
      done(T);
    });
  }
  withPack(start);

