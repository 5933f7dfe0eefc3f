// Math in replies: finds TeX in the Markdown ($…$, $$…$$, \(…\), \[…\]) and renders it
// with KaTeX (Debian's libjs-katex at vendor/katex/, loaded on the first formula),
// sanitized by a DOMPurify of its own; each display formula gets a Copy button and an
// inline one copies its TeX on click (or Enter).
//
// How it stays safe and out of code: the delimiters are marked tokenizers, so marked's
// own code spans and fenced blocks (tokenized first, as wholes) never reach them; a
// formula leaves marked as <code class="language-math-inline|display">TeX</code> (TeX
// escaped, through the page's DOMPurify like any reply), and renderMath replaces those
// after sanitizing, so a reply can never produce them in a code block (a fenced block's
// <code> is inside a <pre>, which renderMath skips). KaTeX runs with trust false (no
// \href, \url, \html…), its DOM is sanitized in place with an allow-list of KaTeX's HTML,
// MathML and SVG tags and attributes (no event handlers, no links); its inline styles
// (heights and offsets) pass a strict pattern and are applied through CSSOM, because
// the Content-Security-Policy (style-src 'self') refuses style attributes.

const KATEX_JS = 'vendor/katex/katex.min.js';
const KATEX_CSS = 'vendor/katex/katex.min.css';
const PLACEHOLDER = ':not(pre) > code.language-math-inline, :not(pre) > code.language-math-display';
const MAX_TEX = 20000;   // longer "formulas" stay as text
const CACHE_MAX = 200;   // formulas kept typeset: a streaming reply re-renders each frame

const MATH_TAGS = ['span', 'math', 'semantics', 'annotation', 'mrow', 'mi', 'mo', 'mn', 'ms',
  'mtext', 'mspace', 'msup', 'msub', 'msubsup', 'mfrac', 'msqrt', 'mroot', 'mover', 'munder',
  'munderover', 'mtable', 'mtr', 'mtd', 'mlabeledtr', 'mstyle', 'mpadded', 'mphantom', 'menclose',
  'mmultiscripts', 'mprescripts', 'none', 'svg', 'path', 'line'];
const MATH_ATTR = ['class', 'style', 'aria-hidden', 'xmlns', 'encoding', 'mathvariant', 'stretchy',
  'fence', 'separator', 'lspace', 'rspace', 'minsize', 'maxsize', 'accent', 'accentunder',
  'movablelimits', 'linethickness', 'columnalign', 'rowspacing', 'columnspacing', 'columnlines',
  'rowlines', 'width', 'height', 'depth', 'voffset', 'displaystyle', 'scriptlevel', 'notation',
  'viewBox', 'preserveAspectRatio', 'd', 'x1', 'y1', 'x2', 'y2', 'stroke-width', 'display',
  'mathcolor', 'mathbackground'];
// KaTeX's inline style properties; a value is lengths, numbers, keywords or a colour.
const STYLE_PROPS = new Set(['height', 'width', 'min-width', 'max-width', 'vertical-align', 'top',
  'bottom', 'left', 'right', 'margin-left', 'margin-right', 'margin-top', 'margin-bottom',
  'padding-left', 'padding-right', 'padding-top', 'padding-bottom', 'border-bottom-width',
  'border-top-width', 'border-right-width', 'border-left-width', 'border-style', 'border-color',
  'color', 'background-color', 'position', 'font-size', 'line-height']);
