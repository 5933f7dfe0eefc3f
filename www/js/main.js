// Wires the page: login/chat views, the socket, the open conversation, the sidebar,
// the composer, and the address: #c=<id> names the open conversation, so that a
// reload (or another tab, or the back button) opens it again.
import * as api from './api.js';
import { ChatSocket } from './socket.js';
import { Chat } from './chat.js';
import { MessageView } from './render.js';
import { Settings } from './settings.js';
import { Sessions } from './sessions.js';
import { Usage } from './usage.js';
import { Sidebar } from './sidebar.js';
import { Composer } from './composer.js';
import { untilReachable } from './offline.js';
import { registerServiceWorker } from './pwa.js';
import { installShortcuts } from './shortcuts.js';
import { Attachments } from './attachments.js';
import { versionClicked } from './versions.js';

const $ = (id) => document.getElementById(id);
const EXPIRED = 'Your session has expired, please log in again.';
const STATUS_TEXT = {
  connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting…', closed: 'Offline',
};

const socket = new ChatSocket('ws')   // relative: the page may live under a prefix;
const chat = new Chat(socket);
const view = new MessageView($('messages'), $('empty'));
const settings = new Settings($('settings'), $('open-settings'));
new Sessions($('settings'), $('open-settings'));
const usage = new Usage($('settings'), $('open-settings'), $('usage-banner'));
const composer = new Composer();
const attachments = new Attachments({
  form: $('composer'), prompt: $('prompt'), tray: $('attach-tray'), picker: $('attach'),
  input: $('attach-input'), note: $('attach-note'),
});
composer.hasFiles = () => attachments.count() > 0;
const sidebar = new Sidebar({
  nav: $('sidebar'), toggle: $('sidebar-toggle'), backdrop: $('sidebar-backdrop'),
  rest: $('main-col'), confirm: $('confirm-delete'),
});
let loggedIn = false;
let everOpened = false;   // the socket opened once: later opens are reconnects

function showError(el, message) {
  el.textContent = message || '';
  el.hidden = !message;
}
const notice = (message) => showError($('chat-error'), message);

// ---- address -------------------------------------------------------------------

function hashId() {
  const m = /^#c=([\w-]{1,64})$/.exec(location.hash);
  return m ? m[1] : null;
}

// Names conversation `id` in the address; `push` makes a history entry (a choice the
// back button should undo), otherwise the current entry is replaced.
function setHash(id, push = false) {
  if (hashId() === id) return;
  const url = id ? `#c=${id}` : location.pathname + location.search;
  history[push ? 'pushState' : 'replaceState'](null, '', url);
}

function showConversation(id, push = false) {
  composer.cancelEdit();
  notice('');
  setHash(id, push);
  sidebar.setCurrent(id);
  setTitle(id ? sidebar.titleOf(id) : '');
  chat.open(id);
}

function newChat() {
  showConversation(null, true);
  composer.focus();
}

function setTitle(title) { document.title = title ? `${title} – lightchat` : 'lightchat'; }

addEventListener('hashchange', () => {
  const id = hashId();
  if (loggedIn && id !== chat.id) {
    showConversation(id);
    composer.focus();
  }
});

// ---- views -------------------------------------------------------------------

function showLogin(message = '') {
  loggedIn = false;
  everOpened = false;
  socket.stop();
  settings.close();
  composer.cancelEdit();
  attachments.clear();
  chat.clear();
  sidebar.clear();
  setTitle('');
  $('chat-view').hidden = true;
  $('login-view').hidden = false;
  showError($('login-error'), message);
  $('password').value = '';
  ($('username').value ? $('password') : $('username')).focus();
}

function showChat(info) {
  loggedIn = true;
  $('login-view').hidden = true;
  $('chat-view').hidden = false;
  $('user-name').textContent = info.username || '';
  $('demo-banner').hidden = !info.demo;
  attachments.setLimits(info.attachments);
  notice('');
  socket.start();
  loadModels();
  usage.refresh();
  sidebar.refresh();
  showConversation(hashId());
  composer.focus();
}

