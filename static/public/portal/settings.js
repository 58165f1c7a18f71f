// The agent's notification settings (a dialog opened from the header):
// desktop notifications, Web Push on this device, and for admins the
// webhook delivery log.
import { desktopState, setDesktop } from './notify.js';
import { pushState, enablePush, disablePush } from './push.js';
import { loadWebhooks } from './webhooks.js';
import { loadSession } from './session.js';

function $(id) { return document.getElementById(id); }

var DESKTOP = {
  unsupported: 'This browser has no desktop notifications.',
  denied: 'Blocked in the browser: allow notifications for this site in its settings.',
  off: 'Off.',
  ask: 'Waiting for the browser’s permission.',
  on: 'On: new conversations and messages you are not looking at.'
};
var PUSH = {
  unsupported: 'Not available here (it needs a browser with Web Push and an https address).',
  unavailable: 'Not enabled on this server (--push-subject).',
  denied: 'Blocked in the browser: allow notifications for this site in its settings.',
  off: 'Off on this device.',
  on: 'On: this device is notified with the portal closed.'
};

function showDesktop(state) {
  $('set-desktop').checked = state === 'on' || state === 'ask';
  $('set-desktop').disabled = state === 'unsupported' || state === 'denied';
  $('set-desktop-note').textContent = DESKTOP[state] || '';
  $('settings-open').classList.toggle('attention', state === 'ask');
}
function showPush(state, err) {
  $('set-push').checked = state === 'on';
  $('set-push').disabled = state === 'unsupported' || state === 'unavailable' || state === 'denied';
  $('set-push-note').textContent = err ? 'Could not change push: ' + err : PUSH[state] || '';
}

function refresh() {
  showDesktop(desktopState());
  $('set-push-note').textContent = 'Checking…';
  pushState().then(function (s) { showPush(s); });
  var box = $('webhooks-log');
  // The role is read again first (it may have changed since sign-in): the log is asked for only with the admin role.
  loadSession().then(function () { return loadWebhooks(box); }).then(function (allowed) { $('webhooks').hidden = !allowed; });
}

export function initSettings() {
  var dlg = $('settings');
  $('settings-open').addEventListener('click', function () {
    refresh();
    if (typeof dlg.showModal === 'function') dlg.showModal();
    else dlg.setAttribute('open', '');
  });
  $('settings-close').addEventListener('click', function () {
    if (typeof dlg.close === 'function') dlg.close();
    else dlg.removeAttribute('open');
  });
  $('set-desktop').addEventListener('change', function () {
    setDesktop(this.checked).then(showDesktop); // in the click: the browser may ask now
  });
  $('set-push').addEventListener('change', function () {
    var box = this;
    box.disabled = true;
    $('set-push-note').textContent = box.checked ? 'Subscribing…' : 'Unsubscribing…';
    (box.checked ? enablePush() : disablePush()).then(function (s) { showPush(s); }, function (e) {
      pushState().then(function (s) { showPush(s, e && e.message ? e.message : String(e)); });
    });
  });
  $('webhooks-refresh').addEventListener('click', function () { loadWebhooks($('webhooks-log')); });
  showDesktop(desktopState());
}
