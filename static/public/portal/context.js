// The visitor context panel ("Details"): what the server knows of the open
// conversation's visitor (admin:visitor), kept current by live events (its
// page as it navigates, its contact fields, its conversation's parts). The
// visitor's local time comes from its browser's time zone. User text goes
// in through textContent; links only through links.js.
import { S, getItem, setItem, sess } from './state.js';
import { on, send, jumpTo } from './inbox.js';
import { renderSoon, isNarrow } from './view.js';
import { link, safeHref } from './links.js';
import { timeLabel } from './time.js';

function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

S.context = getItem(sess, 'chatd.portal.context') === '1';
var data = null; // the last admin:visitor of the shown visitor
var asked = ''; // the visitor asked for
var drawn = ''; // a key of what is drawn, to redraw only on change
var actions = []; // extra sections ({title, render(data, section)}) of other modules (privacy)

// addSection lets another module add a section to the panel.
export function addSection(s) { actions.push(s); }

function ask(id) {
  asked = id;
  send('admin:visitor', { client: id });
}

on('admin:visitor', function (d) {
  if (!d || typeof d.client !== 'string') return;
  if (d.client === asked) asked = '';
  if (d.client === S.selected) {
    data = d;
    drawn = '';
    renderSoon();
  }
});
on('admin:client_page', function (d) {
  if (!data || !d || d.id !== data.client || typeof d.url !== 'string') return;
  var p = { url: d.url, title: typeof d.title === 'string' ? d.title : '', at: typeof d.at === 'string' ? d.at : '' };
  data.page = p;
  data.pages = (Array.isArray(data.pages) ? data.pages : []).concat([p]).slice(-11);
  drawn = '';
});
on('admin:client', function (d) {
  if (!data || !d || d.id !== data.client) return;
  ['email', 'identity', 'name'].forEach(function (k) { if (typeof d[k] === 'string') data[k] = d[k]; });
  if (d.attributes && typeof d.attributes === 'object') data.attributes = d.attributes;
  drawn = '';
});
on('admin:conversation', function (d) {
  if (data && d && d.client === data.client && S.context) ask(d.client); // its parts may have changed
});
on('busy', function () { return asked !== ''; });
on('error', function (e) {
  if (asked && (e.code === 'not_found' || e.code === 'bad_request')) {
    asked = '';
    data = null;
  }
});

// toggleContext opens or closes the panel.
export function toggleContext() { setOpen(!S.context); }

function setOpen(open) {
  S.context = open;
  setItem(sess, 'chatd.portal.context', open ? '1' : '');
  renderSoon();
}
$('context-close').addEventListener('click', function () { setOpen(false); });

// localTime is the time now in zone tz, "" if the browser does not know it.
function localTime(tz) {
  if (!tz) return '';
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: tz, hour: '2-digit', minute: '2-digit', weekday: 'short' }).format(new Date());
  } catch (e) {
    return '';
  }
}

function row(dl, label, value) {
  if (value == null || value === '') return;
  dl.appendChild(el('dt', '', label));
  var dd = el('dd');
  if (typeof value === 'string') {
    dd.textContent = value;
    dd.dir = 'auto';
  } else {
    dd.appendChild(value);
  }
  dl.appendChild(dd);
}
function pageLink(p) {
  var text = p.title || p.url;
  var href = safeHref(p.url);
  var a = href ? link(text, href) : el('span', '', text);
  a.dir = 'auto';
  a.title = p.url;
  a.classList.add('ctx-link');
  return a;
}
function section(title) {
  var s = el('section', 'ctx-section');
  s.appendChild(el('h3', '', title));
  return s;
}

