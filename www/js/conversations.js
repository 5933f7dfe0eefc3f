// The REST API of stored conversations (/api/conversations): the sidebar lists,
// renames, deletes and exports them; Chat reads the one it shows.
import { request } from './api.js';

const path = (id) => `/api/conversations/${encodeURIComponent(id)}`;

/** → {conversations: [{id, title, model, created_at, updated_at}], next: cursor|null}, newest first. */
export function list({ q = '', cursor = null, limit = 30 } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (q) query.set('q', q);
  if (cursor) query.set('cursor', cursor);
  return request('GET', `/api/conversations?${query}`);
}

/** → {id, title, model, system_prompt, messages: [{role, content, state, model, error?}]} */
export const get = (id) => request('GET', path(id));
export const rename = (id, title) => request('PATCH', path(id), { title });
export const remove = (id) => request('DELETE', path(id));
/** A download link (the server answers with Content-Disposition: attachment). */
export const exportUrl = (id, format) => `${path(id)}/export?format=${format}`;
