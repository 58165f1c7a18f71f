  // ---- part 2 (static/widget/2-ui.js): start(T) builds the panel; rendering; unread ----
  function start(T) {
    var title = attr('title') || T.title;
    var greeting = attr('greeting') || T.greeting;
    var MAX_HISTORY = 200;
    var maxBytes = 4096;
    function fmt(s, n) { return s.replace('{n}', new I18n.NumberFormat(lang).format(n)); }
    function pick(list) { return list[M.floor(rand() * list.length)]; }
    function newName() {
      var n = T.animals.length, i = M.floor(rand() * (n + T.feminine.length)), a = pick(T.adjectives).split('|');
      var noun = i < n ? T.animals[i] : T.feminine[i - n], adj = a[i >= n && a.length > 1 ? 1 : 0];
      return T.order == 'na' ? noun + ' ' + adj : adj + ' ' + noun;
    }

    var me = load('me', checkMe, null) || { id: '', token: '', name: newName() };
    var conv = load('conv', checkConv, null) || { epoch: '', after: 0, msgs: [] };
    var box = load('outbox', checkBox, []); // messages not yet acknowledged, oldest first
    var read = load('read', checkNum, 0); // highest agent message offset seen (-1: all of the coming replay)
    // keepConv stores the cursor with the messages it covers, fewer of them if storage is short.
    function keepConv() {
      for (var n = conv.msgs.length; ; n = n >> 1) {
        var list = [], i;
        for (i = conv.msgs.length - n; i < conv.msgs.length; i++) add(list, conv.msgs[i]);
        if (save('conv', { epoch: conv.epoch, after: n ? conv.after : 0, msgs: list }) || !n) return;
      }
    }

    // ---- DOM (Shadow DOM, text only) ----
    var css = '' +
      '*{box-sizing:border-box;margin:0;padding:0;font:inherit;color:inherit}' +
      '.r{position:fixed;z-index:2147483647;bottom:calc(20px + var(--ob,0px) + env(safe-area-inset-bottom,0px));right:calc(20px + var(--os,0px));direction:ltr;' +
      'font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2937;-webkit-font-smoothing:antialiased;pointer-events:auto;display:flex;flex-direction:column;align-items:flex-end}' +
      '.r.l{right:auto;left:calc(20px + var(--os,0px));align-items:flex-start}' +
      'button{cursor:pointer;border:0;background:none}' +
      '.b{position:relative;width:60px;height:60px;flex:none;border-radius:50%;background:var(--a);color:#fff;display:flex;align-items:center;justify-content:center;box-shadow:0 6px 24px rgba(15,23,42,.25);transition:transform .15s}' +
      '.b:hover{transform:scale(1.06)}.b:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}' +
      '.b svg{width:28px;height:28px;fill:currentColor}.b .c2,.o .b .c1{display:none}.o .b .c2{display:block}' +
      '.k{position:absolute;top:-2px;inset-inline-end:-2px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#ef4444;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center;border:2px solid #fff}' +
      '.p{display:none;flex-direction:column;width:370px;max-width:calc(100vw - 40px);height:min(600px,calc(100vh - 110px - var(--ob,0px)));height:min(600px,calc(100dvh - 110px - var(--ob,0px)));margin-bottom:14px;background:#fff;border-radius:16px;overflow:hidden;box-shadow:0 12px 48px rgba(15,23,42,.28)}' +
      '.o .p{display:flex}' +
      '.h{display:flex;align-items:center;gap:12px;padding:16px 14px;padding-inline-start:18px;background:var(--a);color:#fff;flex:none}' +
      '.av{width:38px;height:38px;border-radius:50%;background:rgba(255,255,255,.22);display:flex;align-items:center;justify-content:center;flex:none}' +
      '.av svg{width:20px;height:20px;fill:#fff}' +
      '.ht{flex:1;min-width:0}.t{font-size:16px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}' +
      '.s{font-size:12.5px;opacity:.88;display:flex;align-items:center;gap:6px}.ag .s:before{content:"";flex:none;width:7px;height:7px;border-radius:50%;background:#4ade80}' +
      '.x{color:#fff;width:34px;height:34px;flex:none;border-radius:8px;display:flex;align-items:center;justify-content:center}.x:hover{background:rgba(255,255,255,.16)}.x svg{width:18px;height:18px;fill:currentColor}' +
      '.g{flex:1;overflow-y:auto;padding:18px 14px 8px;background:#f8fafc;display:flex;flex-direction:column;gap:10px}' +
      '.m{max-width:82%;display:flex;flex-direction:column;align-self:flex-start}.m.me{align-self:flex-end;align-items:flex-end}' +
      '.mt{padding:9px 13px;border-radius:16px;border-end-start-radius:4px;background:#fff;border:1px solid #e5e7eb;white-space:pre-wrap;overflow-wrap:anywhere;text-align:start}' +
      '.me .mt{background:var(--a);color:#fff;border-color:transparent;border-radius:16px;border-end-end-radius:4px}' +
      '.mt a{text-decoration:underline;cursor:pointer}' +
      '.mm{font-size:11px;color:#6b7280;margin:3px 4px 0}.pe .mt{opacity:.65}.fa .mm{color:#dc2626}' +
      '.dy{align-self:center;font-size:11.5px;color:#6b7280;padding:2px 10px;border-radius:10px;background:#eef2f7}' +
      '.ty{font-size:12px;color:#6b7280;font-style:italic;margin:0 4px}.sn{color:#2563eb}' +
      '.n{margin:0 14px 8px;padding:8px 10px;border-radius:8px;background:#fef3c7;color:#92400e;font-size:12.5px}' +
      '.x .f,.x .em{display:none!important}' +
      '.f{display:flex;align-items:flex-end;gap:8px;padding:10px 12px;border-top:1px solid #e5e7eb;background:#fff;flex:none}' +
      'textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:12px;padding:9px 12px;max-height:120px;outline:0;background:#fff;text-align:start}' +
      'textarea:focus{border-color:var(--a);box-shadow:0 0 0 3px rgba(37,99,235,.18)}' +
      '.sd{width:38px;height:38px;border-radius:50%;background:var(--a);color:#fff;display:flex;align-items:center;justify-content:center;flex:none}.sd svg{width:18px;height:18px;fill:currentColor}' +
      '[dir=rtl] .sd svg,[dir=rtl] .av svg{transform:scaleX(-1)}' +
      '.ct{padding:0 14px 6px;font-size:11.5px;color:#6b7280;text-align:end;background:#fff}.ct.ov{color:#dc2626;font-weight:600}.pv{text-align:start}' +
      '.w{text-align:center;font-size:11px;color:#9ca3af;padding:0 0 8px;background:#fff}' +
      '[hidden]{display:none!important}' +
      '@media (max-width:480px){.r{bottom:calc(14px + var(--ob,0px) + env(safe-area-inset-bottom,0px));right:calc(14px + var(--os,0px))}.r.l{right:auto;left:calc(14px + var(--os,0px))}' +
      '.o.r{inset:0}.o .p{width:100%;max-width:none;height:100%;margin:0;border-radius:0}.o .h{padding-top:calc(16px + env(safe-area-inset-top,0px))}.o .b{display:none}textarea{font-size:16px}}';

    function el(tag, cls, text) {
      var e = node(DP.createElement, tag);
      if (cls) e.className = cls;
      if (text != null) e.textContent = text;
      return e;
    }
    function icon(d, cls) {
      var ns = 'http://www.w3.org/2000/svg';
      var s = node(DP.createElementNS, ns, 'svg');
      s.setAttribute('viewBox', '0 0 24 24');
      s.setAttribute('aria-hidden', 'true');
      if (cls) s.setAttribute('class', cls);
      var p = node(DP.createElementNS, ns, 'path');
      p.setAttribute('d', d);
      s.appendChild(p);
      return s;
    }
    var CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-4.5 3.6A.9.9 0 0 1 2 20.9V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z';
    var CLOSE = 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4L12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z';
    var SEND = 'M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z';

    // addCSS adds a stylesheet to the shadow root (also for lazily loaded parts).
    function addCSS(c) {
      try {
        // The page's own class: a sheet is only adopted in the document that made it.
        var sheet = mine(new W.CSSStyleSheet(), R.CSSStyleSheet.prototype);
        sheet.replaceSync(c);
        shadow.adoptedStyleSheets = add(R.Array.from(shadow.adoptedStyleSheets), sheet);
      } catch (e) {
        shadow.appendChild(el('style', '', c)); // old browsers, a page that broke the class
      }
    }
    addCSS(css);

    // The host's own box: nothing the page's CSS says reaches it (inline !important beats any
    // stylesheet), and as a manual popover it sits in the top layer, where no transform, filter,
    // contain or z-index of the page changes how position:fixed resolves.
    var hostCSS = 'all:initial!important;display:block!important;position:fixed!important;inset:0 auto auto 0!important;' +
      'width:0!important;height:0!important;margin:0!important;padding:0!important;border:0!important;overflow:visible!important;' +
      'visibility:visible!important;opacity:1!important;z-index:2147483647!important;pointer-events:none!important;background:none!important;';
    var color = attr('color');
    if (color && R.CSS && R.CSS.supports('color', color)) hostCSS += '--a:' + color + '!important;';
    else hostCSS += '--a:#2563eb!important;';
    function len(v) { return /^\d+(\.\d+)?$/.test(v) ? v + 'px' : R.CSS && R.CSS.supports('width', v) ? v : ''; }
    if (len(attr('offset-bottom'))) hostCSS += '--ob:' + len(attr('offset-bottom')) + '!important;';
    if (len(attr('offset-side'))) hostCSS += '--os:' + len(attr('offset-side')) + '!important;';
    var pop = typeof host.showPopover == 'function';
    if (pop) host.setAttribute('popover', 'manual');
    function styleHost() {
      // A zoom on <html> would scale the widget: undo it.
      var z = 1;
      try { z = R.parseFloat(R.getComputedStyle(html()).zoom) || 1; } catch (e) { /* keep 1 */ }
      var want = hostCSS + (z != 1 ? 'zoom:' + (1 / z) + '!important;' : '');
      if (host.style.cssText != want) host.style.cssText = want;
    }

    var root = el('div', 'r' + (attr('position') == 'left' ? ' l' : ''));
    root.setAttribute('lang', lang);
    var panel = el('section', 'p');
    panel.dir = T.dir == 'rtl' ? 'rtl' : 'ltr'; // the widget's own strings keep their language's direction
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', title);
    var head = el('div', 'h');
    var av = el('div', 'av');
    av.appendChild(icon(CHAT));
    var ht = el('div', 'ht');
    ht.appendChild(el('div', 't', title));
    var status = el('div', 's', '');
    status.setAttribute('role', 'status');
    ht.appendChild(status);
    var closeBtn = el('button', 'x');
    closeBtn.type = 'button';
    closeBtn.setAttribute('aria-label', T.close);
    closeBtn.appendChild(icon(CLOSE));
    head.appendChild(av);
    head.appendChild(ht);
    head.appendChild(closeBtn);
    var log = el('div', 'g');
    log.setAttribute('role', 'log');
    log.setAttribute('aria-live', 'polite');
    var notice = el('div', 'n');
    notice.setAttribute('role', 'alert');
    notice.hidden = true;
    var mailBox = el('div', 'em'); // e-mail capture and transcript (widget-mail.js)
    mailBox.hidden = true;
    var counter = el('div', 'ct');
    counter.hidden = true;
    counter.setAttribute('aria-live', 'polite');
    // With typing preview on, the agents read the box as the visitor types: say so.
    var previewNote = el('div', 'ct pv', T.preview);
    previewNote.hidden = true;
    var form = el('form', 'f');
    var input = el('textarea');
    input.rows = 1;
    input.dir = 'auto';
    input.placeholder = T.placeholder;
    input.setAttribute('aria-label', T.placeholder);
    var sendBtn = el('button', 'sd');
    sendBtn.type = 'button'; // a sandbox without allow-forms never fires submit
    sendBtn.setAttribute('aria-label', T.send);
    sendBtn.appendChild(icon(SEND));
    form.appendChild(input);
    form.appendChild(sendBtn);
    panel.appendChild(head);
    panel.appendChild(log);
    panel.appendChild(notice);
    panel.appendChild(mailBox);
    panel.appendChild(counter);
    panel.appendChild(previewNote);
    panel.appendChild(form);
    panel.appendChild(el('div', 'w', T.powered));
    var bubble = el('button', 'b');
    bubble.type = 'button';
    bubble.setAttribute('aria-label', T.open);
    bubble.appendChild(icon(CHAT, 'c1'));
    bubble.appendChild(icon(CLOSE, 'c2'));
    var badge = el('span', 'k');
    badge.hidden = true;
    bubble.appendChild(badge);
    root.appendChild(panel);
    root.appendChild(bubble);
    shadow.appendChild(root);
    // Keys and text typed in the widget stay in it. These events are composed: they would reach
    // the page's listeners retargeted to the host element, where a hotkey's "not while typing in
    // a field" guard cannot see our textarea and takes the key (a "/" that focuses the page's
    // search). Stopped at the shadow root, after the widget's own handlers (Enter, Escape) ran;
    // the page's capture-phase listeners run before and cannot be stopped.
    for (var ks = 'keydown keypress keyup beforeinput input textInput compositionstart compositionupdate compositionend paste cut copy'.split(' '), ki = 0; ki < ks.length; ki++) {
      on(shadow, ks[ki], function (ev) { R.Event.prototype.stopPropagation.call(ev); });
    }

    // ---- staying on the page ----
    var reattached = 0, reattachT = 0;
    function ensure() {
      var h = html();
      if (!h) return;
      if (host.parentNode != h) {
        // A page that keeps removing us (a framework that owns <html>) gets a pause, not a loop.
        if (++reattached > 50) { if (!reattachT) reattachT = later(function () { reattachT = 0; reattached = 0; ensure(); }, 2000); return; }
        put(h, host);
        watch();
      }
      styleHost();
      if (pop) { try { if (!host.matches(':popover-open')) host.showPopover(); } catch (e) { /* not shown: stays fixed */ } }
    }
    // The page's own class (one of the realm stops when the page removes us), else a look every second.
    var MO = native(W.MutationObserver) && mine(new W.MutationObserver(ensure), R.MutationObserver.prototype);
    (function tick() { if (!MO) { ensure(); later(tick, 1000); } }());
    function watch() {
      if (!MO) return;
      MO.disconnect();
      MO.observe(D, { childList: true });
      MO.observe(html(), { childList: true, attributes: true, attributeFilter: ['style', 'class'] });
    }
    host.addEventListener('toggle', function (ev) { if (ev.newState == 'closed') later(ensure, 0); });
    ensure();
    watch();
    on(W, 'resize', styleHost);

    // ---- time ----
    function day(d) { return d.getFullYear() * 10000 + d.getMonth() * 100 + d.getDate(); }
    function when(iso) { var d = iso ? new Dt(iso) : new Dt(); return R.isNaN(d.getTime()) ? new Dt() : d; }
    function clock(d) { return d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' }); }
    function dayLabel(d) {
      var now = new Dt(), diff = M.round((new Dt(now.getFullYear(), now.getMonth(), now.getDate()) - new Dt(d.getFullYear(), d.getMonth(), d.getDate())) / 864e5);
      var s;
      try {
        if (diff >= 0 && diff < 2) s = new I18n.RelativeTimeFormat(lang, { numeric: 'auto' }).format(-diff, 'day');
        else s = d.toLocaleDateString(lang, diff > 0 && diff < 7 ? { weekday: 'long' } :
          { weekday: 'short', day: 'numeric', month: 'long', year: d.getFullYear() == now.getFullYear() ? undefined : 'numeric' });
      } catch (e) { s = d.toDateString(); }
      return s.charAt(0).toUpperCase() + s.slice(1);
    }

    // ---- rendering ----
    var byOffset = dict(); // offset -> element
    var byCid = dict(); // cid of a visitor message -> element (pending or confirmed)
    var greet = el('div', 'm');
    greet.appendChild(el('div', 'mt', greeting));
    log.appendChild(greet);

    // text puts s into e as text, with http(s) URLs as links built from DOM nodes, never markup.
    function text(e, s) {
      var re = /\bhttps?:\/\/[^\s<>"'\x60\xad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069]+/gi, m, at = 0;
      while ((m = re.exec(s))) {
        var u = m[0];
        for (;;) {
          var c = u.charAt(u.length - 1);
          var open = c == ')' ? '(' : c == ']' ? '[' : '';
          if ('.,;:!?*'.indexOf(c) >= 0 || (open && u.split(open).length <= u.split(c).length - 1)) u = u.slice(0, -1);
          else break;
        }
        var url = null;
        try { url = new URLp(u); } catch (err) { /* not a URL: stays text */ }
        if (!url || (url.protocol != 'http:' && url.protocol != 'https:') || !url.hostname) continue;
        if (m.index > at) e.appendChild(node(DP.createTextNode, s.slice(at, m.index)));
        var a = el('a', '', u);
        a.href = url.href;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        e.appendChild(a);
        at = m.index + u.length;
        re.lastIndex = at;
      }
      if (at < s.length) e.appendChild(node(DP.createTextNode, s.slice(at)));
    }
    function bubbleFor(m, pending) {
      var mine = m.from != 'admin';
      var e = el('div', 'm' + (mine ? ' me' : '') + (pending ? ' pe' : ''));
      var t = el('div', 'mt');
      t.dir = 'auto';
      text(t, m.text);
      e.appendChild(t);
      e.appendChild(el('div', 'mm', pending ? T.sending : meta(m)));
      if (!pending) e.setAttribute('data-at', m.at || '');
      return e;
    }
    function meta(m) {
      return (m.from == 'admin' ? (m.admin || T.support) : T.you) + ' · ' + clock(when(m.at));
    }
    function stick() { log.scrollTop = log.scrollHeight; }
    function place(e, offset) {
      // Confirmed messages stay ordered by offset, pending ones stay at the end.
      e.setAttribute('data-offset', offset);
      for (var k = greet.nextSibling; k; k = k.nextSibling) {
        var o = k.getAttribute('data-offset');
        if (k.className != 'dy' && (o === null || +o > offset)) { log.insertBefore(e, k); return; }
      }
      log.appendChild(e);
    }
    // days puts a separator before the first message of each day.
    function days() {
      var k, next, last = 0;
      for (k = greet.nextSibling; k; k = next) {
        next = k.nextSibling;
        if (k.className == 'dy') { log.removeChild(k); continue; }
        var at = k.getAttribute('data-at'), d = when(at), n = day(d);
        if (n != last) { log.insertBefore(el('div', 'dy', dayLabel(d)), k); last = n; }
        if (at) k.lastChild.title = d.toLocaleString(lang);
      }
    }
    function showPending(item) {
      if (byCid[item.cid]) return;
      var e = bubbleFor({ from: 'client', text: item.text }, true);
      e.setAttribute('data-cid', item.cid);
      byCid[item.cid] = e;
      log.appendChild(e);
      days();
      stick();
    }
    function unbox(cid) {
      var out = [], i, hit = false;
      for (i = 0; i < box.length; i++) { if (box[i].cid == cid) hit = true; else add(out, box[i]); }
      if (hit) { box = out; save('outbox', box); }
    }
    function fail(cid, why) {
      unbox(cid);
      var e = byCid[cid];
      if (e && e.classList.contains('pe')) {
        e.classList.add('fa');
        e.lastChild.textContent = T.notSent;
      }
      say(why);
    }

    // accept records a stored message (from the server or from storage); false if already shown.
    function accept(m, fromStore) {
      if (!m || typeof m.offset != 'number' || typeof m.text != 'string' || byOffset[m.offset]) return false;
      if (m.client && me.id && m.client != me.id) return false;
      var e = m.from == 'client' && m.cid ? byCid[m.cid] : null;
      if (e && e.getAttribute('data-offset') !== null) return false; // same cid already confirmed
      if (e) {
        e.classList.remove('pe', 'fa');
        e.lastChild.textContent = meta(m);
        e.removeAttribute('data-cid');
        e.setAttribute('data-at', m.at || '');
      } else {
        e = bubbleFor(m, false);
        if (m.from == 'client' && m.cid) byCid[m.cid] = e;
      }
      byOffset[m.offset] = e;
      place(e, m.offset);
      if (!fromStore) {
        var list = conv.msgs, i = list.length, kept = [], j;
        while (i > 0 && list[i - 1].offset > m.offset) i--;
        for (j = 0; j < list.length; j++) { if (j == i) add(kept, m); add(kept, list[j]); }
        if (i == list.length) add(kept, m);
        if (kept.length > MAX_HISTORY) {
          var cut = [];
          for (j = kept.length - MAX_HISTORY; j < kept.length; j++) add(cut, kept[j]);
          kept = cut;
        }
        conv.msgs = kept;
        if (m.offset > conv.after) conv.after = m.offset;
      }
      return true;
    }
    function dropKept() {
      for (var k in byOffset) { var e = byOffset[k]; if (e.parentNode) log.removeChild(e); }
      byOffset = dict();
      byCid = dict();
      var pend = log.querySelectorAll('[data-cid]');
      for (var i = 0; i < pend.length; i++) byCid[pend[i].getAttribute('data-cid')] = pend[i];
      conv = { epoch: conv.epoch, after: 0, msgs: [] };
    }

    // ---- unread, in step across tabs (BroadcastChannel, else storage events) ----
    var channel = null;
    try { channel = new W.BroadcastChannel(KEY); } catch (e) { /* storage events only */ }
    function unread() {
      for (var n = 0, i = 0; i < conv.msgs.length; i++) if (conv.msgs[i].from == 'admin' && conv.msgs[i].offset > read) n++;
      return read < 0 ? 0 : n;
    }
    function setRead(n, tell) {
      if (n <= read) return;
      read = n;
      save('read', read);
      if (tell) seen(); // this tab showed them: tell the server (client:seen)
      if (tell && channel) { try { channel.postMessage(enc({ epoch: conv.epoch, read: read })); } catch (e) { /* closed */ } }
    }
    var shownUnread = 0;
    function updateBadge() {
      if (isOpen() && !get(D, 'Document', 'hidden') && read >= 0) setRead(conv.after, true);
      var n = isOpen() ? 0 : unread();
      if (n != shownUnread) emit('unread', shownUnread = n);
      badge.hidden = n == 0;
      badge.textContent = n > 9 ? '9+' : '' + n;
      bubble.setAttribute('aria-label', n ? T.open + ' (' + n + ' ' + T.unread + ')' : T.open);
    }
    if (channel) {
      channel.onmessage = function (ev) {
        var d;
        try { d = JS.parse(ev.data); } catch (e) { return; }
        if (d && d.reset && d.reset === me.id) forget(1, 1); // another tab forgot this visitor
        else if (d && d.epoch === conv.epoch && typeof d.read == 'number') { setRead(d.read, false); updateBadge(); }
      };
    }
    var noticeT = 0;
    function say(s) {
      notice.textContent = s;
      notice.hidden = false;
      cancel(noticeT);
      noticeT = later(function () { notice.hidden = true; }, 8000);
    }
    // avail is what the server says about answering (GET /api/widget, client:id,
    // client:availability); undefined while it has not said.
    var avail;
    var state = '';
    function setState(st) {
      state = st;
      var on = st == 'online', told = avail && (on || st == 'idle'), mins = avail && avail.reply_minutes;
      root.setAttribute('data-state', st);
      root.classList.toggle('on', on);
      root.classList.toggle('x', st == 'refused' || st == 'blocked'); // never retried: nothing to type into
      root.classList.toggle('ag', !!told && avail.available);
      status.textContent = !told ? (on ? T.ready : T[st] || '') : avail.available ? (mins > 0 ? fmt(T.onlineIn, mins) : T.online) :
        (avail.email != 'off' && !me.email ? T.awayMail : T.away) + back();
    }
    // back says when business hours open again (next_change), in the visitor's own time:
    // the time alone today, with the day's name otherwise (hours repeat weekly).
    function back() {
      var t = new Dt(avail.next_change || 0), now = new Dt(), o = { hour: 'numeric', minute: '2-digit' }, today = t.toDateString() == now.toDateString();
      if (avail.open !== false || !(t > now)) return '';
      if (!today) o.weekday = 'long';
      return '. ' + (today ? T.backAt : T.backOn).replace('{n}', new I18n.DateTimeFormat(lang, o).format(t));
    }
    // The site hears of availability only when it changed: GET /api/widget, client:id and
    // client:availability often say the same.
    var availSaid = '';
    function setAvail(a) {
      if (!a || typeof a.available != 'boolean') return;
      avail = a;
      setState(state);
      if (enc(a) != availSaid) emit('availability', a, availSaid = enc(a));
      mail('avail');
    }

    for (var i = 0; i < conv.msgs.length; i++) accept(conv.msgs[i], true);
    for (i = 0; i < box.length; i++) showPending(box[i]);
    days();

