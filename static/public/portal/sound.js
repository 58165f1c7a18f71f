// The notification sound and the browser's autoplay policy.
//
// Browsers start an AudioContext "suspended" until the page has had a user
// gesture (a click, a tap, a key press): after a reload, a ticked "Sound" box
// would stay silent. So the context is resumed on the first gesture anywhere in
// the page, and until then the state is "blocked" and the portal says plainly
// that a click is needed.

var GESTURES = ['pointerdown', 'keydown', 'touchend'];

// createSound returns {enable(on), beep(), state()}; onState(state) is called
// whenever state() changes: "off", "blocked" (ticked, waiting for a gesture),
// "on", or "unavailable" (no Web Audio in this browser).
export function createSound(onState) {
  var enabled = false;
  var ctx = null;
  var last = '';

  function state() {
    if (!enabled) return 'off';
    if (!window.AudioContext && !window.webkitAudioContext) return 'unavailable';
    return ctx && ctx.state === 'running' ? 'on' : 'blocked';
  }
  function report() {
    var s = state();
    if (s !== last) {
      last = s;
      onState(s);
    }
  }
  function context() {
    if (!ctx) {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return null;
      try { ctx = new AC(); } catch (e) { return null; }
      ctx.onstatechange = report;
    }
    return ctx;
  }
  // unlock runs inside a user gesture, where the browser allows resume().
  function unlock() {
    if (!enabled) return;
    var c = context();
    if (c && c.state !== 'running') c.resume().then(report, report);
    report();
  }
  GESTURES.forEach(function (type) {
    window.addEventListener(type, unlock, { capture: true, passive: true });
  });

  return {
    state: state,
    enable: function (on) {
      enabled = !!on;
      if (enabled) context();
      report();
    },
    // beep plays a short tone; false when the sound is off or still blocked.
    beep: function () {
      if (state() !== 'on') return false;
      try {
        var o = ctx.createOscillator();
        var g = ctx.createGain();
        o.type = 'sine';
        o.frequency.value = 880;
        g.gain.setValueAtTime(0.0001, ctx.currentTime);
        g.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
        o.connect(g);
        g.connect(ctx.destination);
        o.start();
        o.stop(ctx.currentTime + 0.3);
        return true;
      } catch (e) {
        return false;
      }
    },
    unlock: unlock
  };
}
