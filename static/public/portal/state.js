// The portal's state, shared by the socket code (portal.js) and the view (view.js).
import { createVisitors } from './visitors.js';

// Web storage can be unavailable (site data blocked): every access is guarded,
// and the portal then works from memory.
function storage(name) {
  try { return window[name]; } catch (e) { return null; }
}
export var local = storage('localStorage');
export var sess = storage('sessionStorage');

export function getJSON(store, key, def) {
  try { var v = store.getItem(key); return v ? JSON.parse(v) : def; } catch (e) { return def; }
}
export function setJSON(store, key, v) {
  try { store.setItem(key, JSON.stringify(v)); } catch (e) { /* keep in memory only */ }
}
export function getItem(store, key) {
  try { return store.getItem(key) || ''; } catch (e) { return ''; }
}
export function setItem(store, key, v) {
  try {
    if (v) store.setItem(key, v);
    else store.removeItem(key);
  } catch (e) { /* memory only */ }
}

export var S = {
  token: getItem(sess, 'chatd.portal.token'),
  adminName: getItem(sess, 'chatd.portal.admin'),
  selected: getItem(sess, 'chatd.portal.selected'), // the open conversation's visitor id
  drafts: getJSON(sess, 'chatd.portal.drafts', {}), // visitor id -> text
  outbox: getJSON(sess, 'chatd.portal.outbox', []), // replies not yet acknowledged
  visitors: createVisitors(),
  convs: new Map(), // visitor id -> {msgs: [], offsets: {}, complete: bool, loading: bool}
  reads: null, // read positions (reads.js), once signed in
  maxOffset: 0, // highest offset seen
  epoch: '', // the store's epoch from the last admin:replayed
  ready: false, // identified and the list received: presence is known
  listMore: false, // the server has more visitors than it listed
  listCursor: '', // where the next page of visitors starts
  loadingMore: false
};

export function saveOutbox() { setJSON(sess, 'chatd.portal.outbox', S.outbox); }
export function saveDrafts() { setJSON(sess, 'chatd.portal.drafts', S.drafts); }
export function saveSelected() { setItem(sess, 'chatd.portal.selected', S.selected); }

export function conv(id) {
  var c = S.convs.get(id);
  if (!c) {
    c = { msgs: [], offsets: {}, complete: false, loading: false };
    S.convs.set(id, c);
  }
  return c;
}

// senderName is who wrote an agent's message: the display name when the server sends one.
export function senderName(m) {
  return m.display || m.admin || 'Agent';
}
