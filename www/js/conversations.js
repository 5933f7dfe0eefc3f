// The REST API of stored conversations (/api/conversations): the sidebar lists,
// renames, deletes and exports them; Chat reads the one it shows.
import { request } from './api.js';

const path = (id) => `api/conversations/${encodeURIComponent(id)}`;

/** → {conversations: [{id, title, model, created_at, updated_at}], next: cursor|null}, newest first. */
export function list({ q = '', cursor = null, limit = 30 } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (q) query.set('q', q);
  if (cursor) query.set('cursor', cursor);
  return request('GET', `api/conversations?${query}`);
}

/**
 * A page of the conversation, newest first: → {id, title, model, system_prompt,
 * messages: [{id, role, content, state, model, error?}] (oldest first), has_more,
 * before}; pass `before` back for the page of older messages.
 */
export function get(id, { before = null, limit = null } = {}) {
  const query = new URLSearchParams();
  if (before != null) query.set('before', String(before));
  if (limit != null) query.set('limit', String(limit));
  const q = query.toString();
  return request('GET', q ? `${path(id)}?${q}` : path(id));
}
export const rename = (id, title) => request('PATCH', path(id), { title });
export const remove = (id) => request('DELETE', path(id));
/** A download link (the server answers with Content-Disposition: attachment). */
export const exportUrl = (id, format) => `${path(id)}/export?format=${format}`;
