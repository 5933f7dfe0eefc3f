// Renders chat messages into the message list.
// Assistant text is Markdown, rendered with the optional globals marked + DOMPurify
// (+ hljs for code); without marked or DOMPurify it is shown as plain text.
// Model output can never run script or load remote content: raw HTML is shown as
// text, images become links, and DOMPurify keeps only an allow-list of tags.
// A reply's reasoning (its "Thinking" block, a <details> above the answer) is model
// output too and goes through the same renderMarkdown.
import { paintVersions } from './versions.js';

import { mathExtensions, renderMath, listenForCopies } from './math.js';
import { attachmentList } from './attachments.js';

const WHO = { user: 'You', assistant: 'Assistant', error: 'Error' };
const AUTO_LANGS = ['bash', 'c', 'cpp', 'css', 'go', 'java', 'javascript', 'json', 'makefile',
  'python', 'rust', 'shell', 'sql', 'typescript', 'xml', 'yaml'];
const PURIFY = {
  ALLOWED_TAGS: ['a', 'b', 'blockquote', 'br', 'code', 'del', 'em', 'h1', 'h2', 'h3', 'h4', 'h5',
    'h6', 'hr', 'i', 'li', 'ol', 'p', 'pre', 's', 'strong', 'sub', 'sup', 'table', 'tbody', 'td',
    'th', 'thead', 'tr', 'ul'],
  ALLOWED_ATTR: ['href', 'title', 'class', 'align', 'start'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};
const HLJS_PURIFY = { ALLOWED_TAGS: ['span'], ALLOWED_ATTR: ['class'], RETURN_DOM_FRAGMENT: true };

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

let ready = null;   // null: not set up yet; false: libraries missing
function markdownReady() {
  if (ready !== null) return ready;
  const { marked, DOMPurify, hljs } = globalThis;
  ready = !!(marked && marked.parse && DOMPurify && DOMPurify.isSupported) && purifyWorks(DOMPurify);
  if (!ready) return ready;
  marked.use({
    gfm: true, breaks: false, headerIds: false, mangle: false,
    renderer: {
      html: (html) => esc(html),                       // raw HTML is shown, not parsed
      image: (href, title, text) => (/^https?:\/\//i.test(href || '')
        ? `<a href="${esc(href)}">[image: ${text}]</a>` : text),
      checkbox: (checked) => (checked ? '☑ ' : '☐ '),
    },
  });
  marked.use({ extensions: mathExtensions });       // math.js: TeX outside code
  DOMPurify.addHook('uponSanitizeAttribute', (node, data) => {
    if (data.attrName === 'class' && !/^(language-[\w+#.-]+|hljs[\w -]*)$/.test(data.attrValue)) {
      data.keepAttr = false;
    }
  });
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    }
  });
  if (hljs && hljs.configure) hljs.configure({ hideUpgradeWarningAcceptNoSupportOrSecurityUpdates: true });
  return ready;
}

// Debian's node-dompurify 2.4.1+dfsg+~2.4.0-2+deb12u1 (a CVE backport) reads an
// undeclared `shadowNode` in sanitize() and throws a ReferenceError for any markup.
// A global with depth 0 makes that one check a no-op; the per-node depth checks of
// the backport still run. If sanitizing still fails or leaks, use plain text.
function purifyWorks(DOMPurify) {
  const probe = () => {
    const out = DOMPurify.sanitize('<b>ok</b><img src="x"><script>x()</script><a href="javascript:x()">a</a>', PURIFY);
    return out.querySelector('b') && !out.querySelector('img,script,a[href]');
  };
  try { return !!probe(); } catch (e) {
    if (!(e instanceof ReferenceError) || !/shadowNode/.test(e.message)) return false;
  }
  globalThis.shadowNode = { __depth: 0 };
  try { return !!probe(); } catch { return false; }
}

/** Fill `el` with the Markdown `md`; `final` also highlights code blocks. */
export function renderMarkdown(el, md, final) {
  if (!markdownReady()) {
    el.classList.add('plain');
    el.textContent = md;
    return;
  }
  const frag = globalThis.DOMPurify.sanitize(globalThis.marked.parse(md), PURIFY);
  el.replaceChildren(frag);
  renderMath(el);
  for (const pre of el.querySelectorAll('pre')) decorateCode(pre, final);
}

