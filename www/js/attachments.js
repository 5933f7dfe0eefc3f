// Attachments: the files of the prompt being written (the tray in the composer: picker,
// paste, drag-and-drop; images downscaled here before they are uploaded, over HTTP, with
// progress) and how a sent prompt's attachments are shown (thumbnails that open full
// size in a lightbox, text files as chips). No WebSocket here: the ids go out with the
// prompt (Chat.send), and what the server says a stored message holds comes back in
// its `attachments`.
//
// The server decides what a file is by its content (POST api/attachments answers with
// its kind, mime, size and, for an image, width and height), and checks every limit
// again; the page checks what it can before uploading, so that a file too large is
// refused at once with the limit named.
//
// Images are decoded here (createImageBitmap) and, when their long side is over
// `image_max_side` or they are too large, drawn into a canvas at the long side
// image_max_side and re-encoded (WEBP stays WEBP, anything else becomes JPEG on white);
// an image already small enough, of a type upstreams take (PNG, JPEG, WEBP, GIF), is
// uploaded as it is.
//
// Events (CustomEvent `detail`): change {count} (the tray changed), unauthorized
// (an upload answered 401).

export const DEFAULT_LIMITS = {
  image_max_side: 2048,
  attachment_max_bytes: 10 * 1024 * 1024,
  attachment_text_max: 256 * 1024,
  prompt_attachments_max: 8,
  prompt_attachments_bytes: 20 * 1024 * 1024,
};
// GET /api/me's `attachments` names for the limits above.
const ME_NAMES = { max_bytes: 'attachment_max_bytes', text_max: 'attachment_text_max',
  per_prompt: 'prompt_attachments_max', prompt_bytes: 'prompt_attachments_bytes', image_max_side: 'image_max_side' };
const KEEP_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
const QUALITIES = [0.88, 0.75, 0.6, 0.45];   // tried in turn until the image fits
const THUMB_PX = 160;                        // the tray's thumbnails (2× their CSS size)

