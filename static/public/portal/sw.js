// chatd portal service worker (scope /portal/): shows the Web Push
// notifications chatd sends while no portal window is focused, and a click
// focuses the portal (or opens it) on that conversation. The payload is
// decrypted by the browser (RFC 8291); it is chatd's JSON:
// {type, visitor, name, text, offset, url, at} (docs/notifications.md).
// Notifications are plain text: nothing here is ever parsed as markup.

var PORTAL = new URL('./', self.location.href).pathname; // "/portal/"

self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (ev) { ev.waitUntil(self.clients.claim()); });

function portalWindows() {
  return self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (wins) {
    return wins.filter(function (w) {
      try { return new URL(w.url).pathname.indexOf(PORTAL) === 0; } catch (e) { return false; }
    });
  });
}

function str(v, max) {
  if (typeof v !== 'string') return '';
  // Never half a character: a cut between a surrogate pair shows U+FFFD (notify.js does the same).
  return v.length > max ? v.slice(0, max - 1).replace(/[\ud800-\udbff]$/, '') + '…' : v;
}

// notification builds what a push shows; the page's desktop notifications
// (notify.js) use the same title and tag, so one replaces the other.
function notification(n) {
  var visitor = str(n.visitor, 64);
  var name = str(n.name, 80) || 'A visitor';
  return {
    title: n.type === 'conversation.created' ? 'New conversation: ' + name : name,
    options: {
      body: str(n.text, 200),
      tag: 'chatd-' + visitor,
      renotify: true,
      icon: '/favicon.svg',
      data: { visitor: visitor }
    }
  };
}

self.addEventListener('push', function (ev) {
  var n = {};
  try { n = ev.data ? ev.data.json() : {}; } catch (e) { n = {}; }
  if (!n || typeof n !== 'object') n = {};
  ev.waitUntil(portalWindows().then(function (wins) {
    // A focused portal shows its own notification for this message.
    if (wins.some(function (w) { return w.focused; })) return;
    var shown = notification(n);
    return self.registration.showNotification(shown.title, shown.options);
  }));
});

self.addEventListener('notificationclick', function (ev) {
  ev.notification.close();
  var visitor = ev.notification.data && typeof ev.notification.data.visitor === 'string' ? ev.notification.data.visitor : '';
  ev.waitUntil(portalWindows().then(function (wins) {
    var w = wins.filter(function (x) { return x.focused; })[0] || wins[0];
    if (w) {
      // The page selects the conversation (portal.js listens); focus() may be
      // refused outside a user gesture, the selection is not.
      w.postMessage({ type: 'chatd:open', visitor: visitor });
      return w.focus().catch(function () {});
    }
    return self.clients.openWindow(PORTAL + (visitor ? '#visitor=' + encodeURIComponent(visitor) : ''));
  }));
});