// Wrap a <pre> in a block with a language label and a copy button; highlight it.
function decorateCode(pre, final) {
  const code = pre.querySelector('code') || pre;
  const lang = (code.className.match(/language-([\w+#.-]+)/) || [])[1] || '';
  const hljs = globalThis.hljs;
  if (final && hljs && hljs.highlight) {
    const text = code.textContent;
    let res = null;
    try {
      if (lang && hljs.getLanguage(lang)) res = hljs.highlight(lang, text, true);
      else if (!lang && text.length < 20000) res = hljs.highlightAuto(text, AUTO_LANGS);
    } catch { res = null; }
    if (res && res.value) {
      code.replaceChildren(globalThis.DOMPurify.sanitize(res.value, HLJS_PURIFY));
      code.classList.add('hljs');
    }
  }
  const wrap = document.createElement('div');
  wrap.className = 'code-block';
  const head = document.createElement('div');
  head.className = 'code-head';
  const label = document.createElement('span');
  label.textContent = lang || 'code';
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'copy';
  copy.textContent = 'Copy';
  copy.setAttribute('aria-label', `Copy ${lang || 'code'} code`);
  head.append(label, copy);
  pre.replaceWith(wrap);
  wrap.append(head, pre);
}

/** Copy text to the clipboard (falls back to execCommand outside secure contexts). */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.className = 'sr-only';
    document.body.append(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch { /* ignore */ }
    ta.remove();
    return ok;
  }
}

// Every prompt gets an Edit button and every reply a Regenerate button; the
// stylesheet shows Edit on every stored prompt, Regenerate on the last reply, neither
// while a reply streams
// (so an interrupted or failed last reply always offers Regenerate).
const ACTIONS = { edit: ['✎ Edit', 'Edit this message'], regenerate: ['↻ Regenerate', 'Regenerate the last reply'] };
function actionButton(action) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'act';
  b.dataset.action = action;
  [b.textContent, b.title] = ACTIONS[action];
  b.setAttribute('aria-label', b.title);
  return b;
}

/** "Thought for N s" (N at least 1; minutes past 90 s); "Thought" when not known. */
export function thoughtFor(ms) {
  if (!Number.isFinite(ms) || ms < 0) return 'Thought';
  const s = Math.max(1, Math.round(ms / 1000));
  return s <= 90 ? `Thought for ${s} s` : `Thought for ${Math.floor(s / 60)} min ${s % 60} s`;
}

// The Thinking block of a reply: a <details> before its answer, open while the
// reasoning streams (msg.thinking), folded once the answer begins or the reply ends,
// then left as the reader opens or closes it. Its text is re-rendered only when it grew.
function paintThinking(body, answer, msg) {
  let block = body.querySelector(':scope > details.thinking');
  if (!msg.reasoning) {
    if (block) block.remove();
    return;
  }
  if (!block) {
    block = document.createElement('details');
    block.className = 'thinking';
    const summary = document.createElement('summary');
    const text = document.createElement('div');
    text.className = 'thinking-body';
    block.append(summary, text);
    block.open = !!msg.thinking;
    body.insertBefore(block, answer);
  } else if (block.dataset.state === 'thinking' && !msg.thinking) {
    block.open = false;               // the answer began: fold it
  } else if (block.dataset.state !== 'thinking' && msg.thinking) {
    block.open = true;                // a snapshot: it is thinking still
  }
  block.dataset.state = msg.thinking ? 'thinking' : 'done';
  const [summary, text] = block.children;
  summary.textContent = msg.thinking ? 'Thinking…' : thoughtFor(msg.reasoningMs);
  const final = !msg.thinking && msg.state !== 'streaming';
  if (block.shownText !== msg.reasoning || block.shownFinal !== final) {
    renderMarkdown(text, msg.reasoning, final);
    block.shownText = msg.reasoning;
    block.shownFinal = final;
  }
}

const OLDER_PX = 300;   // this close to the top, the older messages are read

/**
 * The message list: one <article class="msg" data-role data-state data-msgid> per
 * message, after a line saying whether older messages exist (p.older, data-state
 * more | loading). Scrolled near the top with older messages to read, it calls onTop.
 */
export class MessageView {
  constructor(list, empty) {
    this.list = list;
    this.empty = empty;
    this.els = new Map();      // message id → element
    this.frames = new Map();   // message id → requestAnimationFrame handle
    this.emptyText = empty.textContent;
    this.stick = true;         // follow new output unless the user scrolled up
    this.onTop = null;         // () => void: read the older messages
    this.olderEl = document.createElement('p');
    this.olderEl.className = 'older muted';
    this.olderEl.hidden = true;
    list.prepend(this.olderEl);
    list.addEventListener('scroll', () => {
      this.stick = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
      this.nearTop();
    }, { passive: true });
    list.addEventListener('click', (ev) => this.onClick(ev));
    listenForCopies(list, copyText);
    // A smaller window (phone keyboard, rotation) keeps the latest output in view.
    new ResizeObserver(() => { if (this.stick) this.scrollToBottom(); }).observe(list);
  }

  // Asks for the older messages when the top is near, or the list does not fill
  // its space (then it cannot scroll).
  nearTop() {
    if (this.olderEl.dataset.state === 'more' && this.onTop && this.list.scrollTop < OLDER_PX) this.onTop();
  }

  /**
   * Whether older messages exist ({more}), are being read ({loading}) or could not be
   * read ({failed}: asked again at the next scroll, not at once).
   */
  setOlder({ more, loading, failed = false }) {
    this.olderEl.hidden = !more;
    this.olderEl.dataset.state = more ? (loading ? 'loading' : 'more') : 'none';
    this.olderEl.textContent = loading ? 'Loading older messages…'
      : failed ? 'Older messages could not be read; scroll to try again' : 'Scroll up for older messages';
    // After the page is painted: the list may not fill the window.
    if (more && !loading && !failed) requestAnimationFrame(() => this.nearTop());
  }

  /** Older messages (oldest first) go before the others; what is in view stays. */
  prepend(msgs) {
    const from = this.list.scrollHeight - this.list.scrollTop;
    const first = this.empty.nextSibling;
    for (const msg of msgs) {
      this.list.insertBefore(this.make(msg), first);
      this.paint(msg, false);
    }
    if (msgs.length) this.empty.hidden = true;
    if (this.stick) this.scrollToBottom();
    else this.list.scrollTop = this.list.scrollHeight - from;
  }

  add(msg) {
    this.list.append(this.make(msg));
    if (msg.role === 'user') this.stick = true;   // sending jumps to the bottom
    this.paint(msg);
  }

  // A message's element, not yet in the list nor painted.
  make(msg) {
    const el = document.createElement('article');
    el.className = 'msg';
    const who = document.createElement('h2');
    who.className = 'who sr-only';
    const body = document.createElement('div');
    body.className = 'msg-body';
    const foot = document.createElement('div');
    foot.className = 'msg-foot';
    foot.append(document.createElement('span'), actionButton(msg.role === 'user' ? 'edit' : 'regenerate'));
    el.append(who, body, foot);
    this.els.set(msg.id, el);
    this.empty.hidden = true;
    return el;
  }

  /** Re-render a message; while streaming, at most once per animation frame. */
  update(msg) {
    if (msg.state === 'streaming') {
      if (!this.frames.has(msg.id)) {
        this.frames.set(msg.id, requestAnimationFrame(() => {
          this.frames.delete(msg.id);
          this.paint(msg);
        }));
      }
      return;
    }
    cancelAnimationFrame(this.frames.get(msg.id));
    this.frames.delete(msg.id);
    this.paint(msg);
  }

  paint(msg, follow = true) {
    const el = this.els.get(msg.id);
    if (!el) return;
    const [who, body, foot] = el.children;
    el.dataset.role = msg.role;
    el.dataset.state = msg.state;
    if (msg.msgid) el.dataset.msgid = msg.msgid;
    if (msg.code) el.dataset.code = msg.code; else delete el.dataset.code;
    if (msg.thinking) el.dataset.thinking = ''; else delete el.dataset.thinking;
    paintVersions(el, foot, msg);
    who.textContent = WHO[msg.role] || msg.role;
    if (msg.role === 'user') {
      body.classList.add('plain');
      body.textContent = msg.content;
      const atts = attachmentList(msg.attachments);   // above the text, as sent
      if (atts) body.prepend(atts);
    } else {
      // A reply's body: its Thinking block (when it has reasoning), then div.answer.
      let answer = body.querySelector(':scope > .answer');
      if (!answer) {
        answer = document.createElement('div');
        answer.className = 'answer';
        body.replaceChildren(answer);
      }
      if (msg.role === 'error') {
        answer.replaceChildren();
        if (msg.partial) {
          const part = document.createElement('div');
          part.className = 'partial';
          renderMarkdown(part, msg.partial, true);
          answer.append(part);
        }
        const p = document.createElement('p');
        p.className = 'error-text';
        p.textContent = msg.content;
        answer.append(p);
      } else {
        renderMarkdown(answer, msg.content, msg.state !== 'streaming');
      }
      paintThinking(body, answer, msg);
    }
    const notes = [];
    if (msg.state === 'stopped') notes.push('Stopped');
    if (msg.state === 'interrupted') notes.push('Interrupted: the server restarted while writing this reply');
    if (msg.finish === 'length') notes.push('Cut off: the token limit was reached');
    if (msg.model) notes.push(msg.model);
    foot.firstChild.textContent = notes.join(' · ');
    if (follow && this.stick) this.scrollToBottom();
  }

  remove(msg) {
    cancelAnimationFrame(this.frames.get(msg.id));
    this.frames.delete(msg.id);
    const el = this.els.get(msg.id);
    if (el) el.remove();
    this.els.delete(msg.id);
    this.empty.hidden = this.els.size > 0;
  }

  /** Empty the list; `loading` says so instead of inviting a first prompt. */
  clear(loading = false) {
    for (const h of this.frames.values()) cancelAnimationFrame(h);
    this.frames.clear();
    this.els.clear();
    this.list.replaceChildren(this.olderEl, this.empty);
    this.empty.textContent = loading ? 'Loading the conversation…' : this.emptyText;
    this.empty.hidden = false;
    this.stick = true;
  }

  setBusy(busy) { this.list.setAttribute('aria-busy', busy ? 'true' : 'false'); }

  scrollToBottom() { this.list.scrollTop = this.list.scrollHeight; }

  // Message actions are left to main.js (they change the conversation).
  async onClick(ev) {
    const btn = ev.target.closest('button.copy');
    if (!btn) return;
    const pre = btn.closest('.code-block').querySelector('pre');
    const ok = await copyText(pre.textContent);
    btn.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => { btn.textContent = 'Copy'; }, 1500);
  }
}
