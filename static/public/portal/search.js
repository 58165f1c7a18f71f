// Search across every conversation (admin:search): visitors by name, e-mail
// or attributes, messages by their words. The results replace the visitor
// list while the box holds a query; a result opens the conversation at the
// message. User text goes in through textContent only.
import { S } from './state.js';
import { on, send, jumpTo } from './inbox.js';
import { select } from './view.js';
import { shortLabel } from './time.js';

function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

var box = $('search');
var list = $('search-results');
var timer = 0;
var seq = 0; // the cid of the latest search: older answers are dropped
var shown = '';
var FIELD = { name: 'Name', email: 'E-mail', attributes: 'Attribute' };

function showResults(on) {
  list.hidden = !on;
  $('visitors').hidden = on;
  $('filters').hidden = on;
  $('app').classList.toggle('searching', on);
}

// The query is trimmed: it is not stored or shown to anyone, and white
// space around it matches nothing (search looks for words).
function ask() {
  var q = box.value.trim();
  if (q.length < 2) {
    shown = '';
    showResults(false);
    list.replaceChildren();
    return;
  }
  if (q === shown || !S.ready) return;
  shown = q;
  seq++;
  send('admin:search', { q: q, limit: 50, cid: 's' + seq });
  if (!list.children.length) list.replaceChildren(el('li', 'muted small search-note', 'Searching…'));
  showResults(true);
}

box.addEventListener('input', function () {
  clearTimeout(timer);
  timer = setTimeout(ask, 250);
});
box.addEventListener('keydown', function (ev) {
  if (ev.key === 'Escape') {
    box.value = '';
    ask();
  } else if (ev.key === 'Enter') {
    clearTimeout(timer);
    ask();
  }
});

on('admin:search', function (d) {
  if (!d || d.cid !== 's' + seq || !Array.isArray(d.results)) return;
  var items = d.results.filter(function (r) { return r && typeof r.client === 'string'; }).map(function (r) {
    var b = el('button', 'search-hit');
    b.type = 'button';
    b.setAttribute('data-client', r.client);
    if (r.offset) b.setAttribute('data-offset', String(r.offset));
    var top = el('span', 'visitor-top');
    var name = el('span', 'visitor-name', r.name || 'Visitor ' + r.client.slice(0, 6));
    name.dir = 'auto';
    top.appendChild(name);
    top.appendChild(el('span', 'visitor-time', r.at ? shortLabel(r.at) : ''));
    b.appendChild(top);
    var snip = el('span', 'search-snippet', (r.note === true ? 'Note: ' : FIELD[r.field] ? FIELD[r.field] + ': ' : '') + (r.snippet || ''));
    if (r.note === true) b.classList.add('note-hit');
    snip.dir = 'auto';
    b.appendChild(snip);
    b.addEventListener('click', function () {
      select(r.client);
      if (r.offset) jumpTo(r.client, r.offset);
    });
    var li = el('li');
    li.appendChild(b);
    return li;
  });
  if (!items.length) items.push(el('li', 'muted small search-note', 'Nothing found.'));
  else if (d.more) items.push(el('li', 'muted small search-note', 'More results: add words to narrow the search.'));
  list.replaceChildren.apply(list, items);
});
// WHAT says what search looks through, below a refused query (one without a
// word, such as an emoji or punctuation alone: the server says so).
var WHAT = 'Search finds messages by their words (letters and digits; emoji and punctuation are not searched) and visitors by their name, e-mail or attributes.';
box.title = WHAT;
on('error', function (e) {
  if (e.cid !== 's' + seq) return;
  if (e.code === 'bad_request') {
    list.replaceChildren(
      el('li', 'small search-note search-refused', 'Not searched: ' + (e.message || 'this query cannot be searched') + '.'),
      el('li', 'muted small search-note', WHAT));
    return;
  }
  list.replaceChildren(el('li', 'muted small search-note', e.code === 'rate_limited' ? 'Searching too fast; wait a moment.' : 'The search failed: ' + (e.message || e.code)));
});