const STYLE_VALUE = /^(?:[-+\d.]+(?:em|ex|px|pt|%)?|[a-z-]+|#[\da-f]{3,8}|rgba?\([\d., %]+\))(?: [-+\w.%#]+)*$/i;
const STYLE_SAFE = /^[-+\w.%#(),:; ]*$/;   // no quotes, backslashes, comments

// ---- finding TeX in the Markdown (marked extensions) -----------------------------------

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// $…$ is inline math when the opening $ is followed by a non-space, the closing $
// follows a non-space and is not followed by a digit ("$5 and $6" stays text).
const INLINE_RULES = [
  [/^\$\$([^$]+?)\$\$/, true],
  [/^\\\[([\s\S]+?)\\\]/, true],
  [/^\\\(([\s\S]+?)\\\)/, false],
  [/^\$(?!\s)((?:\\\$|[^$\n`])*?[^\s\\`])\$(?!\d)/, false],
  [/^\$([^\s$\\])\$(?!\d)/, false],
];
const BLOCK_RULES = [
  /^ {0,3}\$\$([\s\S]+?)\$\$[ \t]*(?:\n+|$)/,
  /^ {0,3}\\\[([\s\S]+?)\\\][ \t]*(?:\n+|$)/,
];

const token = (type, raw, tex, display) => ({ type, raw, tex: tex.trim(), display });
const placeholder = (t) => `<code class="language-math-${t.display ? 'display' : 'inline'}">${esc(t.tex)}</code>`;

/** marked extensions for the four delimiters (give to marked.use({extensions})). */
export const mathExtensions = [
  {
    name: 'mathBlock',
    level: 'block',
    start: (src) => { const m = /(?:^|\n) {0,3}(?:\$\$|\\\[)/.exec(src); return m ? m.index : undefined; },
    tokenizer(src) {
      for (const re of BLOCK_RULES) {
        const m = re.exec(src);
        // a fence inside means the delimiters are not a pair (one is in a code block)
        if (m && m[1].trim() && m[1].length <= MAX_TEX && !/^ {0,3}(?:```|~~~)/m.test(m[1])) {
          return token('mathBlock', m[0], m[1], true);
        }
      }
      return undefined;
    },
    renderer: (t) => `<p>${placeholder(t)}</p>\n`,
  },
  {
    name: 'mathInline',
    level: 'inline',
    start: (src) => { const m = /\$|\\[([]/.exec(src); return m ? m.index : undefined; },
    tokenizer(src) {
      for (const [re, display] of INLINE_RULES) {
        const m = re.exec(src);
        if (m && m[1].trim() && m[1].length <= MAX_TEX) return token('mathInline', m[0], m[1], display);
      }
      return undefined;
    },
    renderer: placeholder,
  },
];

// ---- rendering -----------------------------------------------------------------------

let purifier = null;   // a DOMPurify instance of its own: the page's hooks strip classes
let styles = [];       // [element, style text] kept by the hook while sanitizing
function mathPurifier() {
  if (purifier) return purifier;
  purifier = globalThis.DOMPurify(window);
  purifier.addHook('uponSanitizeAttribute', (node, data) => {
    if (data.attrName === 'style') {
      if (STYLE_SAFE.test(data.attrValue)) styles.push([node, data.attrValue]);
      data.keepAttr = false;
    } else if (data.attrName === 'class' && !/^[\w -]*$/.test(data.attrValue)) {
      data.keepAttr = false;
    }
  });
  return purifier;
}

// Applies the declarations that pass, through CSSOM (allowed by the CSP).
function applyStyle(el, text) {
  for (const decl of text.split(';')) {
    const i = decl.indexOf(':');
    if (i < 0) continue;
    const prop = decl.slice(0, i).trim().toLowerCase();
    const value = decl.slice(i + 1).trim();
    if (STYLE_PROPS.has(prop) && STYLE_VALUE.test(value)) el.style.setProperty(prop, value);
  }
}

const typesetCache = new Map();   // (display, TeX) → typeset span, oldest first

// The formula `tex` as KaTeX's sanitized DOM in a new span (a copy of the cached one).
function typeset(tex, display) {
  const key = `${display ? 'D' : 'I'}${tex}`;
  let box = typesetCache.get(key);
  if (!box) {
    box = typesetNew(tex, display);
    if (typesetCache.size >= CACHE_MAX) typesetCache.delete(typesetCache.keys().next().value);
    typesetCache.set(key, box);
  }
  return box.cloneNode(true);
}

function typesetNew(tex, display) {
  const box = document.createElement('span');
  globalThis.katex.render(tex, box, {
    displayMode: display, throwOnError: false, trust: false, strict: 'ignore',
    output: 'htmlAndMathml', maxSize: 50, maxExpand: 1000,
  });
  styles = [];
  mathPurifier().sanitize(box, {
    IN_PLACE: true, ALLOWED_TAGS: MATH_TAGS, ALLOWED_ATTR: MATH_ATTR, ALLOW_DATA_ATTR: false,
    ADD_URI_SAFE_ATTR: [], ALLOWED_URI_REGEXP: /^$/,
  });
  for (const [el, text] of styles) if (box.contains(el)) applyStyle(el, text);
  styles = [];
  return box;
}

let loading = null;   // the promise of KaTeX's script, once asked for
function loadKatex() {
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const css = document.createElement('link');
      css.rel = 'stylesheet';
      css.href = KATEX_CSS;
      const js = document.createElement('script');
      js.src = KATEX_JS;
      js.onload = resolve;
      js.onerror = reject;
      document.head.append(css, js);
    });
    loading.then(() => renderMath(document.body), () => { /* formulas stay as TeX */ });
  }
  return loading;
}

/**
 * Replaces the formula placeholders under `root` by KaTeX's rendering; before KaTeX
 * is loaded (or when it is missing) they stay as their TeX and are rendered once it is.
 */
export function renderMath(root) {
  const found = root.querySelectorAll(PLACEHOLDER);
  if (!found.length) return;
  if (!globalThis.katex || !globalThis.katex.render) {
    loadKatex();
    return;
  }
  for (const code of found) {
    const display = code.classList.contains('language-math-display');
    const tex = code.textContent;
    let box;
    try { box = typeset(tex, display); } catch { continue; }   // stays as TeX
    let math = box;
    if (display) {
      // the formula scrolls sideways in its own box; the button stays beside it
      box.className = 'math-scroll';
      math = document.createElement('span');
      math.className = 'math math-display';
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.className = 'math-copy';
      copy.textContent = 'Copy';
      copy.setAttribute('aria-label', 'Copy the formula as TeX');
      math.append(box, copy);
    } else {
      box.className = 'math math-inline';
      box.tabIndex = 0;
      box.title = 'Click to copy the TeX';
    }
    math.dataset.tex = tex;
    code.replaceWith(math);
  }
}

// One listener for every formula's copy (by button, or click / Enter on an inline one).
function onCopy(ev, copyText) {
  if (ev.type === 'keydown' && ev.key !== 'Enter' && ev.key !== ' ') return;
  const target = ev.target.closest && ev.target.closest('.math-copy, .math-inline');
  if (!target) return;
  const box = target.closest('.math');
  if (!box || !box.dataset.tex) return;
  ev.preventDefault();
  copyText(box.dataset.tex).then((ok) => {
    if (target.classList.contains('math-copy')) {
      target.textContent = ok ? 'Copied' : 'Copy failed';
      setTimeout(() => { target.textContent = 'Copy'; }, 1500);
    } else {
      box.dataset.copied = ok ? 'yes' : 'no';
      setTimeout(() => { delete box.dataset.copied; }, 1500);
    }
  });
}

/** Makes formula copies work under `root`, with copyText(text) → Promise<bool>. */
export function listenForCopies(root, copyText) {
  root.addEventListener('click', (ev) => onCopy(ev, copyText));
  root.addEventListener('keydown', (ev) => onCopy(ev, copyText));
}