// An expired session keeps the address: logging in again reopens the conversation.
function expire() {
  if (loggedIn) showLogin(EXPIRED);
}
api.setUnauthorizedHandler(expire);

async function loadModels() {
  try {
    const { models = [], default: def, details = [], upstreams = [] } = await api.models();
    settings.setModels(models, def, details, upstreams);
    modelChosen();
  } catch (e) {
    if (e.status !== 401) notice(`Could not load the model list: ${e.message}`);
  }
}

// ---- login / logout ----------------------------------------------------------

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const username = $('username').value.trim();
  const password = $('password').value;
  const err = $('login-error');
  if (!username || !password) {
    showError(err, 'Enter your username and password.');
    return;
  }
  const btn = $('login-submit');
  btn.disabled = true;
  showError(err, '');
  try {
    await api.login(username, password, $('remember').checked);
  } catch (e) {
    showError(err, e.message);
    $('password').select();
    return;
  } finally {
    btn.disabled = false;
  }
  try {
    showChat(await api.me());
  } catch (e) {
    showError(err, e.status === 401
      ? 'Logged in, but the browser did not keep the session cookie; are cookies blocked?'
      : e.message);
  }
});

$('logout').addEventListener('click', async () => {
  try { await api.logout(); } catch { /* the cookie is gone or the server is; either way */ }
  setHash(null);   // the next user starts with a new chat
  showLogin();
});

// ---- socket ------------------------------------------------------------------

socket.pingPayload = () => ({ watch: chat.id });
socket.addEventListener('status', ({ detail }) => {
  const el = $('status');
  el.dataset.state = detail.state;
  el.textContent = STATUS_TEXT[detail.state] || detail.state;
  el.title = detail.retryIn ? `Next attempt in ${Math.ceil(detail.retryIn / 1000)} s` : '';
  if (detail.state === 'open' || detail.state === 'closed') $('backend-banner').hidden = true;
});
socket.addEventListener('open', () => {
  // Conversations may have changed while the connection was down.
  if (everOpened) sidebar.refresh();
  everOpened = true;
  chat.connected();
});
socket.addEventListener('message', ({ detail: f }) => {
  chat.handle(f);
  // A reply of this user's ended (or a prompt was refused for its budget): the
  // figures changed.
  if (f && (f.type === 'reply' || (f.type === 'error' && f.msgid != null))) usage.soon();
  if (!f || !f.conversation_id) return;
  if (f.type === 'start') sidebar.upsert(f.conversation_id, f.title);
  else if (f.type === 'reply') sidebar.touch(f.conversation_id);
});
socket.addEventListener('lost', ({ detail }) => {
  chat.connectionLost();
  // A browser cannot see why an upgrade was refused: ask whether the session is still valid.
  // It is: the chat service (websocketd) is restarting, and the page says so until it is back.
  if (!detail.opened && loggedIn) {
    api.me().then(() => {
      if (loggedIn && socket.state !== 'open') $('backend-banner').hidden = false;
    }, (e) => { if (e.status === 401) expire(); });
  }
});
// A phone that wakes up, or a tab shown again: the list may be out of date.
document.addEventListener('visibilitychange', () => {
  if (loggedIn && document.visibilityState === 'visible') sidebar.refresh();
});

// ---- conversation ------------------------------------------------------------

chat.addEventListener('add', ({ detail }) => view.add(detail.msg));
chat.addEventListener('update', ({ detail }) => view.update(detail.msg));
chat.addEventListener('remove', ({ detail }) => view.remove(detail.msg));
chat.addEventListener('reset', ({ detail }) => view.clear(detail.loading));
chat.addEventListener('prepend', ({ detail }) => view.prepend(detail.msgs));
chat.addEventListener('older', ({ detail }) => view.setOlder(detail));
view.onTop = () => chat.loadOlder();
chat.addEventListener('notice', ({ detail }) => notice(detail.message));
chat.addEventListener('unauthorized', expire);
chat.addEventListener('restore', ({ detail }) => {
  composer.restore(detail.text);
  attachments.restore(detail.attachments);
});
chat.addEventListener('conversation', ({ detail: { id, title } }) => {
  setHash(id);
  sidebar.setCurrent(id);
  setTitle(title || sidebar.titleOf(id));
});
chat.addEventListener('missing', () => {
  showConversation(null);
  notice('That conversation does not exist (any more); this is a new chat.');
});
chat.addEventListener('busy', ({ detail: { busy } }) => {
  composer.setBusy(busy);
  view.setBusy(busy);
});

