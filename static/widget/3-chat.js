    // ---- part 3 (static/widget/3-chat.js), still inside start(T): the socket, sending, navigation ----
    // ---- connection ----
    var ws = null;
    var ready = false; // client:id received on the current socket
    var attempt = 0;
    var retryT = 0;
    var identifiedAt = 0;
    var opened = false; // the current socket opened
    var everOpened = false;
    var failed = 0; // attempts in a row that never opened
    var stop = ''; // 'blocked' (CSP) or 'refused' (origin): never retried on this page
    var refusal = '';
    var replayMin = 0;
    var gone = 0; // the server deleted this visitor: no socket until the visitor writes

    function frameOut(type, data) {
      if (ws && ws.readyState == 1) WSP.send.call(ws, enc({ type: type, data: data }));
    }
    function transmit(item) {
      if (ready) frameOut('client:message', { cid: item.cid, text: item.text });
    }
    function visit() { // the page, and the browser's time zone, language and referrer for the agents
      var m = { page: cut(location.href, 1024) }, v = pageTitle();
      if (v) m.title = v; // the page's title, as client:page sends it
      try { v = new I18n.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { v = ''; }
      if (typeof v == 'string' && /^[\w+\-\/]{1,64}$/.test(v)) m.tz = v;
      v = R.navigator.language;
      if (typeof v == 'string' && /^[A-Za-z0-9-]{1,35}$/.test(v)) m.lang = v;
      v = get(D, 'Document', 'referrer');
      if (typeof v == 'string' && v && !/[\x00-\x1f\x7f-\x9f]/.test(v)) m.referrer = cut(v, 1024);
      return m;
    }
    function pageTitle() { // the page's title without control characters (the server refuses them)
      return cut(('' + (get(D, 'Document', 'title') || '')).replace(/[\x00-\x1f\x7f-\x9f]/g, ''), 256);
    }
    function cut(s, n) { // at most n UTF-8 bytes, cut at a character, without lone surrogates
      for (s = whole(s); bytes(s) > n;) s = whole(s.slice(0, M.max(0, s.length - M.ceil((bytes(s) - n) / 3) - 1)));
      return s;
    }
    function hello() {
      // With a token the server ignores the name unless the token is unknown (the visitor
      // was deleted, or the server reset): then a new visitor must not carry the old name.
      var h = { name: me.token ? newName() : me.name, token: me.token, after: conv.after, meta: visit() };
      if (conv.epoch) h.epoch = conv.epoch;
      if (ident) h.identity = ident; // a signed-in user of the site (chatd('identify'))
      return h;
    }
    function connect() {
      cancel(retryT);
      retryT = 0;
      if (ws || stop || gone && !box.length) return;
      gone = 0;
      var s;
      try {
        var C = socketClass();
        s = mine(new C(wsURL), WSP);
      } catch (e) {
        if (e && e.name == 'SecurityError') { halt('blocked'); return; }
        schedule();
        return;
      }
      ws = s;
      opened = false;
      setState(everOpened || attempt ? (failed >= 3 && !everOpened ? 'down' : 'reconnecting') : 'connecting');
      var openT = later(function () { if (ws == s) WSP.close.call(s); }, 10000);
      s.onopen = function () {
        cancel(openT);
        opened = everOpened = true;
        failed = 0;
        frameOut('client:add', hello());
      };
      s.onmessage = function (ev) {
        var f;
        try { f = JS.parse(ev.data); } catch (e) { return; }
        if (f && typeof f.type == 'string') handle(f.type, f.data);
      };
      s.onclose = function (ev) {
        cancel(openT);
        if (ws != s) return;
        ws = null;
        ready = false;
        if (refusal || ev.code == 1008 && /origin/i.test(ev.reason || '')) { halt('refused'); return; }
        if (stop) return;
        // Back off from scratch only after a connection that lived a while.
        if (identifiedAt && new Dt() - identifiedAt > 5000) attempt = 0;
        identifiedAt = 0;
        if (!opened) failed++;
        setState(failed >= 3 && !everOpened ? 'down' : 'reconnecting');
        if (ev.code == 1012) { attempt = 1; var d0 = 500 + rand() * 2500; root.setAttribute('data-restart-retry', M.round(d0)); schedule(d0); } // a restart: back within seconds, spread out
        else schedule(0, ev.code == 1008 ? 3 : 0);
      };
    }
    // schedule plans the next attempt: 0.5-1 s, then doubling to a cap of 5 s, each randomised
    // (50-100 %) so that many visitors do not come back at once: a widget is back within 5 s of
    // the server, and 10 000 of them spread over 2.5 s (about 4 000 handshakes a second).
    // Sending, the page becoming visible and the network coming back try at once.
    function schedule(ms, slower) {
      if (retryT || stop) return;
      var d = ms || M.min(5000, 1000 * M.pow(2, attempt + (slower || 0))) * (0.5 + rand() / 2);
      attempt++;
      root.setAttribute('data-retry', M.round(d));
      retryT = later(connect, d);
    }
    function reconnectNow() {
      if (!ws && !stop && (me.token || box.length || isOpen())) { attempt = 0; connect(); }
    }
    function halt(why) {
      stop = why;
      cancel(retryT);
      retryT = 0;
      root.removeAttribute('data-retry');
      if (ws) { var s = ws; ws = null; try { WSP.close.call(s); } catch (e) { /* closed */ } }
      ready = false;
      setState(why);
      if (why == 'blocked') warn('this page\'s Content-Security-Policy blocks ' + wsURL + '; add ' + src.origin.replace(/^http/, 'ws') + ' to connect-src');
    }
    // A CSP that forbids our socket reports itself here (most browsers do not throw).
    on(D, 'securitypolicyviolation', function (ev) {
      var u = '' + (ev.blockedURI || '');
      if (ev.disposition != 'report' && /^(connect|default)-src/.test(ev.effectiveDirective || ev.violatedDirective || '') &&
        (u == wsURL || u.indexOf(wsURL.split('/ws/')[0]) == 0)) halt('blocked');
    });

    function handle(type, data) {
      var i;
      if (type == 'client:id' && data && typeof data.id == 'string') {
        if ((me.id && data.id != me.id) || data.resync === true) {
          // A new visitor (our token was unknown) or the server's history restarted: what we
          // kept is not this conversation any more. The outbox stays and is sent below.
          dropKept();
          read = me.id && data.id != me.id ? 0 : -1;
          save('read', read);
          days();
        }
        if (me.id != data.id) seenSent = 0;
        me = { id: data.id, token: typeof data.token == 'string' ? data.token : me.token, name: typeof data.name == 'string' ? data.name : me.name,
          uid: ident ? ident.id : me.id == data.id ? me.uid : '', email: str(data.email, 254) ? data.email : '' };
        save('me', me);
        if (typeof data.epoch == 'string') conv.epoch = data.epoch;
        if (typeof data.max_text == 'number' && data.max_text > 0) maxBytes = data.max_text;
        previewNote.hidden = !(preview = data.typing_preview === true);
        tyOn = 0;
        var n = data.agents_online;
        setAvail(data.availability || (typeof n == 'number' ? { available: n > 0, agents_online: n, email: 'off' } : undefined));
        keepConv();
        ready = true;
        sendAttrs();
        replayMin = 0;
        identifiedAt = +new Dt();
        setState('online');
        for (i = 0; i < box.length; i++) { showPending(box[i]); transmit(box[i]); }
        pageSent = location.href;
        count();
      } else if (type == 'client:messages' || type == 'client:message' || type == 'client:history') {
        var list = type == 'client:messages' ? data : type == 'client:history' ? data && data.messages : [data];
        var changed = false, top = log.scrollHeight - log.scrollTop;
        for (i = 0; isArr(list) && i < list.length; i++) {
          var m = list[i];
          if (!m) continue;
          if (m.from == 'client' && m.cid) unbox(m.cid);
          if (type == 'client:messages' && (!replayMin || m.offset < replayMin)) replayMin = m.offset;
          if (accept(m, type == 'client:history')) changed = true;
        }
        if (type == 'client:message' && m && m.from == 'admin') agentTyping(null);
        if (type == 'client:message' && changed && m.from == 'admin') {
          emit('message', { text: m.text, from: m.from, name: m.admin || T.support, at: m.at, offset: m.offset });
        }
        if (type == 'client:history') {
          older = data && data.more === true ? 1 : 0;
          if (changed) { days(); log.scrollTop = log.scrollHeight - top; }
        } else if (changed) {
          keepConv();
          days();
          stick();
          updateBadge();
        }
      } else if (type == 'client:replayed' && data) {
        if (data.more === true) {
          // Older messages after our cursor were not replayed: what we kept before them has a gap.
          var kept = [];
          for (i = 0; i < conv.msgs.length; i++) {
            var o = conv.msgs[i].offset;
            if (replayMin && o < replayMin) { var e = byOffset[o]; if (e && e.parentNode) log.removeChild(e); delete byOffset[o]; } else add(kept, conv.msgs[i]);
          }
          conv.msgs = kept;
          older = 1;
          days();
        }
        if (typeof data.last == 'number' && data.last > conv.after) conv.after = data.last;
        if (read < 0) { read = 0; setRead(conv.after, true); }
        keepConv();
        updateBadge();
        seen();
      } else if (type == 'client:availability') {
        setAvail(data);
        if (data && typeof data.typing_preview == 'boolean') previewNote.hidden = !(preview = data.typing_preview);
      } else if (type == 'client:email' && data && str(data.email, 254)) {
        me.email = data.email;
        save('me', me);
        setState(state);
        mail(type, data);
      } else if (type == 'client:typing') {
        agentTyping(data);
      } else if (type == 'client:seen') {
        seenBy(data);
      } else if (type == 'client:transcript') {
        mail(type, data);
      } else if (type == 'error' && data) {
        var cid = data.cid, code = data.code;
        if (code == 'origin_not_allowed') {
          refusal = code;
        } else if (code == 'visitor_deleted') {
          erase();
        } else if (code == 'bad_identity' && !ready) {
          // The site's hash was refused: chat anonymously rather than not at all.
          warn('identify: ' + data.message);
          ident = null;
          frameOut('client:add', hello());
        } else if (code == 'rate_limited' && !ready) {
          // Too many new visitors from this address: identify again later.
          if (ws) WSP.close.call(ws);
        } else if (code == 'rate_limited' && cid) {
          say(T.rateLimited);
          retry(cid, 1500);
        } else if (code == 'too_large' && cid) {
          fail(cid, fmt(T.tooLong, M.max(1, measure(textOf(cid)).over)));
        } else if (code == 'quota_exceeded' && cid) {
          fail(cid, T.full);
        } else if (code == 'bad_request' && cid) {
          fail(cid, T.notSent);
        } else if ((code == 'unavailable' || code == 'internal') && cid) {
          retry(cid, 2000);
        } else if (code == 'unknown_type' && historyAsked) {
          older = 0; // a server without client:history
        } else if (!cid && ready) {
          mail('error', data); // an answer to client:email or client:transcript
        }
      }
    }
    var tries = dict();
    function retry(cid, ms) {
      var n = tries[cid] = (tries[cid] || 0) + 1;
      later(function () { for (var i = 0; i < box.length; i++) if (box[i].cid == cid) transmit(box[i]); }, M.min(20000, ms * M.pow(1.6, n - 1)) * (0.75 + rand() / 2));
    }
    function textOf(cid) {
      for (var i = 0; i < box.length; i++) if (box[i].cid == cid) return box[i].text;
      var e = byCid[cid];
      return e ? e.firstChild.textContent : '';
    }

    // ---- older messages when the visitor scrolls to the top ----
    var older = 1, historyAsked = 0;
    log.addEventListener('scroll', function () {
      if (log.scrollTop > 40 || !older || !ready || historyAsked) return;
      var first = 0;
      for (var k in byOffset) if (!first || +k < first) first = +k;
      if (!first) return;
      historyAsked = 1;
      later(function () { historyAsked = 0; }, 3000);
      frameOut('client:history', { before: first, limit: 50 });
    });

    // ---- the text limit, in characters a person counts ----
    function bytes(s) {
      for (var n = 0, i = 0, c; i < s.length; i++) {
        c = s.charCodeAt(i);
        n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 && i + 1 < s.length ? (i++, 4) : 3;
      }
      return n;
    }
    function graphemes(s) {
      var out = [];
      try {
        var it = new I18n.Segmenter(lang).segment(s)[R.Symbol.iterator](), r;
        while (!(r = it.next()).done) add(out, r.value.segment);
      } catch (e) {
        for (var i = 0; i < s.length; i++) {
          var c = s.charCodeAt(i);
          add(out, c >= 0xd800 && c < 0xdc00 ? s.slice(i, ++i + 1) : s.charAt(i));
        }
      }
      return out;
    }
    // The limit is in UTF-8 bytes (--max-text), so no number of characters is the limit: the
    // visitor is told how many characters to remove from the end (over).
    // measure: over = characters past the limit, left = about how many more characters like these fit.
    function measure(s) {
      var g = graphemes(s), used = 0, fit = 0;
      for (var i = 0; i < g.length; i++) { var b = bytes(g[i]); if (used + b > maxBytes) break; used += b; fit++; }
      var per = g.length ? M.max(1, bytes(s) / g.length) : 1;
      var left = fit < g.length ? 0 : M.floor((maxBytes - used) / per);
      return { over: g.length - fit, left: left, near: bytes(s) > maxBytes * 0.8 };
    }
    function count() {
      var s = input.value, m = measure(s);
      counter.hidden = !m.near;
      counter.classList.toggle('ov', m.over > 0);
      counter.textContent = m.over ? fmt(T.over, m.over) : fmt(T.left, m.left);
      return m;
    }

    function send() {
      // Sent as typed, white space included (user text is never rewritten); only a blank box is
      // not sent. Lone surrogates go: they have no UTF-8 form.
      var s = whole(input.value);
      if (!/\S/.test(s)) return;
      var m = measure(s);
      if (m.over) { say(fmt(T.tooLong, m.over)); return; }
      var item = { cid: rid(), text: s };
      add(box, item);
      save('outbox', box);
      input.value = '';
      save('draft', '');
      typed(1);
      grow();
      count();
      showPending(item);
      if (ready) transmit(item);
      else reconnectNow();
    }
    function rid() {
      var a = new R.Uint8Array(12), s = '', i;
      try { W.crypto.getRandomValues(a); } catch (e) { for (i = 0; i < 12; i++) a[i] = rand() * 256; }
      for (i = 0; i < 12; i++) s += (a[i] % 36).toString(36);
      return s;
    }

    // ---- the page the visitor is on, also without a full load (pushState, popstate) ----
    var pageSent = '', pageT = 0;
    function moved() {
      cancel(pageT);
      pageT = later(function () {
        if (!ready || location.href == pageSent) return;
        pageSent = location.href;
        frameOut('client:page', { url: cut(location.href, 1024), title: pageTitle() });
      }, 400);
    }
    function wrap(name) {
      var h = W.history, orig = h && h[name];
      if (typeof orig != 'function') return;
      try {
        h[name] = function () { var r = Refl.apply(orig, this, arguments); try { moved(); } catch (e) { /* never break the page */ } return r; };
      } catch (e) { /* read-only: popstate still tells */ }
    }
    wrap('pushState');
    wrap('replaceState');
    on(W, 'popstate', moved);
    on(W, 'hashchange', moved);

    // ---- interaction ----
    function isOpen() { return root.classList.contains('o'); }
    function toggle(open) {
      var was = isOpen();
      root.classList.toggle('o', open);
      bubble.setAttribute('aria-expanded', '' + open);
      updateBadge();
      if (was != open) emit(open ? 'opened' : 'closed');
      if (open) {
        reconnectNow();
        stick();
        grow();
        input.focus();
        mail('open');
      }
    }
    function grow() {
      input.style.height = 'auto';
      input.style.height = M.min(input.scrollHeight + 2, 120) + 'px';
    }
    bubble.addEventListener('click', function () { toggle(!isOpen()); });
    closeBtn.addEventListener('click', function () { toggle(false); bubble.focus(); });
    sendBtn.addEventListener('click', function () { send(); input.focus(); });
    form.addEventListener('submit', function (ev) { ev.preventDefault(); send(); input.focus(); });
    input.addEventListener('keydown', function (ev) {
      if (ev.key == 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
    });
    input.addEventListener('input', function () { grow(); count(); typed(); save('draft', input.value); });
    root.addEventListener('keydown', function (ev) { if (ev.key == 'Escape' && isOpen()) toggle(false); });
    on(W, 'online', function () {
      if (ws || stop || !(me.token || box.length || isOpen())) return;
      cancel(retryT);
      retryT = 0;
      attempt = 0;
      schedule(50 + rand() * 450); // this device is back: at once, a little spread for a whole office
    });
    // A lost network often leaves a socket that looks open: drop it; the outbox keeps what is unsent.
    on(W, 'offline', function () {
      if (!ws) return;
      var s = ws;
      ws = null;
      ready = false;
      s.onclose = s.onmessage = null;
      WSP.close.call(s);
      setState('reconnecting');
      schedule();
    });
    on(D, 'visibilitychange', function () {
      if (!get(D, 'Document', 'hidden')) { reconnectNow(); updateBadge(); }
    });
    on(W, 'storage', function (ev) {
      if (ev.key == KEY + 'outbox') {
        // Another tab queued a message: show it as pending here too (its ack reaches every tab).
        var other = load('outbox', checkBox, []);
        for (var i = 0; i < other.length; i++) {
          var e = byCid[other[i].cid];
          if (!e) { add(box, other[i]); showPending(other[i]); }
        }
      } else if (ev.key == KEY + 'me') {
        // Another tab left this visitor (reset, another user, deleted) or became one.
        var n = load('me', checkMe, null);
        if (me.id && (!n || n.id != me.id)) forget(1, 1);
        else if (!me.token && !ws && n && n.token) { me = n; reconnectNow(); }
      } else if (ev.key == KEY + 'read') {
        setRead(load('read', checkNum, 0), false);
        updateBadge();
      }
    });

