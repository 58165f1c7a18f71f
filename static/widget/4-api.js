    // ---- part 4 (static/widget/4-api.js), still inside start(T): what the site and the server are told, then start ----
    // ---- events for the site: chatd('on', name, fn) ----
    var handlers = dict();
    function emit(ev, arg) {
      // The listeners at the time of the event: one added or removed by a listener counts from the next event.
      for (var l = handlers[ev], n = l ? l.length : 0, i = 0; i < n; i++) {
        try { l[i](arg); } catch (e) { warn(e, 'error'); } // a site's handler never stops the widget
      }
    }

    // ---- client:seen: this tab showed the conversation up to read ----
    var seenSent = 0, seenT = 0;
    function seen() {
      if (seenT || read <= seenSent) return;
      seenT = later(function () {
        seenT = 0;
        if (ready && read > seenSent) { seenSent = read; frameOut('client:seen', { offset: read }); }
      }, 500);
    }

    // ---- availability before the first frame: GET /api/widget creates no visitor ----
    function fetchAvail() {
      try {
        (R.fetch ? R : W).fetch(src.origin + '/api/widget', { credentials: 'omit' }).then(function (r) { return r.json(); })
          .then(function (a) { if (a && a.error == 'origin_not_allowed') halt('refused'); else if (!ready) setAvail(a); }, function () { /* unknown until connected */ });
      } catch (e) { /* no fetch here: told when connected */ }
    }

    // ---- e-mail capture and transcripts: widget-mail.js, loaded once the panel opens ----
    var mailMod = null, mailAsked = 0;
    function mail(kind, data) {
      if (mailMod) { try { mailMod(kind, data); } catch (e) { /* never break the chat */ } return; }
      if (mailAsked || !avail || avail.email == 'off' || !isOpen()) return;
      mailAsked = 1;
      part('widget-mail.js', function (f) {
        if (typeof f != 'function') return; // not on this page
        mailMod = f({ T: T, lang: lang, el: el, css: addCSS, box: mailBox, input: input, button: sendBtn,
          me: function () { return me; }, avail: function () { return avail; },
          send: function (t, d) { if (ready) frameOut(t, d); return ready; } });
        mail('open');
      });
    }

    // ---- the JavaScript API: window.chatd(name, ...args) and chatd.name(...args) ----
    var ident = null; // { id, hash, name?, email? } from chatd('identify')
    var attrs = null; // attributes not yet sent
    var attrsAt = 0, attrsT = 0;
    // Arguments are read once, checked, then applied: a value the server would refuse (a lone
    // surrogate, over a limit of docs/protocol.md) is left out with a warning, never sent.
    function identify(u) {
      var id = u && u.id, hash = u && u.hash, name = u && u.name, email = u && u.email;
      if (!clean(id, 256) || !clean(hash, 128)) return warn('identify needs { id, hash }');
      var live = !!ws;
      if (me.uid && me.uid != id) forget(1); // another user on this browser: never their conversation
      ident = { id: id, hash: hash };
      if (clean(name, 64)) ident.name = name;
      if (clean(email, 254)) ident.email = email;
      if (live && me.uid != id) { drop(); attempt = 0; connect(); } // the socket spoke for someone else: identify again
    }
    function fits(s, n) { return bytes(s) <= n && whole(s) == s; }
    // The server's rule for attribute names (protocol.md, hidden characters): no control,
    // separator, format, default-ignorable, private-use or noncharacter code point. Spelled
    // as UTF-16 ranges: \p{...} needs the u flag, a syntax error in older browsers.
    var HIDDEN = /[\x00-\x1f\x7f-\x9f\xad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ue000-\uf8ff\ufdd0-\ufdef\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\ufffe\uffff]|\udb40[\udc00-\udfff]|[\udb80-\udbff]/;
    // setAttributes takes a plain object (no array, Date or class instance); per key a string,
    // number or boolean (sent as text) or null (removes the key); any other value is left out.
    function setAttributes(o) {
      var k, v, t, got = dict();
      if (!o || typeof o != 'object' || (t = Obj.getPrototypeOf(o)) && Obj.getPrototypeOf(t)) return warn('setAttributes needs a plain object {key: value}');
      for (k in o) {
        if (!Obj.prototype.hasOwnProperty.call(o, k)) continue;
        try { v = o[k]; v = v === null ? '' : /^(string|number|boolean)$/.test(typeof v) ? '' + v : null; } catch (e) { v = null; }
        if (v != null && k && fits(k, 64) && fits(v, 1024) && !HIDDEN.test(k)) got[k] = v;
        else warn('attribute left out: ' + k);
      }
      attrs = attrs || dict();
      for (k in got) attrs[k] = got[k];
      sendAttrs();
    }
    // sendAttrs sends what is set, merged, at most once every 2 s: the server takes a burst of 10
    // changes, then one per 2 s, and refuses the rest (rate_limited), which would lose them.
    function sendAttrs() {
      if (!ready || !attrs || attrsT) return;
      var w = attrsAt + 2000 - new Dt();
      if (w > 0) { attrsT = later(function () { attrsT = 0; sendAttrs(); }, w); return; }
      attrsAt = +new Dt();
      frameOut('client:attributes', { attributes: attrs });
      attrs = null;
    }
    function drop() {
      var s = ws;
      ws = null;
      ready = false;
      if (s) { s.onclose = s.onmessage = null; WSP.close.call(s); }
    }
    // forget leaves the conversation on this browser (a user signing out): a new visitor next time.
    // Every other tab of the site follows (shared computers): told on the channel, else by the
    // storage event of 'me'; there (remote) nothing is written, the tab takes what is stored
    // (the new visitor once this tab has one) and connects only as that visitor.
    function forget(quiet, remote) {
      var was = !!ws, old = me.id;
      drop();
      me = remote && load('me', checkMe, null) || { id: '', token: '', name: newName(), uid: '', email: '' };
      if (!remote) save('me', me);
      dropKept();
      var pend = log.querySelectorAll('[data-cid]');
      for (var i = 0; i < pend.length; i++) log.removeChild(pend[i]);
      days(); // no day divider over nothing
      byCid = dict();
      box = [];
      input.value = '';
      count();
      read = seenSent = 0;
      if (!remote) {
        save('outbox', box);
        save('draft', '');
        save('read', read);
        keepConv();
        if (channel && old) { try { channel.postMessage(enc({ reset: old })); } catch (e) { /* closed */ } }
      }
      ident = attrs = null;
      setState('idle');
      updateBadge();
      mail('avail'); // the e-mail form forgets the address too
      if (remote ? me.token && (was || isOpen()) : !quiet && (was || isOpen())) { attempt = 0; connect(); }
    }
    // The server deleted this visitor (error visitor_deleted): nothing of it stays
    // on this browser, and no socket opens until the visitor writes again.
    function erase() {
      forget(1);
      for (var i = 0, k = ['me', 'outbox', 'read', 'conv', 'draft']; i < 5; i++) {
        try { LS.removeItem(KEY + k[i]); } catch (e) { /* none */ }
        try { SS.removeItem(KEY + k[i]); } catch (e) { /* none */ }
      }
      gone = 1;
    }
    var api = dict();
    api.open = function () { toggle(true); };
    api.close = function () { toggle(false); };
    api.toggle = function () { toggle(!isOpen()); };
    api.identify = identify;
    api.setAttributes = setAttributes;
    api.reset = function () { forget(); };
    // listens tells whether ev is an event there is and fn a function (off: or none); else it warns.
    function listens(call, ev, fn) {
      if (typeof ev != 'string' || !/^(opened|closed|message|unread|availability)$/.test(ev)) warn(call + ': no event ' + (typeof ev == 'string' ? ev : typeof ev) + ', events: opened|closed|message|unread|availability');
      else if (typeof fn == 'function' || call == 'off' && fn == null) return 1;
      else warn(call + ' needs a function');
    }
    api.on = function (ev, fn) { if (listens('on', ev, fn)) add(handlers[ev] = handlers[ev] || [], fn); };
    api.off = function (ev, fn) {
      if (!listens('off', ev, fn)) return;
      for (var out = [], l = handlers[ev] || [], i = 0; i < l.length; i++) if (fn && l[i] !== fn) add(out, l[i]); // no fn: all of them
      handlers[ev] = out;
    };
    // Every call the page makes runs guarded: a wrong argument gives a warning, never an exception in the page.
    function guard(f) {
      return function () { try { return Refl.apply(f, null, arguments); } catch (e) { warn(e, 'error'); } };
    }
    var chatd = guard(function (name) {
      var f = typeof name == 'string' ? api[name] : null, a = [];
      for (var i = 1; i < arguments.length; i++) add(a, arguments[i]);
      if (typeof f != 'function') return warn('no such call: ' + name);
      return Refl.apply(f, null, a);
    });
    for (var k in api) chatd[k] = guard(api[k]);
    var queued = null;
    try { queued = W.chatd && W.chatd.q; } catch (e) { /* none */ }
    if (!isArr(queued)) queued = null;
    try { W.chatd = chatd; } catch (e) { warn('window.chatd is taken'); }

    poke = function () { ensure(); moved(); };
    setState(stop || 'idle');
    updateBadge();
    // Calls made before this file loaded (the stub's queue), in order, before connecting.
    for (var j = 0; queued && j < queued.length && j < 1000; j++) { try { Refl.apply(chatd, null, queued[j]); } catch (e) { warn(e); } }
    // The draft the visitor left on this site (another page, a reload) is back in the box.
    input.value = load('draft', function (v) { if (typeof v == 'string') return whole(v); }, '');
    count();
    if (me.token || box.length) connect();
    else if (!ws) fetchAvail();
  }
}());
