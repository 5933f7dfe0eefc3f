// Conversation state: the message list, the history sent with each sendprompt, and
// the handling of delta / reply / error frames by msgid. No DOM here.
//
// A message: {id, role: 'user'|'assistant'|'error', content, state, msgid?, model?,
//             finish?, partial?, code?}
// state: 'done' | 'streaming' | 'stopped' | 'error'
//
// Events (CustomEvent `detail`): add {msg}, update {msg}, remove {msg}, reset, busy {busy},
//   notice {message} (an error not tied to a message), unauthorized.

const STOP_GRACE_MS = 5000;   // finalize locally if the server never confirms a stop

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
    this.messages = [];
    this.pending = null;        // the assistant message being streamed
    this.ignored = new Set();   // msgids of replies dropped by "New chat"
    this.stopTimer = 0;
    this.seq = 0;
  }

  get busy() { return !!this.pending; }

  /**
   * Send a prompt; with `replace`, it takes the place of the last prompt and its reply
   * (edit and resend). `opts` = {params, system}. Throws Error with a user-facing
   * message when it cannot send.
   */
  send(text, opts, replace = false) {
    const last = this.lastPrompt();
    const keep = replace && last >= 0 ? this.messages.slice(0, last) : this.messages;
    return this.ask([...keep, { role: 'user', content: text, state: 'done' }], opts);
  }

  /** Ask again for the last prompt; its reply (done, stopped or failed) is dropped. */
  regenerate(opts) {
    const last = this.lastPrompt();
    if (last < 0) throw new Error('There is no prompt to answer again.');
    return this.ask(this.messages.slice(0, last + 1), opts);
  }

  lastPrompt() { return this.messages.findLastIndex((m) => m.role === 'user'); }

  // Send `list` as the conversation (system prompt first when set), then make it
  // the message list and stream the reply after it. Nothing changes if sending fails.
  ask(list, { params = {}, system = '' } = {}) {
    if (this.busy) throw new Error('Wait for the current reply to finish, or stop it.');
    if (!this.socket.isOpen) throw new Error('Not connected to the server yet; your message was kept, try again in a moment.');
    const msgid = newMsgId();
    const messages = list
      .filter((m) => m.role === 'user' || (m.role === 'assistant' && m.content))
      .map((m) => ({ role: m.role, content: m.content }));
    if (system) messages.unshift({ role: 'system', content: system });
    if (!this.socket.send({ action: 'sendprompt', payload: { msgid, messages, params, stream: true } })) {
      throw new Error('The connection dropped; try again.');
    }
    for (const m of this.messages) if (!list.includes(m)) this.emit('remove', { msg: m });
    this.messages = this.messages.filter((m) => list.includes(m));
    for (const m of list) if (!m.id) this.add(m);
    this.pending = this.add({ role: 'assistant', content: '', state: 'streaming', msgid });
    this.emit('busy', { busy: true });
    return this.pending;
  }

  stop() {
    const m = this.pending;
    if (!m) return;
    this.socket.send({ action: 'stop', payload: { msgid: m.msgid } });
    clearTimeout(this.stopTimer);
    this.stopTimer = setTimeout(() => {
      if (this.pending === m) this.finish(m, { state: 'stopped', finish: 'stopped' });
    }, STOP_GRACE_MS);
  }

  /** "New chat": forget everything; a reply still in flight is stopped and ignored. */
  reset() {
    if (this.pending) {
      this.socket.send({ action: 'stop', payload: { msgid: this.pending.msgid } });
      this.ignored.add(this.pending.msgid);
      this.pending = null;
      this.emit('busy', { busy: false });
    }
    clearTimeout(this.stopTimer);
    this.messages = [];
    this.emit('reset');
  }

  /** A frame from the server. */
  handle(f) {
    if (!f || typeof f !== 'object') return;
    if (f.type === 'error' && f.error && f.error.code === 'unauthorized') {
      this.emit('unauthorized');
      return;
    }
    if (this.ignored.has(f.msgid)) {
      if (f.type !== 'delta') this.ignored.delete(f.msgid);
      return;
    }
    const m = this.messages.find((x) => x.msgid != null && x.msgid === f.msgid);
    if (!m) {
      if (f.type === 'error') this.emit('notice', { message: errorText(f) });
      return;
    }
    if (f.type === 'delta' && m.state === 'streaming') {
      m.content += typeof f.delta === 'string' ? f.delta : '';
      this.emit('update', { msg: m });
    } else if (f.type === 'reply') {
      const content = f.text && typeof f.text.content === 'string' ? f.text.content : m.content;
      this.finish(m, {
        content,
        state: f.finish_reason === 'stopped' ? 'stopped' : 'done',
        finish: f.finish_reason || null,
        model: f.model || null,
      });
    } else if (f.type === 'error') {
      const partial = (f.error && typeof f.error.partial === 'string' && f.error.partial) || m.content;
      this.finish(m, {
        role: 'error', state: 'error', partial,
        content: errorText(f), code: (f.error && f.error.code) || 'error',
      });
    }
  }

  /** The socket closed: a reply in flight will never finish. */
  connectionLost() {
    const m = this.pending;
    if (!m) return;
    this.finish(m, {
      role: 'error', state: 'error', partial: m.content, code: 'connection_lost',
      content: 'The connection was lost before the reply finished.',
    });
  }

  finish(m, changes) {
    Object.assign(m, changes);
    const wasPending = this.pending === m;
    if (wasPending) {
      this.pending = null;
      clearTimeout(this.stopTimer);
    }
    this.emit('update', { msg: m });
    if (wasPending) this.emit('busy', { busy: false });
  }

  add(m) {
    m.id = ++this.seq;
    this.messages.push(m);
    this.emit('add', { msg: m });
    return m;
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}

function errorText(f) {
  const e = f.error || {};
  return (f.text && f.text.content) || (e.message ? `Error: ${e.message}` : `Error: ${e.code || 'unknown error'}`);
}
