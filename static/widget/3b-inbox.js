    // ---- part 3b (static/widget/3b-inbox.js), inside start(T): what the agents do, as the visitor sees it ----
    // An agent typing (client:typing, with the agent's shown name) and how far
    // an agent has seen the conversation (client:seen: "Seen" under the newest
    // message of the visitor at or below it). Both are shown, never stored.
    var typingE = null, typingT = 0;
    function agentTyping(d) {
      cancel(typingT);
      if (typingE && typingE.parentNode) log.removeChild(typingE);
      typingE = null;
      if (!d || d.typing !== true) return;
      var who = typeof d.admin == 'string' && d.admin ? d.admin : T.support;
      typingE = el('div', 'ty', T.typing.replace('{name}', who));
      log.appendChild(typingE);
      stick();
      typingT = later(agentTyping, 6500);
    }
    function seenBy(d) {
      var o = d && typeof d.offset == 'number' ? d.offset : 0, best = null, k;
      var old = log.querySelectorAll('.sn');
      for (k = 0; k < old.length; k++) old[k].parentNode.removeChild(old[k]);
      for (k = log.firstChild; k; k = k.nextSibling) {
        var at = +k.getAttribute('data-offset');
        if (at && at <= o && / me( |$)/.test(k.className)) best = k;
      }
      if (best) best.lastChild.appendChild(el('span', 'sn', ' · ' + T.seen));
    }
    // The visitor typing, told to the agents (client:typing): {typing:true} at
    // most every 2 s while the box changes, {typing:false} on send, blur, an
    // emptied box and after 5 s without a key. The text goes along only when
    // the server said it shows a preview (client:id typing_preview); then the
    // latest text follows the 2 s wait.
    var preview = false, tyOn = 0, tyAt = 0, tyIdle = 0, tyT = 0;
    function typed(stop) {
      var s = input.value, w = tyAt + 2000 - new Dt();
      cancel(tyIdle);
      cancel(tyT);
      tyT = 0;
      if (stop || !ready || !/\S/.test(s)) {
        if (tyOn && ready) frameOut('client:typing', { typing: false });
        tyOn = 0;
        return;
      }
      if (!tyOn || w <= 0) {
        frameOut('client:typing', preview ? { typing: true, text: cut(s, 1024) } : { typing: true });
        tyOn = 1;
        tyAt = +new Dt();
      } else if (preview) tyT = later(typed, w);
      tyIdle = later(function () { typed(1); }, 5000);
    }
    input.addEventListener('blur', function () { typed(1); });
