// The open conversation: its messages, the reply being written in it, and the
// WebSocket actions that change it. No DOM here.
//
// The server keeps the history: a prompt carries only the conversation id and the new
// text. A reply outlives the connection, so the page never decides on its own that a
// reply failed: after a reconnect (or whenever a frame shows the page missed
// something) it reads the conversation again from the REST API and then watches it,
// and the snapshot + deltas continue the reply being written.
//
// A message: {id, role: 'user'|'assistant'|'error', content, state, msgid?, model?,
//             finish?, partial?, code?, reasoning?, reasoningMs?, thinking?, attachments?}
// attachments (a prompt's): [{id, kind, mime, name, bytes, width?, height?}]
// state: 'done' | 'streaming' | 'stopped' | 'error' | 'interrupted'
// reasoning: the model's thoughts (`reasoning` frames, kept apart from the answer);
// thinking: true while they stream and no answer text has come; reasoningMs: how long
// it thought (the final frame's or the REST message's reasoning_ms; while streaming,
// measured here from the first reasoning frame to the first answer delta).
//
// The REST API answers with the newest page of a long conversation; loadOlder() reads
// the page before the oldest shown (the view asks when scrolled to the top).
//
// Events (CustomEvent `detail`): add {msg}, update {msg}, remove {msg}, reset {loading},
//   prepend {msgs} (older messages, oldest first, go before the others),
//   older {more, loading, failed} (whether older messages exist, are being read, or
//   could not be read: the view then waits for the next scroll to ask again),
//   busy {busy}, notice {message} (an error not tied to a message), unauthorized,
//   conversation {id, title} (the page shows this conversation now, or learnt its id),
//   missing {id} (the open conversation does not exist), restore {text, attachments}
//   (a prompt the server refused, for the composer).
import * as store from './conversations.js';

const STOP_GRACE_MS = 5000;   // no answer to a stop: read the stored state instead
const STALL_MS = 8000;        // a reply silent this long: ask whether the worker still writes it
const RELOAD_RETRY_MS = 2000;

// Texts for the error codes a stored message may hold (live frames carry their own).
const ERROR_TEXT = {
  upstream_unreachable: 'the model API could not be reached',
  upstream_timeout: 'the model did not answer in time',
  upstream_rate_limited: 'the model is rate limited; try again later',
  upstream_auth: 'the model API refused the API key',
  upstream_error: 'the model API answered with an error',
  upstream_truncated: "the model's reply was cut off before its end",
  upstream_bad_response: 'the model API answered something unexpected',
  reply_too_large: 'the reply grew too large',
};

