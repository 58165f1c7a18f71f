// The agent's status, online or away (admin:status), and who is there to
// answer (admin:agents): the header shows a status switch and how many agents
// are available. Visitors are told "we're away" when no agent is online and
// connected; e-mail alerts go out only then.
//
// The server keeps statuses in memory (a restart makes everyone online): the
// choice is kept per agent in this browser and told again on a connection
// where the server has another. A server without these events never sends
// admin:agents: the switch stays hidden and nothing is sent.
import { local, getItem, setItem } from './state.js';

function $(id) { return document.getElementById(id); }

var me = '';
var told = false; // the kept status was told on this connection
var send = function () {};
var key = function () { return 'chatd.portal.status.' + me; };

// initStatus wires the switch; sendFrame(type, data) writes to the socket.
export function initStatus(sendFrame) {
  send = sendFrame;
  $('status').addEventListener('change', function () {
    var v = this.value === 'away' ? 'away' : 'online';
    setItem(local, key(), v === 'away' ? 'away' : '');
    send('admin:status', { status: v });
    $('status').classList.toggle('away', v === 'away');
  });
}

// statusConnected starts a connection of agent name (after admin:replayed):
// the next admin:agents is the server's first word on statuses.
export function statusConnected(name) {
  me = name;
  told = false;
}

// agents shows admin:agents: the available count, the list in a tooltip, and
// the agent's own status. A server that sends it takes admin:status, so the
// switch shows; the status kept here ("away") is told once per connection.
export function agents(list) {
  if (!Array.isArray(list)) return;
  $('status-box').hidden = false;
  var avail = list.filter(function (a) { return a && a.connected && a.status === 'online'; });
  var names = list.filter(function (a) { return a && typeof a.name === 'string'; }).map(function (a) {
    var who = typeof a.display === 'string' && a.display ? a.display : a.name;
    return who + ': ' + (a.connected ? (a.status === 'away' ? 'away' : 'online') : 'not connected');
  });
  var n = $('agents-online');
  n.textContent = avail.length + ' available';
  n.title = names.join('\n');
  var mine = list.filter(function (a) { return a && a.name === me; })[0];
  var kept = getItem(local, key()) === 'away' ? 'away' : 'online';
  if (!told && mine && mine.status !== kept) {
    told = true;
    send('admin:status', { status: kept });
  }
  told = true;
  var shown = mine && (mine.status === 'online' || mine.status === 'away') ? mine.status : kept;
  $('status').value = shown;
  $('status').classList.toggle('away', shown === 'away');
}
