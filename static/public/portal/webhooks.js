// The webhook delivery log, for agents with the admin role (GET /api/webhooks):
// each endpoint (scheme and host only) and the last deliveries, newest first.
// Everything is rendered with textContent.
import { S } from './state.js';

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function when(iso) {
  var d = new Date(iso);
  return isNaN(d) ? '' : d.toLocaleString();
}

// loadWebhooks fills box with the log. It resolves to false when the agent
// may not see it (403) or the server has no such endpoint, so the caller
// can hide the section.
export function loadWebhooks(box) {
  // Only the admin role may read it (session.js): an agent's portal never asks, so the
  // server sees no refused request in normal use.
  if (S.role !== 'admin') return Promise.resolve(false);
  return fetch('/api/webhooks', { headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store' }).then(function (res) {
    if (res.status === 403 || res.status === 404 || res.status === 401) return false;
    if (!res.ok) throw new Error('HTTP ' + res.status);
    return res.json().then(function (log) {
      render(box, log && typeof log === 'object' ? log : {});
      return true;
    });
  }).catch(function (e) {
    box.replaceChildren(el('p', 'muted small', 'Cannot load the delivery log: ' + (e && e.message ? e.message : 'network error')));
    return true;
  });
}

function render(box, log) {
  var eps = Array.isArray(log.endpoints) ? log.endpoints : [];
  var dels = Array.isArray(log.deliveries) ? log.deliveries : [];
  var parts = [];
  if (!eps.length) {
    parts.push(el('p', 'muted small', 'No webhooks are configured (--webhook-urls).'));
    box.replaceChildren.apply(box, parts);
    return;
  }
  var ul = el('ul', 'hook-endpoints');
  eps.forEach(function (e) {
    var li = el('li', '', String(e.endpoint || ''));
    var extra = [];
    if (Array.isArray(e.events)) extra.push(e.events.join(', '));
    if (e.format) extra.push(String(e.format));
    if (e.queued) extra.push(e.queued + ' queued');
    if (extra.length) li.appendChild(el('span', 'muted small', ' · ' + extra.join(' · ')));
    ul.appendChild(li);
  });
  parts.push(ul);
  if (!dels.length) {
    parts.push(el('p', 'muted small', 'No deliveries yet.'));
    box.replaceChildren.apply(box, parts);
    return;
  }
  var table = el('table', 'hook-log');
  var head = el('tr');
  ['Time', 'Event', 'Endpoint', 'Status', 'Attempts', 'Answer'].forEach(function (h) { head.appendChild(el('th', '', h)); });
  table.appendChild(head);
  dels.forEach(function (d) {
    var tr = el('tr', 'hook-' + String(d.status || ''));
    tr.appendChild(el('td', '', when(d.updated || d.created)));
    tr.appendChild(el('td', '', String(d.event || '')));
    tr.appendChild(el('td', '', String(d.endpoint || '')));
    tr.appendChild(el('td', 'hook-status', String(d.status || '')));
    tr.appendChild(el('td', '', String(d.attempts || 0)));
    var answer = d.code ? 'HTTP ' + d.code : '';
    if (d.error) answer += (answer ? ' · ' : '') + d.error;
    if (typeof d.latency_ns === 'number' && d.latency_ns > 0) answer += (answer ? ' · ' : '') + Math.round(d.latency_ns / 1e6) + ' ms';
    var td = el('td', 'hook-answer', answer);
    td.title = d.id ? 'Delivery ' + d.id : '';
    tr.appendChild(td);
    table.appendChild(tr);
  });
  parts.push(table);
  box.replaceChildren.apply(box, parts);
}
