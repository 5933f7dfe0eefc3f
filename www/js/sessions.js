// The user's own sessions in the settings drawer: where they are logged in
// (client, address, last use), with a button to end each other one and one to
// log out everywhere else. Read each time the drawer opens; ids are public ids
// (the server never shows a session's secret).
import * as api from './api.js';

const when = (s) => new Date(s * 1000).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });

// A short name for a User-Agent: the browser and the system, when recognisable.
function clientName(ua) {
  if (!ua) return 'Unknown client';
  const browser = (/(Firefox|Edg|Chrome|Safari|curl|python)[/ ]?([\d.]*)/i.exec(ua) || [])[1];
  const os = (/(Windows|Mac OS X|Android|iPhone|Linux)/.exec(ua) || [])[1];
  return [browser === 'Edg' ? 'Edge' : browser, os].filter(Boolean).join(' on ') || ua.slice(0, 60);
}

export class Sessions {
  constructor(dialog, opener) {
    this.list = dialog.querySelector('#sessions-list');
    this.error = dialog.querySelector('#sessions-error');
    this.others = dialog.querySelector('#sessions-others');
    this.others.addEventListener('click', () => this.act(() => api.endOtherSessions()));
    this.list.addEventListener('click', ({ target }) => {
      const id = target.closest('button[data-id]')?.dataset.id;
      if (id) this.act(() => api.endSession(id));
    });
    opener.addEventListener('click', () => this.refresh());
  }

  async act(fn) {
    try { await fn(); } catch (e) { this.say(e.message); }
    await this.refresh();
  }

  say(text) {
    this.error.textContent = text || '';
    this.error.hidden = !text;
  }

  async refresh() {
    let data;
    try { data = await api.sessions(); } catch (e) { this.say(e.message); return; }
    this.say('');
    const rows = data.sessions.map((s) => {
      const li = document.createElement('li');
      li.className = 'session-row';
      const text = document.createElement('span');
      const title = document.createElement('strong');
      title.textContent = clientName(s.client);
      const meta = document.createElement('span');
      meta.className = 'muted small';
      meta.textContent = ` ${s.addr} · since ${when(s.started)} · last used ${when(s.last_seen)}` +
        (s.remember ? ' · remembered' : '');
      meta.title = s.client;
      text.append(title, meta);
      li.append(text);
      if (s.current) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = 'this browser';
        li.append(badge);
      } else {
        const end = document.createElement('button');
        end.type = 'button';
        end.className = 'btn small';
        end.dataset.id = s.id;
        end.textContent = 'Log out';
        end.setAttribute('aria-label', `Log out ${clientName(s.client)} at ${s.addr}`);
        li.append(end);
      }
      return li;
    });
    this.list.replaceChildren(...rows);
    this.others.disabled = data.sessions.every((s) => s.current);
  }
}
