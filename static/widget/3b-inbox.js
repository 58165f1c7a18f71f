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
