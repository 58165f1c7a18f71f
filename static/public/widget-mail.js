/*! chatd widget: e-mail capture and transcripts. widget.js loads this file when its panel
 * opens on a server that takes e-mail addresses; it does nothing on its own. The server's
 * rule for addresses is the one that counts (docs/protocol.md, client:email). */
(function (script) {
  if (!script) return;
  script.chatd = function (x) {
    var T = x.T, el = x.el, box = x.box, open = 0, pending = '', sent = '', note = '', field = null;
    var EN = {
      mailAsk: 'Leave your email: we will answer there, and here when you come back.',
      mailNeed: 'Nobody is here right now. Please leave your email first: we will answer there.',
      mailLink: 'Get our answer by email',
      mailLabel: 'Your email',
      mailSave: 'Save',
      mailBad: 'Please check this email address.',
      mailSaved: 'We reply here, and also at {e}.',
      mailChange: 'Change',
      mailFirst: 'Leave your email above first',
      transcript: 'Email me this conversation',
      transcriptSent: 'This conversation is on its way to {e}.',
      tryLater: 'That did not work. Please try again in a moment.',
      mailShort: 'That address looks incomplete.',
      transcriptWait: 'A transcript was just sent: ask again a little later.'
    };
    // Other languages: the same keys (add yours next to your widget-lang/<code>.js).
    var L = {
      de: {
        mailAsk: 'Hinterlassen Sie Ihre E-Mail: Wir antworten dort, und hier, wenn Sie wiederkommen.',
        mailNeed: 'Gerade ist niemand da. Bitte hinterlassen Sie zuerst Ihre E-Mail: Wir antworten dort.',
        mailLink: 'Antwort per E-Mail erhalten', mailLabel: 'Ihre E-Mail', mailSave: 'Speichern',
        mailBad: 'Bitte prüfen Sie diese E-Mail-Adresse.', mailSaved: 'Wir antworten hier und auch an {e}.',
        mailChange: 'Ändern', mailFirst: 'Bitte zuerst oben Ihre E-Mail angeben',
        transcript: 'Dieses Gespräch per E-Mail senden', transcriptSent: 'Das Gespräch ist unterwegs an {e}.',
        tryLater: 'Das hat nicht geklappt. Bitte versuchen Sie es gleich noch einmal.',
        mailShort: 'Diese Adresse scheint unvollständig.', transcriptWait: 'Gerade gesendet: bitte etwas später erneut.'
      },
      fr: {
        mailAsk: 'Laissez votre e-mail : nous y répondrons, et ici à votre retour.',
        mailNeed: 'Personne n’est là pour le moment. Laissez d’abord votre e-mail : nous y répondrons.',
        mailLink: 'Recevoir notre réponse par e-mail', mailLabel: 'Votre e-mail', mailSave: 'Enregistrer',
        mailBad: 'Vérifiez cette adresse e-mail.', mailSaved: 'Nous répondons ici, et aussi à {e}.',
        mailChange: 'Modifier', mailFirst: 'Indiquez d’abord votre e-mail ci-dessus',
        transcript: 'M’envoyer cette conversation par e-mail', transcriptSent: 'La conversation part vers {e}.',
        tryLater: 'Cela n’a pas marché. Réessayez dans un instant.',
        mailShort: 'Cette adresse semble incomplète.', transcriptWait: 'Déjà envoyée : redemandez un peu plus tard.'
      },
      es: {
        mailAsk: 'Déjanos tu email: te responderemos allí, y aquí cuando vuelvas.',
        mailNeed: 'Ahora no hay nadie. Déjanos primero tu email: te responderemos allí.',
        mailLink: 'Recibir la respuesta por email', mailLabel: 'Tu email', mailSave: 'Guardar',
        mailBad: 'Revisa esta dirección de email.', mailSaved: 'Te respondemos aquí y también en {e}.',
        mailChange: 'Cambiar', mailFirst: 'Primero deja tu email arriba',
        transcript: 'Enviarme esta conversación por email', transcriptSent: 'La conversación va de camino a {e}.',
        tryLater: 'No ha funcionado. Inténtalo de nuevo en un momento.',
        mailShort: 'Esa dirección parece incompleta.', transcriptWait: 'Ya enviada: pídela de nuevo más tarde.'
      },
      pt: {
        mailAsk: 'Deixe o seu email: respondemos lá, e aqui quando voltar.',
        mailNeed: 'Agora não está ninguém. Deixe primeiro o seu email: respondemos lá.',
        mailLink: 'Receber a resposta por email', mailLabel: 'O seu email', mailSave: 'Guardar',
        mailBad: 'Verifique este endereço de email.', mailSaved: 'Respondemos aqui e também para {e}.',
        mailChange: 'Alterar', mailFirst: 'Deixe primeiro o seu email acima',
        transcript: 'Enviar-me esta conversa por email', transcriptSent: 'A conversa vai a caminho de {e}.',
        tryLater: 'Não funcionou. Tente de novo daqui a pouco.',
        mailShort: 'Esse endereço parece incompleto.', transcriptWait: 'Já enviada: peça de novo mais tarde.'
      },
      ar: {
        mailAsk: 'اترك بريدك الإلكتروني: سنردّ عليك عبره، وهنا عند عودتك.',
        mailNeed: 'لا أحد متاح الآن. اترك بريدك الإلكتروني أولًا وسنردّ عليك عبره.',
        mailLink: 'استلم ردّنا بالبريد الإلكتروني', mailLabel: 'بريدك الإلكتروني', mailSave: 'حفظ',
        mailBad: 'يرجى التحقق من عنوان البريد الإلكتروني.', mailSaved: 'نردّ هنا وعلى {e} أيضًا.',
        mailChange: 'تغيير', mailFirst: 'اترك بريدك الإلكتروني في الأعلى أولًا',
        transcript: 'أرسل لي هذه المحادثة بالبريد', transcriptSent: 'المحادثة في طريقها إلى {e}.',
        tryLater: 'لم ينجح ذلك. يرجى المحاولة بعد لحظة.',
        mailShort: 'يبدو هذا العنوان ناقصًا.', transcriptWait: 'أُرسلت للتو: اطلبها مجددًا بعد قليل.'
      }
    }[x.lang] || {};
    function t(k) { return typeof T[k] == 'string' ? T[k] : L[k] || EN[k]; }
    x.css('.em{margin:0 14px 8px;padding:10px 12px;border-radius:10px;background:#eff6ff;color:#1e3a8a;font-size:12.5px;display:flex;flex-direction:column;align-items:flex-start;gap:6px}' +
      '.em .ef{display:flex;gap:6px;align-self:stretch}.em input{flex:1;min-width:0;border:1px solid #bfdbfe;border-radius:8px;padding:6px 9px;background:#fff;color:#111827;text-align:start}' +
      '.em input:focus{outline:0;border-color:var(--a)}.em button{color:var(--a);font-weight:600;text-decoration:underline}' +
      '.em .sv{background:var(--a);color:#fff;text-decoration:none;border-radius:8px;padding:6px 12px}.em .nt{color:#92400e}' +
      '.em .ea{display:flex;gap:12px;flex-wrap:wrap}textarea:disabled{background:#f3f4f6}');

    // valid follows the server's rule closely: a plain local@domain with a dotted domain.
    function valid(s) {
      var at = s.indexOf('@'), local = s.slice(0, at), d = s.slice(at + 1).toLowerCase().split('.');
      if (at < 1 || s.length > 254 || s.lastIndexOf('@') != at || /[\s"(),:;<>\[\\\]\x00-\x1f\x7f]/.test(s) ||
        local.charAt(0) == '.' || local.slice(-1) == '.' || local.indexOf('..') >= 0 || d.length < 2) return false;
      for (var i = 0; i < d.length; i++) if (!/^[a-z0-9\u0080-\uffff]([a-z0-9\u0080-\uffff-]{0,61}[a-z0-9\u0080-\uffff])?$/.test(d[i])) return false;
      return true;
    }
    function need() {
      var a = x.avail();
      return !!a && a.email == 'required' && !a.available && !x.me().email;
    }
    function button(text, cls, fn) {
      var b = el('button', cls, text);
      b.type = 'button';
      b.addEventListener('click', fn);
      return b;
    }
    // bad names what is wrong with address s, as a class: incomplete, or else not valid.
    function bad(s) { return t(/^[^@]*@?$|@[^.]*$|\.$/.test(s) ? 'mailShort' : 'mailBad'); }
    function save() {
      var v = field.value.replace(/^\s+|\s+$/g, '');
      if (!valid(v)) { note = bad(v); render(); field.focus(); return; }
      if (!x.send('client:email', { email: v })) { note = t('tryLater'); render(); return; }
      pending = 'email';
      sent = v;
      note = '';
    }
    function transcript() {
      if (!x.send('client:transcript', {})) { note = t('tryLater'); render(); return; }
      pending = 'transcript';
      note = '';
    }
    function render() {
      var a = x.avail() || {}, email = x.me().email, typed = field ? field.value : '', focus = field && field.getRootNode().activeElement == field;
      var blocked = need();
      x.input.disabled = x.button.disabled = blocked;
      x.input.placeholder = blocked ? t('mailFirst') : T.placeholder;
      box.textContent = '';
      field = null;
      box.hidden = a.email == 'off' || !a.email;
      if (box.hidden) return;
      var row = el('div', 'ea');
      if (email && !open) {
        box.appendChild(el('div', '', t('mailSaved').replace('{e}', email)));
        row.appendChild(button(t('mailChange'), '', function () { open = 1; note = ''; render(); field.focus(); }));
        if (a.transcript) row.appendChild(button(t('transcript'), '', transcript));
        box.appendChild(row);
      } else if (open || !a.available) {
        box.appendChild(el('div', '', blocked ? t('mailNeed') : t('mailAsk')));
        var f = el('div', 'ef');
        field = el('input');
        field.type = 'email';
        field.autocomplete = 'email';
        field.dir = 'ltr';
        field.placeholder = t('mailLabel');
        field.setAttribute('aria-label', t('mailLabel'));
        field.value = typed || email || '';
        field.addEventListener('keydown', function (ev) { if (ev.key == 'Enter') { ev.preventDefault(); save(); } });
        f.appendChild(field);
        f.appendChild(button(t('mailSave'), 'sv', save));
        box.appendChild(f);
        if (focus) field.focus();
      } else {
        row.appendChild(button(t('mailLink'), '', function () { open = 1; render(); field.focus(); }));
        box.appendChild(row);
      }
      if (note) box.appendChild(el('div', 'nt', note));
    }
    return function (kind, data) {
      if (kind == 'client:email') {
        if (pending == 'email') { pending = ''; open = 0; field = null; }
      } else if (kind == 'client:transcript') {
        if (pending == 'transcript') note = t('transcriptSent').replace('{e}', data && data.email || x.me().email);
        pending = '';
      } else if (kind == 'error') {
        if (!pending) return;
        // The server's reason, by code: an address it refused, a transcript asked too soon.
        note = data.code == 'bad_request' && pending == 'email' ? bad(sent) : data.code == 'rate_limited' && pending == 'transcript' ? t('transcriptWait') : t('tryLater');
        pending = '';
      }
      render();
    };
  };
}(document.currentScript));
