// HTTP API wrappers. Same origin only; the session lives in the HttpOnly cookie that
// /login sets, so no token is ever read or stored by this code.

/** Error thrown for any non-2xx answer; `status` is the HTTP status (0: network). */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

let onUnauthorized = () => {};
/** Called when an authenticated endpoint answers 401 (expired session). */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/** A JSON request to this origin; resolves to the parsed body (null when empty). */
export async function request(method, path, body, { auth = true } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'Cannot reach the server. Check your connection and try again.');
  }
  let data = null;
  try { data = await res.json(); } catch { /* empty or non-JSON body */ }
  if (res.ok) return data;
  if (res.status === 401 && auth) onUnauthorized();
  throw new ApiError(res.status, messageOf(res, data), data);
}

// Pick a human-readable message out of the server's error shapes.
function messageOf(res, data) {
  const m = data && (data.msg || (data.body && data.body.message) ||
                     (data.error && (data.error.message || data.error.code)));
  return m || `The server answered ${res.status} ${res.statusText || ''}`.trim();
}

export const login = (username, password, remember) =>
  request('POST', 'login', { username, password, remember: !!remember }, { auth: false });
export const logout = () => request('POST', 'logout', {}, { auth: false });
/**
 * → {username, expires, demo, attachments: {max_bytes, text_max, per_prompt, prompt_bytes,
 *    image_max_side, pdf}}; throws ApiError(401) when not logged in.
 */
export const me = () => request('GET', 'api/me', undefined, { auth: false });
/** → {sessions: [{id, started, last_seen, addr, client, remember, current}]} */
export const sessions = () => request('GET', 'api/sessions');
/** Ends one of the user's own sessions (by its public id). */
export const endSession = (id) => request('DELETE', `api/sessions/${encodeURIComponent(id)}`);
/** Ends every other session of the user → {ended}. */
export const endOtherSessions = () => request('POST', 'api/sessions/others', {});
/**
 * → {models: [...], default, details: [{id, upstream, label, available, params,
 *    reasoning_effort, images}], upstreams: [{name, label, discover, status, error?, checked?}]}
 * (details and upstreams absent from an older server).
 */
export const models = () => request('GET', 'api/models');
/**
 * → {currency, warn_percent, percent, warn, exceeded,
 *    day: {since, resets_at, tokens, cost, limit_tokens, limit_cost}, month: {…},
 *    site?: {percent, resets_at}} (money in units of currency; a limit null: none)
 */
export const usage = () => request('GET', 'api/usage');
