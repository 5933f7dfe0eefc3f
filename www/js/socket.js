// WebSocket to ws next to the page (/ws, or /chat/ws under a URL prefix), with reconnect (exponential backoff capped at 10 s)
// and a heartbeat ping every 25 s. The ping carries `pingPayload()` (what the page
// watches), so that a worker that restarted meanwhile learns it again.
//
// Events (CustomEvent, data in `detail`):
//   status  {state: 'connecting'|'open'|'reconnecting'|'closed', retryIn?: ms}
//   open    the connection is open (the first time and after every reconnect)
//   message parsed JSON object from the server
//   lost    {opened: bool}  the connection closed (opened: false = refused before open)

const HEARTBEAT_MS = 25000;
const SILENT_MS = 65000;   // no frame for this long (pongs included): assume dead
const BASE_MS = 500;
const MAX_MS = 10000;

export class ChatSocket extends EventTarget {
  constructor(path = 'ws') {
    super();
    // Relative to the page, so that it works under any prefix; wss: behind HTTPS.
    const url = new URL(path, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.hash = '';
    this.url = url.href;
    this.ws = null;
    this.state = 'closed';
    this.attempt = 0;
    this.running = false;
    this.retryTimer = 0;
    this.beatTimer = 0;
    this.lastSeen = 0;
    this.pingPayload = () => undefined;
    addEventListener('online', () => { if (this.running && this.state === 'reconnecting') this.connectNow(); });
  }

  get isOpen() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  start() {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.connectNow();
  }

  /** Close for good (logout): no reconnect. */
  stop() {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearInterval(this.beatTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = ws.onmessage = ws.onerror = null;
      ws.close(1000);
    }
    this.setState('closed');
  }

  /** Send an object as JSON; returns false when the socket is not open. */
  send(obj) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  connectNow() {
    clearTimeout(this.retryTimer);
    if (!this.running) return;
    this.setState('connecting');
    let opened = false;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.lastSeen = Date.now();
      this.setState('open');
      clearInterval(this.beatTimer);
      this.beatTimer = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
      this.emit('open');
    };
    ws.onmessage = (ev) => {
      this.lastSeen = Date.now();
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg && msg.type === 'pong') return;
      this.emit('message', msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.beatTimer);
      this.emit('lost', { opened });
      this.scheduleRetry();
    };
  }

  heartbeat() {
    if (!this.isOpen) return;
    if (Date.now() - this.lastSeen > SILENT_MS) { this.ws.close(); return; }
    this.ping();
  }

  /** A ping now; its answer includes a snapshot or idle when the watch was news to the worker. */
  ping() {
    const payload = this.pingPayload();
    return this.send(payload ? { action: 'ping', payload } : { action: 'ping' });
  }

  scheduleRetry() {
    if (!this.running) return;
    // Exponential backoff with a little jitter, never above MAX_MS.
    const delay = Math.min(MAX_MS, BASE_MS * 2 ** this.attempt * (0.85 + Math.random() * 0.3));
    this.attempt = Math.min(this.attempt + 1, 10);
    this.setState('reconnecting', Math.round(delay));
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
  }

  setState(state, retryIn) {
    this.state = state;
    this.emit('status', { state, retryIn });
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}
