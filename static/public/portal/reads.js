// Read positions (per visitor, the highest offset the agent has read), shared by
// all of the agent's tabs in this browser.
//
// localStorage holds them, merged by maximum on every write, so two tabs that
// read different conversations at once both keep theirs. A BroadcastChannel
// tells the other tabs at once; where it is missing, the "storage" event (fired
// in the other tabs of the origin when localStorage changes) does the same job.
// Offsets only mean something within one store epoch: positions kept under
// another epoch (the server's data was restored or replaced) are dropped.

var CHANNEL = 'chatd.portal.reads';

function load(key) {
  try {
    var v = JSON.parse(localStorage.getItem(key) || 'null');
    if (v && typeof v === 'object' && v.pos && typeof v.pos === 'object') return { epoch: String(v.epoch || ''), pos: v.pos };
    if (v && typeof v === 'object') return { epoch: '', pos: v }; // the format before epochs
  } catch (e) { /* unreadable: start empty */ }
  return { epoch: '', pos: {} };
}

// createReads returns the read positions of agent admin; onChange() is called
// when another tab changed them.
export function createReads(admin, onChange) {
  var key = 'chatd.portal.read.' + admin;
  var cur = load(key);
  var chan = null;
  try { chan = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL) : null; } catch (e) { chan = null; }

  // merge takes the higher position of each visitor from pos; true if any moved.
  function merge(pos) {
    var moved = false;
    for (var id in pos) {
      var n = Number(pos[id]) || 0;
      if (Object.prototype.hasOwnProperty.call(pos, id) && n > (cur.pos[id] || 0)) {
        cur.pos[id] = n;
        moved = true;
      }
    }
    return moved;
  }
  function reloadFromStorage() {
    var v = load(key);
    if (v.epoch && cur.epoch && v.epoch !== cur.epoch) return false;
    if (v.epoch && !cur.epoch) cur.epoch = v.epoch;
    return merge(v.pos);
  }
  function save() {
    reloadFromStorage();
    try { localStorage.setItem(key, JSON.stringify(cur)); } catch (e) { /* memory only */ }
  }

  function onMessage(ev) {
    var d = ev.data || {};
    if (d.admin !== admin || (d.epoch || '') !== cur.epoch) return;
    var pos = {};
    pos[d.id] = d.offset;
    if (merge(pos)) onChange();
  }
  function onStorage(ev) {
    if (ev.key === key && reloadFromStorage()) onChange();
  }
  if (chan) chan.onmessage = onMessage;
  window.addEventListener('storage', onStorage);

  return {
    get: function (id) { return cur.pos[id] || 0; },
    // mark records that visitor id is read up to offset, here and in the other tabs.
    mark: function (id, offset) {
      if (!(offset > (cur.pos[id] || 0))) return;
      cur.pos[id] = offset;
      save();
      if (chan) {
        try { chan.postMessage({ admin: admin, epoch: cur.epoch, id: id, offset: offset }); } catch (e) { /* storage event covers it */ }
      }
    },
    // setEpoch adopts the server's store epoch; positions from another epoch are dropped.
    setEpoch: function (epoch) {
      epoch = String(epoch || '');
      if (!epoch || epoch === cur.epoch) return;
      var stored = load(key);
      if (cur.epoch || (stored.epoch && stored.epoch !== epoch)) {
        cur = { epoch: epoch, pos: stored.epoch === epoch ? stored.pos : {} };
      } else {
        cur.epoch = epoch; // positions kept before the server told epochs: same store
      }
      save();
      onChange();
    },
    close: function () {
      if (chan) chan.close();
      window.removeEventListener('storage', onStorage);
    }
  };
}
