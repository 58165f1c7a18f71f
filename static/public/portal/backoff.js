// How long to wait before reconnecting the portal's socket, in milliseconds.
//
// After a server restart (close code 1012) the server is back within seconds:
// the first attempt comes after 0.25 to 1.5 s, the next ones after 0.25 s up to
// 1, 2, then 3 s ("full jitter": every portal draws its own wait in the whole
// range, so a restart does not bring all of them back in the same instant).
// Other closes (network lost, server down for good) back off exponentially:
// half to all of min(30 s, 1 s × 2^attempt). A restart that takes longer than
// RESTART_TRIES attempts is treated like an outage from then on.
export var RESTART_TRIES = 8;

export function reconnectDelay(attempt, restart, rand) {
  rand = rand || Math.random;
  var r = rand();
  if (restart && attempt < RESTART_TRIES) {
    var top = attempt === 0 ? 1500 : Math.min(3000, 500 * Math.pow(2, attempt));
    return Math.round(250 + r * (top - 250));
  }
  var cap = Math.min(30000, 1000 * Math.pow(2, attempt));
  return Math.round(cap / 2 + r * cap / 2);
}

// CLOSE_RESTART is the close code chatd sends to every socket when it shuts
// down or restarts: 1012 "Service Restart" in IANA's WebSocket close code registry.
export var CLOSE_RESTART = 1012;
