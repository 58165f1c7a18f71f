// api calls a JSON endpoint of chatd with the agent's token: it resolves to
// the answer's JSON (null for 204) and rejects with an Error whose message
// is the server's reason, or forbidden for a 403 (the role is missing).
import { S } from './state.js';

export function api(method, path, body, forbidden) {
  return fetch(path, {
    method: method,
    headers: { Authorization: 'Bearer ' + S.token, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
    cache: 'no-store'
  }).then(function (res) {
    if (res.ok) return res.status === 204 ? null : res.json();
    return res.json().catch(function () { return {}; }).then(function (b) {
      throw new Error(res.status === 403 && forbidden ? forbidden :
        res.status === 401 ? 'Your session has ended; sign in again.' : (b && b.error) || 'HTTP ' + res.status);
    });
  });
}