export function newMsgId() {
  if (globalThis.crypto && crypto.randomUUID) return 'm-' + crypto.randomUUID();
  // randomUUID needs a secure context; getRandomValues does not.
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return 'm-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class Chat extends EventTarget {
  constructor(socket) {
    super();
    this.socket = socket;
    this.id = null;             // the open conversation; null: a new chat
    this.messages = [];
    this.pending = null;        // the assistant message being written
    this.own = new Map();       // msgid → {text, added, removed, reply, started}: this page's requests
    this.loading = false;
    this.gen = 0;               // bumped by every load, so a late answer is dropped
    this.stale = false;         // the connection dropped: read the conversation again
    this.idleReloads = 0;
    this.older = null;          // the cursor of the page before the oldest shown; null: none
    this.olderLoading = false;
    this.seq = 0;
    this.stopTimer = 0;
    this.stallTimer = 0;
    this.lastFrame = 0;
  }

  get busy() { return !!this.pending; }

  // Empty the shown messages (and what this tab has in flight) and tell the view.
  resetMessages(loading) {
    this.own.clear();
    this.setPending(null);
    this.messages = [];
    this.emit('reset', { loading });
    this.setOlder(null);
  }

  setOlder(cursor, loading = false, failed = false) {
    this.older = cursor;
    this.olderLoading = loading;
    this.emit('older', { more: cursor != null, loading, failed });
  }

  /** Read the page of messages before the oldest shown, if there is one. */
  async loadOlder() {
    if (!this.id || this.loading || this.olderLoading || this.older == null) return;
    const gen = this.gen;
    const id = this.id;
    const before = this.older;
    this.setOlder(before, true);
    let conv;
    try {
      conv = await store.get(id, { before });
    } catch (e) {
      if (gen !== this.gen) return;
      this.setOlder(before, false, true);
      if (e.status === 404) this.emit('missing', { id });
      else if (e.status !== 401) this.emit('notice', { message: `Could not read older messages: ${e.message}` });
      return;
    }
    if (gen !== this.gen) return;
    const msgs = [];
    for (const m of conv.messages || []) {
      const msg = fromStored(m);
      if (msg) {
        msg.id = ++this.seq;
        msgs.push(msg);
      }
    }
    this.messages.unshift(...msgs);
    this.emit('prepend', { msgs });
    this.setOlder(conv.has_more ? conv.before : null);
  }

  /** Show conversation `id` (null: a new chat): read it, then watch it. */
  open(id) {
    this.id = id || null;
    this.stale = false;
    this.idleReloads = 0;
    this.resetMessages(!!this.id);
    if (!this.id) {
      this.gen++;
      this.loading = false;
      this.watch();
      return Promise.resolve();
    }
    return this.load();
  }

  /** Forget everything without telling the server (logout, expired session). */
  clear() {
    this.gen++;
    this.loading = false;
    this.id = null;
    this.resetMessages(false);
  }

  // Read the open conversation from the REST API, replace the messages with it, then
  // watch it: the answer (snapshot or idle) brings a reply in flight up to date.
  async load(attempt = 0) {
    const gen = ++this.gen;
    const id = this.id;
    this.loading = true;
    let conv;
    try {
      conv = await store.get(id);
    } catch (e) {
      if (gen !== this.gen) return;
      this.loading = false;
      if (e.status === 404) {
        this.emit('missing', { id });
      } else if (e.status !== 401) {
        if (attempt < 2) setTimeout(() => { if (gen === this.gen) this.load(attempt + 1); }, RELOAD_RETRY_MS);
        else this.emit('notice', { message: `Could not open the conversation: ${e.message}` });
      }
      return;
    }
    if (gen !== this.gen) return;
    this.loading = false;
    this.stale = false;
    this.resetMessages(false);
    for (const m of conv.messages || []) {
      const msg = fromStored(m);
      if (msg) this.add(msg);
    }
    this.setOlder(conv.has_more ? conv.before : null);
    const last = this.messages.at(-1);
    if (last && last.state === 'streaming') this.setPending(last);
    this.emit('conversation', { id, title: conv.title });
    this.watch();
  }

  watch() {
    this.socket.send({ action: 'watch', payload: { conversation_id: this.id } });
  }

  /** The socket (re)opened: watch again; after a drop, read the conversation first. */
  connected() {
    if (this.loading) return;           // the load watches when it ends
    if (this.id && this.stale) {
      this.load();
      return;
    }
    this.stale = false;
    if (!this.id && this.pending) {
      // The start frame of a new chat may be lost with the connection: its id is unknown.
      this.finish(this.pending, {
        role: 'error', state: 'error', partial: this.pending.content, code: 'connection_lost',
        content: 'The connection was lost; the reply goes on and appears in the conversation list.',
      });
    }
    this.watch();
  }

  /** The socket closed: a reply goes on without us; catch up after the reconnect. */
  connectionLost() { this.stale = true; }

  /**
   * Send a prompt; with `edit` (true: the last prompt; or a shown prompt that has its
   * stored id), a new version of that prompt: the server keeps the old one as a
   * sibling. `opts` = {params, system}; `attachments`: the uploaded files' metadata
   * (their ids go out). Throws Error with a user-facing message when it cannot send.
   */
  send(text, { params = {}, system = '' } = {}, edit = false, attachments = []) {
    this.ready();
    const msgid = newMsgId();
    const payload = { msgid, prompt: text, system, params, stream: true };
    if (this.id) payload.conversation_id = this.id;
    const at = edit && edit.sid ? this.messages.indexOf(edit) : -1;
    if (at >= 0 && this.id) payload.edit = { message_id: edit.sid };
    else if (edit && this.id) payload.edit_last = true;
    if (attachments.length) payload.attachments = attachments.map((a) => a.id);
    if (!this.socket.send({ action: 'sendprompt', payload })) throw dropped();
    const removed = payload.edit ? this.truncate(at) : payload.edit_last ? this.truncate(this.lastPrompt()) : [];
    const prompt = this.add({ role: 'user', content: text, state: 'done', attachments });
    this.begin(msgid, { text, attachments, added: [prompt], removed });
  }

  /** Ask again for the last prompt; its reply (done, stopped, failed, interrupted) goes. */
  regenerate({ params = {} } = {}) {
    this.ready();
    const last = this.lastPrompt();
    if (!this.id || last < 0) throw new Error('There is no prompt to answer again.');
    const msgid = newMsgId();
    const payload = { msgid, conversation_id: this.id, params, stream: true };
    if (!this.socket.send({ action: 'regenerate', payload })) throw dropped();
    this.begin(msgid, { text: null, added: [], removed: this.truncate(last + 1) });
  }

  /** Show version `sid` of a message (versions.js): the server makes its path current. */
  switchTo(sid) {
    this.ready();
    if (!this.id) return;
    const payload = { conversation_id: this.id, message_id: sid };
    if (!this.socket.send({ action: 'switch', payload })) throw dropped();
  }

  // The path shown changed (this tab's switch or another's): read it.
  onSwitched(f) {
    if (this.id && f.conversation_id === this.id && !this.pending) this.load();
  }

  ready() {
    if (this.busy) throw new Error('Wait for the current reply to finish, or stop it.');
    if (this.loading) throw new Error('The conversation is still loading; try again in a moment.');
    if (!this.socket.isOpen) throw new Error('Not connected to the server yet; your message was kept, try again in a moment.');
  }

  begin(msgid, own) {
    const reply = this.add({ role: 'assistant', content: '', state: 'streaming', msgid });
    this.own.set(msgid, { ...own, reply, started: false });
    this.setPending(reply);
  }

  lastPrompt() { return this.messages.findLastIndex((m) => m.role === 'user'); }

  /** Stop the reply being written, whichever tab asked for it. */
  stop() {
    const m = this.pending;
    if (!m) return;
    const payload = m.msgid ? { msgid: m.msgid } : { conversation_id: this.id };
    this.socket.send({ action: 'stop', payload });
    clearTimeout(this.stopTimer);
    this.stopTimer = setTimeout(() => {
      if (this.pending !== m) return;
      if (this.id && this.socket.isOpen) this.load();
      else this.finish(m, { state: 'stopped', finish: 'stopped' });
    }, STOP_GRACE_MS);
  }

  /** A frame from the server. */
  handle(f) {
    if (!f || typeof f !== 'object') return;
    if (f.type === 'error' && f.error && f.error.code === 'unauthorized') {
      this.emit('unauthorized');
      return;
    }
    // While the conversation is read, its frames are moot: the watch that ends the
    // load answers with the state they lead to.
    if (this.loading) return;
    this.lastFrame = Date.now();
    const h = { start: this.onStart, delta: this.onDelta, reasoning: this.onReasoning,
      snapshot: this.onSnapshot, idle: this.onIdle, reply: this.onReply, error: this.onError,
      switched: this.onSwitched }[f.type];
    if (h) h.call(this, f);
  }

  onStart(f) {
    const mine = this.own.get(f.msgid);
    if (mine) {
      mine.started = true;
      if (f.prompt_id && mine.added[0]) {
        mine.added[0].sid = f.prompt_id;   // editable now
        this.emit('update', { msg: mine.added[0] });
      }
      mine.branched = Number(f.replaced) > 0;
      if (this.pending && this.pending.msgid === f.msgid && f.model) this.pending.model = f.model;
      if (!this.id && f.conversation_id) {
        this.id = f.conversation_id;
        this.emit('conversation', { id: this.id, title: f.title });
      }
      return;
    }
    if (!this.id || f.conversation_id !== this.id) return;
    // Another tab's prompt (or regenerate, or edit) in this conversation.
    if (this.pending) {
      this.load();            // the reply shown ended out of sight: read the stored state
      return;
    }
    this.truncate(this.messages.length - (Number(f.replaced) || 0));
    if (typeof f.prompt === 'string') {
      this.add({ role: 'user', content: f.prompt, state: 'done', attachments: attachmentsOf(f) });
    }
    this.setPending(this.add({ role: 'assistant', content: '', state: 'streaming', msgid: f.msgid, model: f.model }));
  }

  onDelta(f) {
    const m = this.pending;
    if (!m || !m.msgid || m.msgid !== f.msgid || typeof f.delta !== 'string') return;
    m.content += f.delta;
    if (m.thinking && f.delta) endThinking(m);
    this.idleReloads = 0;
    this.emit('update', { msg: m });
  }

  // The model's reasoning, before (or, rarely, between) the answer's deltas.
  onReasoning(f) {
    const m = this.pending;
    if (!m || !m.msgid || m.msgid !== f.msgid || typeof f.delta !== 'string') return;
    if (m.thinkingSince == null) {
      m.thinkingSince = performance.now();
      if (!m.content) m.thinking = true;
    }
    m.reasoning = (m.reasoning || '') + f.delta;
    this.idleReloads = 0;
    this.emit('update', { msg: m });
  }

  // The text so far of the reply being written; the deltas after it continue it.
  onSnapshot(f) {
    if (!this.id || f.conversation_id !== this.id) return;
    const m = this.pending;
    if (m && (!m.msgid || m.msgid === f.msgid)) {
      m.msgid = f.msgid;
      m.content = typeof f.content === 'string' ? f.content : '';
      if (f.model) m.model = f.model;
      if (typeof f.reasoning === 'string') {
        m.reasoning = f.reasoning;
        m.thinking = f.thinking === true;
        m.reasoningMs = Number.isFinite(f.reasoning_ms) ? f.reasoning_ms : null;
        // How long it thought before this page looked is unknown: counted from now.
        if (m.thinking && m.thinkingSince == null) m.thinkingSince = performance.now();
      }
      this.idleReloads = 0;
      this.emit('update', { msg: m });
    } else {
      this.load();            // a reply began that this page did not see start
    }
  }

  // Nothing is being written: a reply shown as streaming ended out of sight (it
  // finished meanwhile, or the worker restarted and it is now stored as interrupted).
  onIdle(f) {
    if (!this.id || f.conversation_id !== this.id || !this.pending) return;
    const mine = this.own.get(this.pending.msgid);
    if (mine && !mine.started) return;  // the answer to a watch sent before this prompt
    // The stored state is written before the worker goes idle; should it still say
    // "streaming", ask again a little later, and in the end believe the worker.
    const n = this.idleReloads++;
    if (n >= 3) {
      this.finish(this.pending, { state: 'interrupted' });
      return;
    }
    const gen = this.gen;
    setTimeout(() => { if (gen === this.gen) this.load(); }, n * 1000);
  }

  onReply(f) {
    const m = this.pending;
    if (!m || !m.msgid || m.msgid !== f.msgid) return;
    const mine = this.own.get(f.msgid);
    this.own.delete(f.msgid);
    this.idleReloads = 0;
    if (m.thinking) endThinking(m);
    // A new version (regenerate, edit): read the path again for its "‹ n / n ›".
    if (mine && mine.branched) queueMicrotask(() => { if (!this.pending) this.load(); });
    this.finish(m, {
      content: f.text && typeof f.text.content === 'string' ? f.text.content : m.content,
      state: f.finish_reason === 'stopped' ? 'stopped' : 'done',
      finish: f.finish_reason || null,
      model: f.model || m.model || null,
      reasoning: typeof f.reasoning === 'string' ? f.reasoning : m.reasoning,
      reasoningMs: Number.isFinite(f.reasoning_ms) ? f.reasoning_ms : m.reasoningMs,
    });
  }

  onError(f) {
    const e = f.error || {};
    const mine = f.msgid != null ? this.own.get(f.msgid) : null;
    if (mine) this.own.delete(f.msgid);
    if (mine && !mine.started) {
      this.rollback(mine, f);
      return;
    }
    const m = this.pending;
    if (m && m.msgid && m.msgid === f.msgid) {
      const partial = typeof e.partial === 'string' ? e.partial : m.content;
      if (m.thinking) endThinking(m);
      if (e.code === 'worker_unavailable') {
        this.finish(m, { state: 'interrupted', content: partial });
      } else {
        this.finish(m, { role: 'error', state: 'error', partial, content: errorText(f), code: e.code || 'error' });
      }
      return;
    }
    if (f.msgid != null) return;          // another tab's request: its page shows it
    if (e.code === 'not_found' && this.id) this.load();   // deleted elsewhere? the load tells
    else this.emit('notice', { message: errorText(f) });
  }

  // The server refused a prompt before storing it: undo what the page showed, give the
  // text back to the composer and say why.
  rollback(mine, f) {
    if (this.pending === mine.reply) this.setPending(null);
    for (const m of [mine.reply, ...mine.added]) this.drop(m);
    for (const m of mine.removed) {
      this.messages.push(m);
      this.emit('add', { msg: m });
    }
    if (mine.text != null) this.emit('restore', { text: mine.text, attachments: mine.attachments || [] });
    const e = f.error || {};
    if (e.code === 'not_found' && e.field === 'conversation_id') this.emit('missing', { id: this.id });
    else this.emit('notice', { message: errorText(f) });
  }

  finish(m, changes) {
    Object.assign(m, changes);
    if (this.pending === m) this.setPending(null);
    this.emit('update', { msg: m });
  }

  // The one place the reply being written changes: the busy state, the stop timer and
  // the probe for a silent reply follow it.
  setPending(m) {
    const was = !!this.pending;
    this.pending = m;
    clearTimeout(this.stopTimer);
    clearInterval(this.stallTimer);
    if (m) {
      this.lastFrame = Date.now();
      this.stallTimer = setInterval(() => {
        if (Date.now() - this.lastFrame > STALL_MS) {
          this.lastFrame = Date.now();
          this.socket.ping();   // a restarted worker answers with idle
        }
      }, STALL_MS / 2);
    }
    if (was !== !!m) this.emit('busy', { busy: !!m });
  }

  /** Removes the messages from index `from` on; returns them. */
  truncate(from) {
    const gone = this.messages.slice(Math.max(0, from));
    for (const m of gone) this.drop(m);
    return gone;
  }

  drop(m) {
    const i = this.messages.indexOf(m);
    if (i < 0) return;
    this.messages.splice(i, 1);
    this.emit('remove', { msg: m });
  }

  add(m) {
    m.id = ++this.seq;
    this.messages.push(m);
    this.emit('add', { msg: m });
    return m;
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}

// A stored message as the page shows it; null for one it does not show.
function fromStored(m) {
  if (!m || (m.role !== 'user' && m.role !== 'assistant')) return null;
  const content = typeof m.content === 'string' ? m.content : '';
  const ver = { sid: m.id, versions: m.siblings };
  if (m.role === 'user') return { role: 'user', content, state: 'done', attachments: attachmentsOf(m), ...ver };
  const model = m.model || null;
  const msg = Object.assign(fromStoredReply(m, content, model), ver);
  if (typeof m.reasoning === 'string' && m.reasoning) {
    msg.reasoning = m.reasoning;
    msg.reasoningMs = Number.isFinite(m.reasoning_ms) ? m.reasoning_ms : null;
    // A reply still being written that has no answer text yet is still thinking.
    msg.thinking = msg.state === 'streaming' && !content;
  }
  return msg;
}

function fromStoredReply(m, content, model) {
  switch (m.state) {
    case 'streaming': return { role: 'assistant', content, state: 'streaming', msgid: null, model };
    case 'stopped': return { role: 'assistant', content, state: 'stopped', finish: 'stopped', model };
    case 'interrupted': return { role: 'assistant', content, state: 'interrupted', model };
    case 'error': {
      const code = m.error || 'error';
      return { role: 'error', state: 'error', partial: content, code, model,
        content: `Error: ${ERROR_TEXT[code] || code.replace(/_/g, ' ')}` };
    }
    default: return { role: 'assistant', content, state: 'done', model };
  }
}

// The answer began (or the reply ended): the thinking is over; its length as seen here,
// until the final frame says.
function endThinking(m) {
  m.thinking = false;
  if (m.reasoningMs == null && m.thinkingSince != null) m.reasoningMs = Math.round(performance.now() - m.thinkingSince);
}

// A start frame's or stored message's attachments ([] when it has none).
function attachmentsOf(m) {
  return Array.isArray(m.attachments) ? m.attachments.filter((a) => a && typeof a.id === 'string') : [];
}

// A budget_exceeded error in the reader's words and locale: which budget, how much of
// it, and when it resets (error.budget, docs/PROTOCOL.md).
function budgetText(b) {
  const period = b.period === 'day' ? 'daily' : 'monthly';
  const who = b.scope === 'site' ? `The site's ${period} budget` : `Your ${period} budget`;
  const figure = (n) => (b.unit === 'cost'
    ? Number(n).toLocaleString([], { minimumFractionDigits: 2, maximumFractionDigits: 6 })
    : Number(n).toLocaleString());
  const unit = b.unit === 'cost' ? (b.currency ? ` ${b.currency}` : '') : ' tokens';
  const reset = new Date(b.resets_at);
  const when = Number.isNaN(reset.getTime()) ? b.resets_at
    : reset.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
  return `${who} is used up (${figure(b.used)} of ${figure(b.limit)}${unit}). It resets ${when}.`;
}

function dropped() { return new Error('The connection dropped; try again.'); }

function errorText(f) {
  const e = f.error || {};
  if (e.code === 'budget_exceeded' && e.budget && e.budget.resets_at) return budgetText(e.budget);
  return (f.text && f.text.content) || (e.message ? `Error: ${e.message}` : `Error: ${e.code || 'unknown error'}`);
}
