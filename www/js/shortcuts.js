// shortcuts.js - keyboard shortcuts and their help dialog. One table (SHORTCUTS) is
// both what the keys do and what the dialog lists. Chosen not to clash with the
// browser's own keys (no Ctrl+N/T/W/L); the one-key ones (/, ?) only act when the
// focus is not in a text field, and none acts behind an open dialog.

const MAC = /Mac|iPhone|iPad/.test(navigator.userAgentData?.platform || navigator.platform || '');
const MOD = MAC ? '⌘' : 'Ctrl';
const ARIA_MOD = MAC ? 'Meta' : 'Control';
const mod = (e) => (MAC ? e.metaKey : e.ctrlKey) && !e.altKey;
const bare = (e) => !e.ctrlKey && !e.metaKey && !e.altKey;

// keys: as shown; test(ev): whether it is this one; typing: also acts in a text field;
// aria: the aria-keyshortcuts value given to the element `target` (by id).
const SHORTCUTS = [
  { action: 'newChat', keys: [MOD, 'Shift', 'O'], label: 'New chat', typing: true,
    test: (e) => mod(e) && e.shiftKey && e.code === 'KeyO', target: 'new-chat', aria: `${ARIA_MOD}+Shift+O` },
  { action: 'search', keys: [MOD, 'K'], label: 'Search conversations', typing: true,
    test: (e) => mod(e) && !e.shiftKey && e.code === 'KeyK', target: 'conv-search', aria: `${ARIA_MOD}+K` },
  { action: 'focusPrompt', keys: ['Shift', 'Esc'], label: 'Focus the message box', typing: true,
    test: (e) => bare(e) && e.shiftKey && e.key === 'Escape', target: 'prompt', aria: 'Shift+Escape' },
  { action: 'focusPrompt', keys: ['/'], label: 'Focus the message box (when not typing)', typing: false,
    test: (e) => bare(e) && e.key === '/', target: 'prompt', aria: '/' },
  { action: 'stop', keys: ['Esc'], label: 'Stop the reply being written', typing: true,
    test: (e) => bare(e) && !e.shiftKey && e.key === 'Escape', target: 'stop', aria: 'Escape' },
  { action: 'help', keys: ['?'], label: 'Show these shortcuts (when not typing)', typing: false,
    test: (e) => bare(e) && e.key === '?', target: 'open-shortcuts', aria: '?' },
];

const typingIn = (el) => !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));

/**
 * Installs the shortcuts. `actions`: {enabled(), newChat(), search(), focusPrompt(),
 * stop(), canStop()} (enabled: whether the chat is shown; stop only acts while
 * canStop()); `dialog` is the help <dialog>, `list` its <tbody>, `button` opens it.
 */
export function installShortcuts(actions, { dialog, list, button }) {
  for (const s of SHORTCUTS) {
    const tr = document.createElement('tr');
    const keys = document.createElement('td');
    s.keys.forEach((k, i) => {
      if (i) keys.append(' + ');
      const kbd = document.createElement('kbd');
      kbd.textContent = k;
      keys.append(kbd);
    });
    const what = document.createElement('td');
    what.textContent = s.label;
    tr.dataset.action = s.action;
    tr.append(keys, what);
    list.append(tr);
    const el = document.getElementById(s.target);
    if (el) el.setAttribute('aria-keyshortcuts', [el.getAttribute('aria-keyshortcuts'), s.aria].filter(Boolean).join(' '));
  }
  const help = () => { if (!dialog.open) dialog.showModal(); };
  button.addEventListener('click', help);
  const run = { ...actions, help };
  document.addEventListener('keydown', (ev) => {
    if (ev.defaultPrevented || ev.isComposing || !actions.enabled()) return;
    if (document.querySelector('dialog[open]')) return;         // the dialog's own keys
    const s = SHORTCUTS.find((x) => x.test(ev));
    if (!s || (!s.typing && typingIn(ev.target))) return;
    if (s.action === 'stop' && (!actions.canStop() || document.querySelector('.sidebar.open'))) return;
    ev.preventDefault();
    run[s.action]();
  });
}
