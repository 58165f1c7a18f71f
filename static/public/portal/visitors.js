// The visitor list: who is there, and in which order.
//
// The order is exactly the server's order for admin:list, kept up to date by
// the live events instead of re-derived from timestamps (which the server only
// sends to the second, and which come from another clock):
//   1. the visitor whose latest message has the highest offset first;
//   2. then the visitor seen most recently first (the server records "seen"
//      when a visitor's first socket opens and when its last one closes:
//      exactly when it sends admin:client_status).
// Each visitor carries a rank for rule 2: the list gives ranks by position,
// a status event puts the visitor above everyone (the server's "seen" just
// became the newest), a page of older visitors (admin:visitors) ranks below
// everyone known.

// normPage turns a page from the server into {url, title, at}, or null.
// It accepts an object with url (admin:client_page, admin:list's "page") or a string.
export function normPage(p) {
  if (typeof p === 'string') return p ? { url: p, title: '', at: '' } : null;
  if (!p || typeof p !== 'object' || typeof p.url !== 'string' || !p.url) return null;
  return { url: p.url, title: typeof p.title === 'string' ? p.title : '', at: typeof p.at === 'string' ? p.at : '' };
}

export function createVisitors() {
  var all = new Map(); // id -> {id, name, connected, last, seen, created, meta, page, rank}
  var top = 0; // highest rank given
  var bottom = 0; // lowest rank given
  var gone = new Set(); // deleted visitors

  function fill(v, e) {
    if (typeof e.name === 'string' && e.name) v.name = e.name;
    if (typeof e.connected === 'boolean') v.connected = e.connected;
    if (typeof e.last === 'number' && e.last > (v.last || 0)) v.last = e.last;
    if (typeof e.seen === 'string') v.seen = e.seen;
    if (typeof e.created === 'string') v.created = e.created;
    if (e.meta && typeof e.meta === 'object') v.meta = e.meta;
    if (typeof e.email === 'string') v.email = e.email; // issue 12: absent on older servers
    if (typeof e.identity === 'string') v.identity = e.identity;
    if (e.attributes && typeof e.attributes === 'object' && !Array.isArray(e.attributes)) v.attributes = e.attributes;
    var p = normPage(e.page);
    if (p) v.page = p;
  }
  function blank(id) {
    return { id: id, name: '', connected: false, last: 0, seen: '', created: '', meta: null, page: null, email: '', identity: '', attributes: null, rank: 0 };
  }

  return {
    get: function (id) { return all.get(id); },
    // remove forgets a deleted visitor (privacy.js); events about it that
    // cross the deletion (its socket's closing) no longer bring it back.
    remove: function (id) {
      all.delete(id);
      gone.add(id);
    },
    // update takes admin:client (a known visitor's changed fields); true if known.
    update: function (e) {
      var v = e && typeof e.id === 'string' ? all.get(e.id) : null;
      if (!v) return false;
      fill(v, e);
      return true;
    },
    has: function (id) { return all.has(id); },
    size: function () { return all.size; },
    // ensure returns visitor id, adding it above everyone if unknown.
    ensure: function (id) {
      var v = all.get(id);
      if (!v && gone.has(id)) return blank(id); // not kept
      if (!v) {
        v = blank(id);
        v.rank = ++top;
        all.set(id, v);
      }
      return v;
    },
    // replace takes admin:list: the whole list, in the server's order.
    replace: function (entries) {
      all = new Map();
      var n = 0;
      (entries || []).forEach(function (e) {
        if (!e || typeof e.id !== 'string' || !e.id || all.has(e.id)) return;
        var v = blank(e.id);
        fill(v, e);
        v.rank = -n++;
        all.set(v.id, v);
      });
      top = 0;
      bottom = -n;
    },
    // addPage takes a page of older visitors (admin:visitors), in the server's order.
    // A visitor already known keeps what live events told about it.
    addPage: function (entries) {
      (entries || []).forEach(function (e) {
        if (!e || typeof e.id !== 'string' || !e.id) return;
        var v = all.get(e.id);
        if (v) {
          if (!v.name && e.name) v.name = e.name;
          if (!v.meta && e.meta) v.meta = e.meta;
          if (!v.page) v.page = normPage(e.page);
          if (typeof e.last === 'number' && e.last > v.last) v.last = e.last;
          return;
        }
        v = blank(e.id);
        fill(v, e);
        v.rank = --bottom;
        all.set(v.id, v);
      });
    },
    // status applies admin:client_status: the visitor was seen just now.
    status: function (d, now) {
      var v = this.ensure(d.id);
      if (typeof d.name === 'string' && d.name) v.name = d.name;
      v.connected = !!d.status;
      v.seen = now;
      v.rank = ++top;
      return v;
    },
    // message notes a stored message of visitor id.
    message: function (id, offset) {
      var v = this.ensure(id);
      if (offset > (v.last || 0)) v.last = offset;
      return v;
    },
    // page applies admin:client_page: the visitor's current page.
    page: function (d) {
      var p = normPage(d);
      if (!p) return null;
      var v = this.ensure(d.id);
      if (!v.page || !(Date.parse(p.at) < Date.parse(v.page.at))) v.page = p; // never an older page over a newer one
      return v;
    },
    // sorted lists the visitors in the server's order.
    sorted: function () {
      return Array.from(all.values()).sort(function (a, b) {
        return (b.last || 0) - (a.last || 0) || b.rank - a.rank;
      });
    }
  };
}
