// The conversation list: newest first (paged with the server's cursor), searchable,
// with rename, delete and export per conversation; the open one is aria-current.
// Each item is a link to #c=ID, so opening one is plain navigation that main.js
// follows (and a middle click opens it in a new tab). Below 768 px the list is a
// drawer behind a header button: the rest of the page is inert while it is open,
// Escape or the backdrop closes it and the focus goes back to the button.
//
// Events (CustomEvent `detail`): deleted {id}, renamed {id, title}, notice {message}
import * as store from './conversations.js';

const PAGE = 30;
const SEARCH_DELAY_MS = 250;
const MAX_TITLE_BYTES = 200;
const PHONE = '(max-width: 47.99rem)';   // keep in step with app.css

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

export class Sidebar extends EventTarget {
  /** `rest`: the part of the page made inert while the phone drawer is open. */
  constructor({ nav, toggle, backdrop, rest, confirm }) {
    super();
    Object.assign(this, { nav, toggle, backdrop, rest, confirm });
    this.list = nav.querySelector('#conv-list');
    this.search = nav.querySelector('#conv-search');
    this.moreBtn = nav.querySelector('#conv-more');
    this.emptyNote = nav.querySelector('#conv-empty');
    this.items = new Map();   // id → {conv, li, link, menu, acts}
    this.current = null;
    this.next = null;
    this.q = '';
    this.gen = 0;             // bumped by every refresh, so a late page is dropped
    this.searchTimer = 0;
    this.loadingMore = false;
    this.phone = matchMedia(PHONE);

    this.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => {
        this.q = this.search.value.trim();
        this.refresh();
      }, SEARCH_DELAY_MS);
    });
    this.moreBtn.addEventListener('click', () => this.loadMore());
    this.list.addEventListener('click', (ev) => this.onClick(ev));
    this.list.addEventListener('keydown', (ev) => {
      const acts = ev.target.closest('.conv-actions');
      if (ev.key === 'Escape' && acts) {
        ev.preventDefault();
        this.closeActions(true);
      }
    });
    toggle.addEventListener('click', () => (this.isOpen ? this.closeDrawer() : this.openDrawer()));
    nav.querySelector('#sidebar-close').addEventListener('click', () => this.closeDrawer());
    backdrop.addEventListener('click', () => this.closeDrawer());
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && this.isOpen && !ev.defaultPrevented && !document.querySelector('dialog[open]')) {
        this.closeDrawer();
      }
    });
    this.phone.addEventListener('change', () => this.closeDrawer(false));
  }

  // ---- the list ----------------------------------------------------------------

  /** Reload the first page (of the search results when searching). */
  async refresh() {
    const gen = ++this.gen;
    this.list.setAttribute('aria-busy', 'true');
    let page;
    try {
      page = await store.list({ q: this.q, limit: PAGE });
    } catch (e) {
      if (gen !== this.gen) return;
      this.list.setAttribute('aria-busy', 'false');
      if (e.status !== 401) this.notice(`Could not load the conversation list: ${e.message}`);
      return;
    }
    if (gen !== this.gen) return;
    this.items.clear();
    this.list.replaceChildren();
    this.append(page);
  }

  async loadMore() {
    const gen = this.gen;
    if (!this.next || this.loadingMore) return;
    this.loadingMore = true;
    const hadFocus = document.activeElement === this.moreBtn;
    let page;
    try {
      page = await store.list({ q: this.q, cursor: this.next, limit: PAGE });
    } catch (e) {
      if (e.status !== 401) this.notice(`Could not load more conversations: ${e.message}`);
      return;
    } finally {
      this.loadingMore = false;
    }
    if (gen !== this.gen) return;
    const first = this.append(page);
    // The button is gone after the last page: keep the keyboard user in the list.
    if (hadFocus && this.moreBtn.hidden && first) first.link.focus();
  }

  // Adds a page at the end; returns the first new entry.
  append(page) {
    let first = null;
    for (const conv of page.conversations || []) {
      if (this.items.has(conv.id)) continue;
      const entry = this.entry(conv);
      this.list.append(entry.li);
      first = first || entry;
    }
    this.next = page.next || null;
    this.moreBtn.hidden = !this.next;
    this.list.setAttribute('aria-busy', 'false');
    this.changed();
    return first;
  }

  /** A conversation got a prompt (start frame): add it or move it to the top. */
  upsert(id, title) {
    const entry = this.items.get(id);
    if (entry) {
      if (title) this.setTitle(entry, title);
      this.toTop(entry);
    } else if (!this.q) {
      if (!title) {
        this.refresh();        // an older one, beyond the pages loaded
        return;
      }
      this.list.prepend(this.entry({ id, title }).li);
      this.changed();
    }
  }

  /** A conversation got a reply: it is the newest now. */
  touch(id) {
    const entry = this.items.get(id);
    if (entry) this.toTop(entry);
  }

  setCurrent(id) {
    this.current = id || null;
    this.mark();
  }

  titleOf(id) { return this.items.get(id)?.conv.title || ''; }

  /** Forget everything (logout): another user may log in next. */
  clear() {
    this.gen++;
    this.closeDrawer(false);
    this.items.clear();
    this.list.replaceChildren();
    this.search.value = '';
    this.q = '';
    this.next = null;
    this.moreBtn.hidden = true;
    this.emptyNote.hidden = true;
    this.current = null;
  }

  entry(conv) {
    const li = el('li', 'conv');
    li.dataset.id = conv.id;
    const link = el('a', 'conv-link');
    link.href = `#c=${encodeURIComponent(conv.id)}`;
    const menu = el('button', 'conv-menu', '⋯');
    menu.type = 'button';
    menu.setAttribute('aria-expanded', 'false');
    const acts = el('div', 'conv-actions');
    acts.id = `acts-${conv.id}`;
    acts.hidden = true;
    menu.setAttribute('aria-controls', acts.id);
    const act = (name, text) => {
      const b = el('button', 'link', text);
      b.type = 'button';
      b.dataset.act = name;
      return b;
    };
    const download = (format, text) => {
      const a = el('a', 'link', text);
      a.href = store.exportUrl(conv.id, format);
      a.setAttribute('download', '');
      a.dataset.act = `export-${format}`;
      return a;
    };
    acts.append(act('rename', 'Rename'), download('md', 'Export .md'), download('json', 'Export .json'),
      act('delete', 'Delete'));
    li.append(link, menu, acts);
    const entry = { conv: { ...conv }, li, link, menu, acts };
    this.setTitle(entry, conv.title);
    this.items.set(conv.id, entry);
    return entry;
  }

  setTitle(entry, title) {
    entry.conv.title = title;
    entry.link.textContent = title || 'Untitled';
    entry.link.title = title;
    entry.menu.setAttribute('aria-label', `Actions for “${title || 'Untitled'}”`);
  }

  toTop(entry) {
    if (this.list.firstChild === entry.li) return;
    const focused = entry.li.contains(document.activeElement) ? document.activeElement : null;
    this.list.prepend(entry.li);
    if (focused) focused.focus();
  }

  mark() {
    for (const [id, e] of this.items) {
      if (id === this.current) e.link.setAttribute('aria-current', 'page');
      else e.link.removeAttribute('aria-current');
    }
  }

  changed() {
    this.mark();
    const empty = this.items.size === 0;
    this.emptyNote.hidden = !empty;
    this.emptyNote.textContent = this.q ? `No conversation matches “${this.q}”.` : 'No conversations yet.';
  }

  notice(message) { this.dispatchEvent(new CustomEvent('notice', { detail: { message } })); }

  // ---- per-conversation actions ----------------------------------------------------

  onClick(ev) {
    const li = ev.target.closest('li.conv');
    const entry = li && this.items.get(li.dataset.id);
    if (!entry) return;
    if (ev.target.closest('.conv-link')) {
      this.closeActions();
      this.closeDrawer(false);   // the page shows the conversation; main.js moves the focus
    } else if (ev.target.closest('.conv-menu')) {
      const open = entry.acts.hidden;
      this.closeActions();
      if (open) {
        entry.acts.hidden = false;
        entry.menu.setAttribute('aria-expanded', 'true');
      }
    } else {
      const act = ev.target.closest('[data-act]')?.dataset.act;
      if (act === 'rename') this.startRename(entry);
      else if (act === 'delete') this.confirmDelete(entry);
      else if (act && act.startsWith('export')) this.closeActions();
    }
  }

  closeActions(focus = false) {
    for (const e of this.items.values()) {
      if (e.acts.hidden) continue;
      e.acts.hidden = true;
      e.menu.setAttribute('aria-expanded', 'false');
      if (focus) e.menu.focus();
    }
  }

  // An inline text field in place of the title: Enter or leaving it saves, Escape cancels.
  startRename(entry) {
    this.closeActions();
    const input = el('input', 'conv-rename');
    input.type = 'text';
    input.value = entry.conv.title;
    input.setAttribute('aria-label', 'New title');
    entry.link.hidden = true;
    entry.menu.hidden = true;
    entry.li.prepend(input);
    input.focus();
    input.select();
    let done = false;
    const end = (save, refocus) => {
      if (done) return;
      done = true;
      const title = input.value.replace(/\s+/g, ' ').trim();
      input.remove();
      entry.link.hidden = false;
      entry.menu.hidden = false;
      if (refocus) entry.link.focus();
      if (save && title && title !== entry.conv.title) this.rename(entry, title);
    };
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        end(true, true);
      } else if (ev.key === 'Escape') {
        ev.preventDefault();   // not the drawer's Escape
        end(false, true);
      }
    });
    input.addEventListener('blur', () => end(true, false));
  }

  async rename(entry, title) {
    if (new TextEncoder().encode(title).length > MAX_TITLE_BYTES) {
      this.notice(`A title can be at most ${MAX_TITLE_BYTES} bytes long.`);
      return;
    }
    const old = entry.conv.title;
    this.setTitle(entry, title);
    try {
      const res = await store.rename(entry.conv.id, title);
      if (res && typeof res.title === 'string') this.setTitle(entry, res.title);
      this.dispatchEvent(new CustomEvent('renamed', { detail: { id: entry.conv.id, title: entry.conv.title } }));
    } catch (e) {
      this.setTitle(entry, old);
      if (e.status !== 401) this.notice(`Could not rename the conversation: ${e.message}`);
    }
  }

  async confirmDelete(entry) {
    const title = entry.conv.title || 'Untitled';
    this.closeActions();
    this.confirm.querySelector('#confirm-text').textContent =
      `“${title}” and all its messages will be deleted for good.`;
    this.confirm.returnValue = '';
    this.confirm.showModal();
    const answer = await new Promise((resolve) => {
      this.confirm.addEventListener('close', () => resolve(this.confirm.returnValue), { once: true });
    });
    if (answer !== 'delete') {
      entry.menu.focus();
      return;
    }
    const id = entry.conv.id;
    try {
      await store.remove(id);
    } catch (e) {
      if (e.status !== 404) {   // already gone is fine
        if (e.status !== 401) this.notice(`Could not delete the conversation: ${e.message}`);
        return;
      }
    }
    const after = entry.li.nextElementSibling || entry.li.previousElementSibling;
    entry.li.remove();
    this.items.delete(id);
    this.changed();
    (after ? after.querySelector('.conv-link') : this.search).focus();
    this.dispatchEvent(new CustomEvent('deleted', { detail: { id } }));
  }

  // ---- the phone drawer ----------------------------------------------------------

  get isOpen() { return this.nav.classList.contains('open'); }

  openDrawer() {
    if (!this.phone.matches || this.isOpen) return;
    this.nav.classList.add('open');
    this.backdrop.hidden = false;
    this.toggle.setAttribute('aria-expanded', 'true');
    this.rest.inert = true;
    (this.items.get(this.current)?.link || this.nav.querySelector('#new-chat')).focus();
  }

  closeDrawer(restoreFocus = true) {
    if (!this.isOpen) return;
    this.nav.classList.remove('open');
    this.backdrop.hidden = true;
    this.toggle.setAttribute('aria-expanded', 'false');
    this.rest.inert = false;
    if (restoreFocus) this.toggle.focus();
  }
}
