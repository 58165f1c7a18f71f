// Dates and times as the portal shows them, in the browser's time zone and locale.
// Every function takes "now" so the labels can be checked against any clock.

// dayNumber counts calendar days in local time: two instants on the same local
// date give the same number, whatever the time zone's offset or a DST change.
export function dayNumber(d) {
  return Math.round(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / 86400000);
}

function parse(iso) {
  if (!iso) return null;
  var d = new Date(iso);
  return isNaN(d) ? null : d;
}

// Formatters are made once per set of options: making one costs far more
// than formatting (a list of a thousand rows made a thousand of them).
var formats = {};
function fmt(key, opts) {
  return formats[key] || (formats[key] = new Intl.DateTimeFormat([], opts));
}

function clock(d) {
  return fmt('clock', { hour: '2-digit', minute: '2-digit' }).format(d);
}

function date(d, now, long) {
  var opts = long ? { weekday: 'long', month: 'long', day: 'numeric' } : { month: 'short', day: 'numeric' };
  if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  return fmt(JSON.stringify(opts), opts).format(d);
}

// timeLabel is a message's time: the clock alone today, with the day before that
// ("Yesterday, 14:05", "Mon, 14:05" within a week, "Nov 22, 14:05", the year when
// it is not this year's). A message from last week never reads as today's.
export function timeLabel(iso, now) {
  var d = parse(iso);
  if (!d) return '';
  now = now || new Date();
  var days = dayNumber(now) - dayNumber(d);
  var t = clock(d);
  if (days === 0) return t;
  if (days === 1) return 'Yesterday, ' + t;
  if (days > 1 && days < 7) return fmt('weekday', { weekday: 'short' }).format(d) + ', ' + t;
  return date(d, now, false) + ', ' + t;
}

// shortLabel is the compact form for the visitor list: the clock today, else the day.
export function shortLabel(iso, now) {
  var d = parse(iso);
  if (!d) return '';
  now = now || new Date();
  var days = dayNumber(now) - dayNumber(d);
  if (days === 0) return clock(d);
  if (days === 1) return 'Yesterday';
  if (days > 1 && days < 7) return fmt('weekday', { weekday: 'short' }).format(d);
  return date(d, now, false);
}

// dayKey names the local calendar day of iso ("" when it has no valid time).
export function dayKey(iso) {
  var d = parse(iso);
  return d ? String(dayNumber(d)) : '';
}

// dayLabel is the text of a day separator: Today, Yesterday, or the full date.
export function dayLabel(iso, now) {
  var d = parse(iso);
  if (!d) return '';
  now = now || new Date();
  var days = dayNumber(now) - dayNumber(d);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return date(d, now, true);
}

// msUntilNextDay is how long until the local date changes (at least 1 ms).
export function msUntilNextDay(now) {
  now = now || new Date();
  var next = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  return Math.max(1, next.getTime() - now.getTime());
}

// onNewDay calls fn whenever the local date changes: at midnight (re-armed at
// most every minute, so a suspended laptop or a changed clock is caught), and
// when the page comes back into view or focus.
export function onNewDay(fn) {
  var day = dayNumber(new Date());
  var timer = 0;
  function check() {
    clearTimeout(timer);
    var now = new Date();
    var today = dayNumber(now);
    if (today !== day) {
      day = today;
      fn();
    }
    timer = setTimeout(check, Math.min(60000, msUntilNextDay(now) + 50));
  }
  document.addEventListener('visibilitychange', check);
  window.addEventListener('focus', check);
  check();
}