/** "120 KB", "3.4 MB", "512 B". */
export function sizeText(n) {
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  const mb = n / (1024 * 1024);
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`;
}

/**
 * The limits line the page states, e.g. "… up to 8 files, 10 MB each, 20 MB in all …";
 * `pdf`: whether the server reads PDFs (false: not named).
 */
export function limitsText(l, pdf = true) {
  return `Images, text files${pdf ? ' and PDFs' : ''}: up to ${l.prompt_attachments_max} files, ` +
    `${sizeText(l.attachment_max_bytes)} each, ${sizeText(l.prompt_attachments_bytes)} in all; ` +
    `text up to ${sizeText(l.attachment_text_max)} a file; larger images are scaled down to ` +
    `${l.image_max_side} px.`;
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

// A sheet of paper (a text file) or a framed picture (an image not shown yet), as an SVG
// element: the page's icons are drawn, not emoji (a system may lack an emoji font).
const ICONS = {
  text: 'M6 2.5h8l4 4v15H6z M14 2.5v4h4 M9 12h6 M9 15.5h6 M9 19h4',
  image: 'M3.5 5h17v14h-17z M3.5 16l5-5 4 4 3-3 5 5 M15.5 9.5h.01',
};
function icon(kind) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'file-ico');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[kind] || ICONS.text);
  svg.append(path);
  return svg;
}

const isImageType = (t) => /^image\//.test(t || '') && t !== 'image/svg+xml';
const url = (id) => `api/attachments/${encodeURIComponent(id)}`;

// canvas.toBlob as a promise (null when the browser cannot encode).
const toBlob = (canvas, type, q) => new Promise((resolve) => canvas.toBlob(resolve, type, q));

function drawn(bmp, w, h, background) {
  const canvas = el('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (background) {
    ctx.fillStyle = background;
    ctx.fillRect(0, 0, w, h);
  }
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bmp, 0, 0, w, h);
  return canvas;
}

function fit(width, height, max) {
  const s = Math.min(1, max / Math.max(width, height));
  return [Math.max(1, Math.round(width * s)), Math.max(1, Math.round(height * s))];
}

/**
 * An image file as it should be uploaded → {blob, name, width, height, thumb, scaled}:
 * the file itself when it is small enough, else a re-encoded, downscaled copy.
 * `thumb` is a small data: URL for the tray (the page's CSP allows data: images).
 * Resolves to {blob: file} alone when the browser cannot decode it (the server decides).
 */
export async function prepareImage(file, { maxSide, maxBytes }) {
  let bmp;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    return { blob: file, name: file.name };
  }
  try {
    const { width, height } = bmp;
    const [tw, th] = fit(width, height, THUMB_PX);
    const thumb = drawn(bmp, tw, th, null).toDataURL('image/png');
    if (Math.max(width, height) <= maxSide && file.size <= maxBytes && KEEP_TYPES.includes(file.type)) {
      return { blob: file, name: file.name, width, height, thumb, scaled: false };
    }
    const [w, h] = fit(width, height, maxSide);
    const type = file.type === 'image/webp' ? 'image/webp' : 'image/jpeg';
    const canvas = drawn(bmp, w, h, type === 'image/jpeg' ? '#fff' : null);
    let blob = null;
    for (const q of QUALITIES) {
      blob = await toBlob(canvas, type, q);
      if (!blob || blob.size <= maxBytes) break;
    }
    if (!blob) return { blob: file, name: file.name, width, height, thumb, scaled: false };
    const stem = (file.name || 'image').replace(/\.[^.]*$/, '') || 'image';
    return { blob, name: `${stem}.${type === 'image/webp' ? 'webp' : 'jpg'}`, width: w, height: h, thumb, scaled: true };
  } finally {
    bmp.close();
  }
}

// The server's error shapes → a message.
function messageOf(status, data) {
  const m = data && ((data.error && (data.error.message || data.error.code)) || data.msg ||
    (data.body && data.body.message));
  if (m) return m;
  if (status === 413) return 'the file is too large';
  if (status === 415) return 'this kind of file cannot be attached';
  return status ? `the server answered ${status}` : 'cannot reach the server';
}

// POST the bytes; progress(fraction) as they go. → the server's answer; rejects with
// Error(message) carrying `status`. `xhrOut(xhr)` receives the request (to abort it).
function upload(blob, name, progress, xhrOut) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhrOut(xhr);
    xhr.open('POST', `api/attachments?name=${encodeURIComponent(name || 'file')}`);
    xhr.setRequestHeader('Content-Type', blob.type || 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && e.total) progress(e.loaded / e.total); };
    const fail = (status, data) => {
      const e = new Error(messageOf(status, data));
      e.status = status;
      reject(e);
    };
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300 && data && typeof data.id === 'string') resolve(data);
      else fail(xhr.status, data);
    };
    xhr.onerror = () => fail(0, null);
    xhr.onabort = () => fail(-1, { msg: 'cancelled' });
    xhr.send(blob);
  });
}

/** The metadata a message keeps of an attachment (what the server's answer says). */
const meta = (a) => ({ id: a.id, kind: a.kind, mime: a.mime, name: a.name, bytes: a.bytes,
  width: a.width, height: a.height });

let seq = 0;

/**
 * The composer's attachments. `form` is the composer (the drop target), `prompt` its
 * text box (the paste target), `tray` the list shown above it, `picker` the button
 * that opens `input` (a hidden <input type=file multiple>), `note` a line for warnings.
 */
export class Attachments extends EventTarget {
  constructor({ form, prompt, tray, picker, input, note }) {
    super();
    Object.assign(this, { form, prompt, tray, picker, input, note });
    this.items = [];            // {key, name, kind, state, bytes, progress, thumb, error, att, xhr}
    this.limits = { ...DEFAULT_LIMITS };
    this.images = null;         // false: the chosen model reads no images (its name in modelName)
    this.modelName = '';
    this.pdf = true;            // whether the server reads PDFs (GET /api/me says)
    picker.addEventListener('click', () => input.click());
    input.addEventListener('change', () => {
      this.add([...input.files]);
      input.value = '';
    });
    prompt.addEventListener('paste', (ev) => {
      const files = [...(ev.clipboardData ? ev.clipboardData.files : [])];
      if (!files.length) return;
      // A copied image may come with its text or HTML too: only the file is wanted.
      if (!ev.clipboardData.getData('text/plain')) ev.preventDefault();
      this.add(files);
    });
    const hasFiles = (ev) => ev.dataTransfer && [...ev.dataTransfer.types].includes('Files');
    form.addEventListener('dragover', (ev) => {
      if (!hasFiles(ev)) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = 'copy';
      form.classList.add('dropping');
    });
    form.addEventListener('dragleave', (ev) => {
      if (!form.contains(ev.relatedTarget)) form.classList.remove('dropping');
    });
    form.addEventListener('drop', (ev) => {
      form.classList.remove('dropping');
      if (!hasFiles(ev)) return;
      ev.preventDefault();
      ev.stopPropagation();
      this.add([...ev.dataTransfer.files]);
    });
    // A file dropped anywhere else would make the browser open it in place of the
    // page (and lose what was typed): refused there, with the "not allowed" cursor.
    addEventListener('dragover', (ev) => {
      if (!hasFiles(ev) || form.contains(ev.target)) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = 'none';
    });
    addEventListener('drop', (ev) => { if (hasFiles(ev)) ev.preventDefault(); });
    tray.addEventListener('click', (ev) => {
      const b = ev.target.closest('button.att-remove');
      if (b) this.remove(b.closest('li').dataset.key);
    });
    this.setLimits(DEFAULT_LIMITS);
  }

  /**
   * Takes the limits the server states: GET /api/me's `attachments` ({max_bytes,
   * text_max, per_prompt, prompt_bytes, image_max_side, pdf}) or DEFAULT_LIMITS' names;
   * what it does not say keeps its value.
   */
  setLimits(from) {
    if (!from || typeof from !== 'object') return;
    for (const [k, v] of Object.entries(from)) {
      const name = ME_NAMES[k] || k;
      if (name in DEFAULT_LIMITS && Number.isInteger(v) && v > 0) this.limits[name] = v;
    }
    if (typeof from.pdf === 'boolean') this.pdf = from.pdf;
    this.picker.title = `Attach files. ${limitsText(this.limits, this.pdf)}`;
    const short = document.getElementById('attach-limits');   // in the composer's hint
    if (short) {
      short.textContent = ` (up to ${this.limits.prompt_attachments_max}, ` +
        `${sizeText(this.limits.attachment_max_bytes)} each)`;
    }
    this.paint();
  }

  /** The chosen model and its /api/models details (images: false → no images). */
  setModel(name, details) {
    this.modelName = name || '';
    this.images = details && details.images === false ? false : null;
    this.paint();
  }

  count() { return this.items.length; }

  /** Adds files: each is checked, prepared and uploaded; a refusal shows in its chip. */
  add(files) {
    for (const file of files) {
      const item = { key: String(++seq), name: file.name || 'file', kind: isImageType(file.type) ? 'image' : 'text',
        state: 'preparing', bytes: file.size, progress: 0, thumb: null, error: '', att: null, xhr: null };
      const live = this.items.filter((i) => i.state !== 'error').length;
      this.items.push(item);
      if (live >= this.limits.prompt_attachments_max) {
        this.fail(item, `at most ${this.limits.prompt_attachments_max} files per message`);
        continue;
      }
      this.prepare(item, file);
    }
    this.paint();
    this.emit('change', { count: this.items.length });
  }

  async prepare(item, file) {
    let blob = file;
    let name = item.name;
    if (item.kind === 'image') {
      let p;
      try {
        p = await prepareImage(file, { maxSide: this.limits.image_max_side, maxBytes: this.limits.attachment_max_bytes });
      } catch (e) {
        this.fail(item, `the image could not be scaled (${e.message || e})`);
        return;
      }
      ({ blob, name } = p);
      item.thumb = p.thumb || null;
      item.name = name;
      item.bytes = blob.size;
    }
    if (!this.items.includes(item)) return;     // removed meanwhile
    const max = this.limits.attachment_max_bytes;
    if (blob.size > max) {
      this.fail(item, `${sizeText(blob.size)}: at most ${sizeText(max)} a file`);
      return;
    }
    const total = this.items.reduce((n, i) => n + (i.state === 'error' || i === item ? 0 : i.bytes), 0);
    if (total + blob.size > this.limits.prompt_attachments_bytes) {
      this.fail(item, `at most ${sizeText(this.limits.prompt_attachments_bytes)} of files per message`);
      return;
    }
    item.state = 'uploading';
    this.paint();
    try {
      const att = await upload(blob, name, (f) => { item.progress = f; this.paintItem(item); }, (x) => { item.xhr = x; });
      item.xhr = null;
      if (!this.items.includes(item)) {       // removed while it went up
        this.forget(att.id);
        return;
      }
      item.att = meta(att);
      item.kind = att.kind === 'image' ? 'image' : 'text';
      item.bytes = Number.isFinite(att.bytes) ? att.bytes : item.bytes;
      item.name = att.name || item.name;
      item.state = 'done';
    } catch (e) {
      item.xhr = null;
      if (e.status === 401) this.emit('unauthorized');
      if (e.status === -1) return;            // removed: aborted
      this.fail(item, e.message);
      return;
    }
    this.paint();
  }

  fail(item, message) {
    item.state = 'error';
    item.error = message;
    this.paint();
  }

  /** Removes a file from the tray; one already uploaded is deleted on the server too. */
  remove(key) {
    const item = this.items.find((i) => i.key === key);
    if (!item) return;
    this.items.splice(this.items.indexOf(item), 1);
    if (item.xhr) item.xhr.abort();
    if (item.att && !item.borrowed) this.forget(item.att.id);
    this.paint();
    this.emit('change', { count: this.items.length });
    this.prompt.focus();
  }

  forget(id) {
    fetch(url(id), { method: 'DELETE', credentials: 'same-origin' }).catch(() => { /* removed a day later */ });
  }

  /**
   * Why the tray cannot go out with a prompt now ('' when it can): a file still
   * uploading, one refused, or an image for a model that reads none.
   */
  refusal() {
    if (this.items.some((i) => i.state === 'preparing' || i.state === 'uploading')) {
      return 'Wait until the files are uploaded.';
    }
    if (this.items.some((i) => i.state === 'error')) {
      return 'A file could not be attached: remove it (✕) to send the rest.';
    }
    if (this.images === false && this.items.some((i) => i.kind === 'image')) return this.noImages();
    return '';
  }

  noImages() {
    return `${this.modelName || 'This model'} does not read images: choose a model that does in Settings, or remove the image.`;
  }

  /** The attachments going out with the prompt: their metadata ([] when none). */
  list() { return this.items.filter((i) => i.state === 'done').map((i) => i.att); }

  /** The prompt went out with them: empty the tray (the server keeps them). */
  sent() {
    this.items = [];
    this.paint();
    this.emit('change', { count: 0 });
  }

  /**
   * Puts uploaded attachments back in the tray, unless it holds others: a prompt the
   * server refused, or (`borrowed`) the prompt being edited, whose files go again with
   * the new version; borrowed ones are never deleted here (their message holds them)
   * and dropBorrowed() takes them out when the edit is cancelled.
   */
  restore(atts, borrowed = false) {
    if (!Array.isArray(atts) || !atts.length || this.items.length) return;
    this.items = atts.map((a) => ({ key: String(++seq), name: a.name, kind: a.kind, state: 'done',
      bytes: a.bytes, progress: 1, thumb: a.kind === 'image' ? url(a.id) : null, error: '', att: a, xhr: null,
      borrowed }));
    this.paint();
    this.emit('change', { count: this.items.length });
  }

  /** Takes the edited prompt's files (restore's `borrowed`) out of the tray. */
  dropBorrowed() {
    if (!this.items.some((i) => i.borrowed)) return;
    this.items = this.items.filter((i) => !i.borrowed);
    this.paint();
    this.emit('change', { count: this.items.length });
  }

  /** Forget the tray without deleting anything (logout). */
  clear() {
    for (const i of this.items) if (i.xhr) i.xhr.abort();
    this.sent();
  }

  paint() {
    const els = new Map([...this.tray.querySelectorAll(':scope > li')].map((li) => [li.dataset.key, li]));
    const want = this.items.map((i) => {
      const li = els.get(i.key) || this.makeItem(i);
      this.paintItem(i, li);
      return li;
    });
    this.tray.replaceChildren(...want);
    this.tray.hidden = want.length === 0;
    const warn = this.images === false && this.items.some((i) => i.kind === 'image') ? this.noImages() : '';
    this.note.textContent = warn || (want.length ? limitsText(this.limits, this.pdf) : '');
    this.note.dataset.warn = warn ? 'true' : 'false';
    this.note.hidden = !want.length;
  }

  makeItem(i) {
    const li = el('li', 'att');
    li.dataset.key = i.key;
    const pic = el('span', 'att-pic');
    pic.setAttribute('aria-hidden', 'true');
    const text = el('span', 'att-text');
    const name = el('span', 'att-name');
    const info = el('span', 'att-info');
    const bar = el('progress', 'att-progress');
    bar.max = 1;
    text.append(name, info, bar);
    const rm = el('button', 'att-remove', '✕');
    rm.type = 'button';
    li.append(pic, text, rm);
    return li;
  }

  paintItem(i, li = this.tray.querySelector(`:scope > li[data-key="${i.key}"]`)) {
    if (!li) return;
    const [pic, text, rm] = li.children;
    const [name, info, bar] = text.children;
    li.dataset.kind = i.kind;
    li.dataset.state = i.state;
    if (i.thumb && !pic.querySelector('img')) {
      const img = el('img');
      img.alt = '';
      img.src = i.thumb;
      pic.replaceChildren(img);
    } else if (!i.thumb && !pic.firstChild) {
      pic.replaceChildren(icon(i.kind));
    }
    name.textContent = i.name;
    name.title = i.name;
    info.textContent = i.state === 'error' ? i.error
      : i.state === 'preparing' ? (i.kind === 'image' ? 'Scaling…' : 'Reading…')
        : i.state === 'uploading' ? `Uploading ${Math.round(i.progress * 100)} %` : sizeText(i.bytes);
    bar.hidden = i.state !== 'uploading';
    bar.value = i.progress;
    rm.setAttribute('aria-label', `Remove ${i.name}`);
    rm.title = `Remove ${i.name}`;
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}

// ---- a sent prompt's attachments --------------------------------------------------

let lightbox = null;

// The full-size view of an image: a modal <dialog>; a click or Escape closes it.
function openLightbox(href, label) {
  if (!lightbox) {
    lightbox = el('dialog', 'lightbox');
    lightbox.setAttribute('aria-label', 'Image');
    const img = el('img');
    const close = el('button', 'btn icon lightbox-close', '✕');
    close.type = 'button';
    close.setAttribute('aria-label', 'Close the image');
    lightbox.append(close, img);
    lightbox.addEventListener('click', () => lightbox.close());
    lightbox.addEventListener('close', () => { img.removeAttribute('src'); });
    document.body.append(lightbox);
  }
  const img = lightbox.querySelector('img');
  img.src = href;
  img.alt = label;
  lightbox.showModal();
}

// A plain click on a thumbnail opens the lightbox; a middle or modified click the
// link's own way (a new tab).
document.addEventListener('click', (ev) => {
  const a = ev.target.closest && ev.target.closest('a.att-img');
  if (!a || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  openLightbox(a.getAttribute('href'), a.dataset.name || '');
});

/**
 * A message's attachments as an element (div.attachments): images as thumbnails
 * linking to their full size, text files as chips with their name. null when none.
 */
export function attachmentList(atts) {
  if (!Array.isArray(atts) || !atts.length) return null;
  const box = el('div', 'attachments');
  for (const a of atts) {
    if (!a || typeof a.id !== 'string') continue;
    const name = typeof a.name === 'string' && a.name ? a.name : a.kind === 'image' ? 'image' : 'file';
    const link = el('a', a.kind === 'image' ? 'att-img' : 'att-chip');
    link.href = url(a.id);
    link.target = '_blank';
    link.rel = 'noopener';
    link.dataset.name = name;
    link.dataset.id = a.id;
    const what = `${name}${Number.isFinite(a.bytes) ? `, ${sizeText(a.bytes)}` : ''}`;
    link.title = what;
    if (a.kind === 'image') {
      const img = el('img');
      img.src = url(a.id);
      img.alt = name;
      img.loading = 'lazy';
      img.decoding = 'async';
      if (a.width > 0 && a.height > 0) {
        img.width = a.width;
        img.height = a.height;
      }
      link.setAttribute('aria-label', `Image ${what}: open full size`);
      link.append(img);
    } else {
      link.append(icon('text'), el('span', 'att-chip-name', name));
      if (Number.isFinite(a.bytes)) link.append(el('span', 'att-chip-size', sizeText(a.bytes)));
      link.setAttribute('aria-label', `File ${what}: open`);
    }
    box.append(link);
  }
  return box.children.length ? box : null;
}