function draw(d) {
  var body = $('context-body');
  var parts = [];
  var who = section('Visitor');
  var dl = el('dl', 'ctx-list');
  row(dl, 'Name', d.name);
  row(dl, 'E-mail', d.email);
  row(dl, 'User id', d.identity);
  var lt = localTime(d.tz);
  row(dl, 'Local time', lt ? lt + ' (' + d.tz + ')' : d.tz);
  row(dl, 'Language', d.lang);
  row(dl, 'First seen', d.created ? timeLabel(d.created) : '');
  row(dl, 'Last seen', d.seen ? timeLabel(d.seen) : '');
  row(dl, 'Visits', typeof d.visits === 'number' && d.visits ? String(d.visits) : '');
  row(dl, 'Browser', d.browser);
  row(dl, 'System', [d.os, d.device].filter(Boolean).join(' · '));
  if (d.referrer) row(dl, 'Came from', pageLink({ url: d.referrer, title: '' }));
  who.appendChild(dl);
  parts.push(who);

  var pages = Array.isArray(d.pages) ? d.pages.slice() : [];
  if (d.page || pages.length) {
    var ps = section('Pages');
    if (d.page) {
      var now = el('p', 'ctx-now');
      now.appendChild(el('span', 'muted', 'Now on '));
      now.appendChild(pageLink(d.page));
      ps.appendChild(now);
    }
    var ol = el('ol', 'ctx-trail');
    pages.reverse().forEach(function (p, i) {
      if (i === 0 && d.page && p.url === d.page.url) return; // the current page, shown above
      var li = el('li');
      li.appendChild(pageLink(p));
      if (p.at) li.appendChild(el('span', 'muted small', ' ' + timeLabel(p.at)));
      ol.appendChild(li);
    });
    if (ol.children.length) ps.appendChild(ol);
    parts.push(ps);
  }

  var attrs = d.attributes && typeof d.attributes === 'object' ? Object.keys(d.attributes).sort() : [];
  if (attrs.length) {
    var as = section('Attributes');
    var adl = el('dl', 'ctx-list');
    attrs.forEach(function (k) { row(adl, k, String(d.attributes[k])); });
    as.appendChild(adl);
    parts.push(as);
  }

  var convs = Array.isArray(d.conversations) ? d.conversations : [];
  if (convs.length) {
    var cs = section('Conversations');
    var ul = el('ul', 'ctx-convs');
    convs.slice().reverse().forEach(function (c) {
      var b = el('button', 'ctx-conv');
      b.type = 'button';
      var label = c.status === 'resolved' ? 'Resolved' + (c.ended ? ' ' + timeLabel(c.ended) : '') : 'Current · ' + c.status;
      b.appendChild(el('span', '', label));
      // Dates and counts: offsets are global to the server, meaningless to agents.
      var n = typeof c.messages === 'number' ? c.messages : 0;
      b.appendChild(el('span', 'muted small ctx-conv-info', ' · ' + n + (n === 1 ? ' message' : ' messages') + (c.started ? ', from ' + timeLabel(c.started) : '')));
      b.addEventListener('click', function () { jumpTo(d.client, c.from, c.to); });
      var li = el('li');
      li.appendChild(b);
      ul.appendChild(li);
    });
    cs.appendChild(ul);
    parts.push(cs);
  }
  actions.forEach(function (a) {
    var s = section(a.title);
    a.render(d, s);
    parts.push(s);
  });
  body.replaceChildren.apply(body, parts);
}

// renderContext shows or hides the panel for the open conversation; called after each render.
export function renderContext() {
  var panel = $('context');
  var show = S.context && !!S.selected && !$('conversation').hidden;
  panel.hidden = !show;
  $('app').classList.toggle('with-context', show);
  if (!show) return;
  if (!data || data.client !== S.selected) {
    if (data && data.client !== S.selected) data = null;
    if (asked !== S.selected && S.ready) ask(S.selected);
    if (!data) {
      $('context-body').replaceChildren(el('p', 'muted small', 'Loading…'));
      drawn = '';
      return;
    }
  }
  var key = JSON.stringify(data) + '|' + Math.floor(Date.now() / 30000) + '|' + isNarrow();
  if (key === drawn) return;
  drawn = key;
  draw(data);
}
setInterval(function () { if (S.context && data) renderSoon(); }, 30000); // the local time
