// Privacy in the details panel: export everything kept of the visitor (a
// JSON file) and delete it all (GET /api/visitors/{id}/export, DELETE
// /api/visitors/{id}: the admin role). A deletion, by anyone, removes the
// visitor from every agent's portal (admin:client_deleted).
import { S, saveSelected } from './state.js';
import { I, on } from './inbox.js';
import { addSection } from './context.js';
import { renderSoon } from './view.js';

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function call(method, path) {
  return fetch(path, { method: method, headers: { Authorization: 'Bearer ' + S.token } }).then(function (res) {
    if (res.ok) return res;
    throw new Error(res.status === 403 ? 'Only agents with the admin role can do this.' :
      res.status === 404 ? 'This visitor no longer exists.' : 'The server answered ' + res.status + '.');
  });
}

addSection({
  title: 'Privacy',
  render: function (d, section) {
    var msg = el('p', 'muted small ctx-privacy-note');
    msg.hidden = true;
    function say(text) {
      msg.textContent = text;
      msg.hidden = !text;
    }
    var exp = el('button', 'ghost ctx-export', 'Export data');
    exp.type = 'button';
    exp.title = 'Download everything chatd keeps of this visitor, as JSON';
    exp.addEventListener('click', function () {
      say('');
      call('GET', '/api/visitors/' + encodeURIComponent(d.client) + '/export').then(function (res) { return res.blob(); }).then(function (blob) {
        var a = el('a');
        a.href = URL.createObjectURL(blob);
        a.download = 'chatd-visitor-' + d.client + '.json';
        document.body.appendChild(a);
        a.click();
        setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      }).catch(function (e) { say(e.message); });
    });
    var del = el('button', 'ghost danger ctx-delete', 'Delete visitor…');
    del.type = 'button';
    del.title = 'Delete this visitor, its conversation and everything kept of it';
    del.addEventListener('click', function () {
      say('');
      if (!window.confirm('Delete ' + (d.name || 'this visitor') + ', the whole conversation and everything kept of them? This cannot be undone.')) return;
      del.disabled = true;
      call('DELETE', '/api/visitors/' + encodeURIComponent(d.client)).catch(function (e) {
        say(e.message);
        del.disabled = false;
      });
    });
    var row = el('div', 'ctx-actions');
    row.appendChild(exp);
    row.appendChild(del);
    section.appendChild(row);
    // Shown instead of the buttons without the admin role (portal.css): no request the server refuses.
    section.appendChild(el('p', 'muted small ctx-role-note', 'Exporting or deleting a visitor\'s data needs the admin role.'));
    section.appendChild(msg);
  }
});

on('admin:client_deleted', function (d) {
  if (!d || typeof d.id !== 'string') return;
  S.visitors.remove(d.id);
  S.convs.delete(d.id);
  I.convs.delete(d.id);
  I.viewers.delete(d.id);
  I.typing.delete(d.id);
  if (S.selected === d.id) {
    S.selected = '';
    saveSelected();
  }
  renderSoon();
});
