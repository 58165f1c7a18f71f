// Desktop notifications (the browser's Notification API) for the agent: a
// new conversation, or a new message in a conversation the agent is not
// looking at (another conversation is open, the tab is hidden, or the window
// is not focused). A click focuses the portal on that conversation. Also the
// way into a conversation from outside the page: a click on a Web Push
// notification (sw.js posts "chatd:open") or a link ending in
// "#visitor=<id>" (alert mails).
//
// The choice is kept per browser (localStorage); the permission is asked on
// a user gesture only (the settings' checkbox), never at load. Text reaches
// notifications as plain text: the Notification API renders no markup.
import { S, local, getItem, setItem } from './state.js';
import { select, convVisible, displayName } from './view.js';

var KEY = 'chatd.portal.desktop';
var BODY = 200; // characters of a message shown

export function desktopSupported() {
  return typeof window.Notification === 'function';
}

// desktopState: 'unsupported', 'denied' (blocked in the browser), 'off',
// 'ask' (on, but the browser's permission was not given yet) or 'on'.
export function desktopState() {
  if (!desktopSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  if (getItem(local, KEY) !== '1') return 'off';
  return Notification.permission === 'granted' ? 'on' : 'ask';
}

// setDesktop turns desktop notifications on or off. Turning them on asks the
// browser's permission when it was never asked: call it from a click.
// It resolves to the new desktopState().
export function setDesktop(on) {
  setItem(local, KEY, on ? '1' : '');
  if (!on || !desktopSupported() || Notification.permission !== 'default') return Promise.resolve(desktopState());
  try {
    return Promise.resolve(Notification.requestPermission()).then(desktopState, desktopState);
  } catch (e) {
    return Promise.resolve(desktopState());
  }
}

function clip(s, n) {
  s = typeof s === 'string' ? s : '';
  // Never half a character: a cut between a surrogate pair shows U+FFFD (sw.js does the same).
  return s.length > n ? s.slice(0, n - 1).replace(/[\ud800-\udbff]$/, '') + '…' : s;
}

// lookingAt: the agent sees visitor's conversation right now.
function lookingAt(visitor) {
  return visitor === S.selected && convVisible() && document.hasFocus();
}

// notifyMessage shows a notification for a live visitor message m unless the
// agent is looking at its conversation; first marks a new conversation.
export function notifyMessage(m, first) {
  if (desktopState() !== 'on' || lookingAt(m.client)) return;
  var v = S.visitors.get(m.client) || { id: m.client, name: '' };
  var name = displayName(v);
  // The same title and tag as sw.js: a push about the same conversation
  // replaces this one instead of stacking.
  var title = first ? 'New conversation: ' + name : name;
  var opts = { body: clip(m.text, BODY), tag: 'chatd-' + m.client, renotify: true, icon: '/favicon.svg', data: { visitor: m.client } };
  try {
    var n = new Notification(title, opts);
    n.onclick = function () {
      n.close();
      openVisitor(m.client);
    };
  } catch (e) {
    // Android browsers only show notifications through a service worker;
    // its notificationclick posts chatd:open back to this page.
    if (navigator.serviceWorker) {
      navigator.serviceWorker.getRegistration('/portal/').then(function (reg) {
        if (reg) reg.showNotification(title, opts);
      }).catch(function () {});
    }
  }
}

// ---- opening a conversation from outside ----
var pending = ''; // a visitor to open once the list knows it

// openVisitor focuses the portal on visitor id's conversation, as soon as
// the visitor list holds it.
export function openVisitor(id) {
  if (typeof id !== 'string' || !id) return;
  try { window.focus(); } catch (e) { /* focus is the browser's call */ }
  if (S.visitors.has(id)) {
    pending = '';
    select(id);
  } else {
    pending = id;
  }
}

// listed is called whenever visitors were added to the list: a pending
// conversation opens once it is there.
export function listed() {
  if (pending && S.visitors.has(pending)) openVisitor(pending);
}

// fromHash opens "#visitor=<id>" and drops the fragment from the address.
function fromHash() {
  var m = /^#visitor=([^&]+)$/.exec(location.hash || '');
  if (!m) return;
  var id = '';
  try { id = decodeURIComponent(m[1]); } catch (e) { return; }
  try { history.replaceState(history.state, '', location.pathname + location.search); } catch (e) { /* keep the fragment */ }
  openVisitor(id);
}
window.addEventListener('hashchange', fromHash);
fromHash();

if (navigator.serviceWorker) {
  navigator.serviceWorker.addEventListener('message', function (ev) {
    var d = ev.data;
    if (d && d.type === 'chatd:open' && typeof d.visitor === 'string') openVisitor(d.visitor);
  });
  try { navigator.serviceWorker.startMessages(); } catch (e) { /* started at load anyway */ }
}
