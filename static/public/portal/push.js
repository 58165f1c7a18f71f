// Web Push for the agent: with the portal closed, chatd pushes new
// conversations and visitor messages to this browser, and the portal's
// service worker (/portal/sw.js, scope /portal/) shows them.
//
// Subscribing asks the browser's notification permission: call enablePush
// from a click. The subscription is stored by chatd for the signed-in agent
// (POST /api/push/subscriptions); signing out removes it, so a shared
// computer stops getting the agent's notifications.
import { S } from './state.js';

var SW = '/portal/sw.js';
var SCOPE = '/portal/';

export function pushSupported() {
  return !!(window.isSecureContext && navigator.serviceWorker && window.PushManager && window.Notification);
}

function api(method, path, body, token) {
  var headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body) headers['Content-Type'] = 'application/json';
  return fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined });
}

// serverKey resolves to chatd's VAPID public key, or '' when web push is off there.
function serverKey() {
  return api('GET', '/api/push/vapid').then(function (res) {
    if (res.status === 404) return '';
    if (!res.ok) throw new Error('HTTP ' + res.status);
    return res.json().then(function (b) { return typeof b.key === 'string' ? b.key : ''; });
  });
}

function keyBytes(b64url) {
  var s = b64url.replace(/-/g, '+').replace(/_/g, '/');
  while (s.length % 4) s += '=';
  var raw = atob(s);
  var out = new Uint8Array(raw.length);
  for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function sameKey(sub, key) {
  var have = sub.options && sub.options.applicationServerKey;
  if (!have) return true; // the browser does not tell: assume it is ours
  var a = new Uint8Array(have);
  var b = keyBytes(key);
  if (a.length !== b.length) return false;
  for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function currentSubscription() {
  if (!pushSupported()) return Promise.resolve(null);
  return navigator.serviceWorker.getRegistration(SCOPE).then(function (reg) {
    return reg ? reg.pushManager.getSubscription() : null;
  });
}

// pushState resolves to 'unsupported' (this browser, or not https),
// 'unavailable' (chatd runs without --push-subject), 'denied' (blocked in
// the browser), 'off' or 'on'.
export function pushState() {
  if (!pushSupported()) return Promise.resolve('unsupported');
  return serverKey().then(function (key) {
    if (!key) return 'unavailable';
    if (Notification.permission === 'denied') return 'denied';
    return currentSubscription().then(function (sub) { return sub ? 'on' : 'off'; });
  }).catch(function () { return 'off'; });
}

function save(sub) {
  return api('POST', '/api/push/subscriptions', sub.toJSON(), S.token).then(function (res) {
    if (res.status === 201) return;
    return res.json().catch(function () { return {}; }).then(function (b) {
      throw new Error(b && b.error ? b.error : 'HTTP ' + res.status);
    });
  });
}

// enablePush subscribes this browser for the signed-in agent; it resolves to
// the new pushState() or rejects with a message to show.
export function enablePush() {
  if (!pushSupported()) return Promise.resolve('unsupported');
  // Ask first, while the click's user activation lasts (Firefox needs it).
  var asked = Notification.permission === 'default' ? Promise.resolve(Notification.requestPermission()) : Promise.resolve(Notification.permission);
  return asked.then(function (perm) {
    if (perm !== 'granted') return 'denied';
    return serverKey().then(function (key) {
      if (!key) return 'unavailable';
      return navigator.serviceWorker.register(SW, { scope: SCOPE }).then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (reg) {
        return reg.pushManager.getSubscription().then(function (old) {
          if (old && sameKey(old, key)) return old;
          // Another server key (chatd's key file was replaced): start over.
          return (old ? old.unsubscribe() : Promise.resolve()).then(function () {
            return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
          });
        });
      }).then(save).then(function () { return 'on'; });
    });
  });
}

// disablePush removes this browser's subscription, at chatd (for the agent
// of token, default the signed-in one) and in the browser.
export function disablePush(token) {
  return currentSubscription().then(function (sub) {
    if (!sub) return 'off';
    var endpoint = sub.endpoint;
    return api('DELETE', '/api/push/subscriptions', { endpoint: endpoint }, token || S.token).catch(function () {}).then(function () {
      return sub.unsubscribe().catch(function () {});
    }).then(function () { return 'off'; });
  });
}

// refreshPush tells chatd again about an existing subscription after a
// sign-in: it then belongs to the agent now signed in.
export function refreshPush() {
  currentSubscription().then(function (sub) {
    if (sub) return save(sub);
  }).catch(function () { /* shown in the settings when opened */ });
}