sidebar.addEventListener('notice', ({ detail }) => notice(detail.message));
sidebar.addEventListener('deleted', ({ detail: { id } }) => { if (id === chat.id) showConversation(null); });
sidebar.addEventListener('renamed', ({ detail: { id, title } }) => { if (id === chat.id) setTitle(title); });
$('new-chat').addEventListener('click', () => { sidebar.closeDrawer(false); newChat(); });
$('new-chat-top').addEventListener('click', newChat);

// Runs a Chat action; a refusal (not connected, busy) is shown above the composer.
function attempt(fn) {
  try {
    fn();
  } catch (e) {
    notice(e.message);
    return false;
  }
  notice('');
  return true;
}

let editing = null;   // the prompt being edited (a message of chat.messages)
composer.addEventListener('send', ({ detail: { text, edit } }) => {
  if (chat.busy) return;
  modelChosen();
  const why = attachments.refusal();   // with files, the text may be empty
  if (why) {
    notice(why);
    return;
  }
  if (attempt(() => chat.send(text, settings.request(), edit ? editing || true : false,
    attachments.list()))) {
    composer.sent();
    attachments.sent();
  }
});
// The attachments follow the chosen model (an image for one that reads none is refused).
function modelChosen() {
  const name = settings.request().params.model_name || '';
  attachments.setModel(name, settings.info.get(name));
}
$('model').addEventListener('change', modelChosen);
attachments.addEventListener('change', () => notice(''));
attachments.addEventListener('unauthorized', expire);
composer.addEventListener('stop', () => chat.stop());
composer.addEventListener('canceledit', () => attachments.dropBorrowed());
$('messages').addEventListener('click', (ev) => {
  const version = versionClicked(ev);
  if (version) {
    composer.cancelEdit();
    attempt(() => chat.switchTo(version));
    return;
  }
  const action = ev.target.closest('button.act')?.dataset.action;
  if (action === 'edit') {
    // Any prompt with its stored id (versions.js marks it); else the last one.
    const sid = Number(ev.target.closest('.msg')?.dataset.sid);
    editing = chat.messages.find((m) => m.role === 'user' && m.sid === sid) || chat.messages[chat.lastPrompt()];
    composer.startEdit(editing.content);
    attachments.restore(editing.attachments, true);   // its files go again unless removed
  } else if (action === 'regenerate') {
    composer.cancelEdit();
    if (attempt(() => chat.regenerate(settings.request()))) composer.focus();
  }
});

// ---- start -------------------------------------------------------------------

installShortcuts({
  enabled: () => loggedIn,
  newChat: () => { sidebar.closeDrawer(false); newChat(); },
  search: () => { sidebar.openDrawer(); $('conv-search').focus(); $('conv-search').select(); },
  focusPrompt: () => composer.focus(),
  stop: () => chat.stop(),
  canStop: () => chat.busy,
}, { dialog: $('shortcuts'), list: $('shortcuts-list'), button: $('open-shortcuts') });
registerServiceWorker($('update-banner'), $('update-reload'));

// The server unreachable (the page came from the service worker's cache): the offline
// screen, until it answers.
const loginOrError = (e) => showLogin(e.status === 401 ? '' : e.message);
api.me().then(showChat, (e) => {
  if (e.status !== 0) return loginOrError(e);
  return untilReachable(api.me, {
    view: $('offline-view'), status: $('offline-status'), retry: $('offline-retry'),
  }).then(showChat, loginOrError);
});
