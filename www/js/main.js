// Wires the page: login/chat views, the socket, the conversation and its rendering.
import * as api from './api.js';
import { ChatSocket } from './socket.js';
import { Chat } from './chat.js';
import { MessageView } from './render.js';
import { Settings } from './settings.js';

const $ = (id) => document.getElementById(id);
const EXPIRED = 'Your session has expired, please log in again.';
const STATUS_TEXT = {
  connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting…', closed: 'Offline',
};

const socket = new ChatSocket('/ws');
const chat = new Chat(socket);
const view = new MessageView($('messages'), $('empty'));
const settings = new Settings($('settings'), $('open-settings'));
const prompt = $('prompt');
let loggedIn = false;
let editing = null;   // {draft}: the composer holds the last prompt, to replace it

function showError(el, message) {
  el.textContent = message || '';
  el.hidden = !message;
}

// ---- views -------------------------------------------------------------------

function showLogin(message = '') {
  loggedIn = false;
  socket.stop();
  settings.close();
  cancelEdit();
  chat.reset();
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
  showError($('chat-error'), '');
  socket.start();
  loadModels();
  prompt.focus();
}

function expire() {
  if (loggedIn) showLogin(EXPIRED);
}
api.setUnauthorizedHandler(expire);

async function loadModels() {
  try {
    const { models = [], default: def } = await api.models();
    settings.setModels(models, def);
  } catch (e) {
    if (e.status !== 401) showError($('chat-error'), `Could not load the model list: ${e.message}`);
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
  showLogin();
});

// ---- socket ------------------------------------------------------------------

socket.addEventListener('status', ({ detail }) => {
  const el = $('status');
  el.dataset.state = detail.state;
  el.textContent = STATUS_TEXT[detail.state] || detail.state;
  el.title = detail.retryIn ? `Next attempt in ${Math.ceil(detail.retryIn / 1000)} s` : '';
});
socket.addEventListener('message', ({ detail }) => chat.handle(detail));
socket.addEventListener('lost', ({ detail }) => {
  chat.connectionLost();
  // A browser cannot see why an upgrade was refused: ask whether the session is still valid.
  if (!detail.opened && loggedIn) {
    api.me().catch((e) => { if (e.status === 401) expire(); });
  }
});

// ---- conversation ------------------------------------------------------------

chat.addEventListener('add', ({ detail }) => view.add(detail.msg));
chat.addEventListener('update', ({ detail }) => view.update(detail.msg));
chat.addEventListener('remove', ({ detail }) => view.remove(detail.msg));
chat.addEventListener('reset', () => view.clear());
chat.addEventListener('notice', ({ detail }) => showError($('chat-error'), detail.message));
chat.addEventListener('unauthorized', expire);
chat.addEventListener('busy', ({ detail: { busy } }) => {
  const stopHadFocus = document.activeElement === $('stop');
  $('send').hidden = busy;
  $('stop').hidden = !busy;
  view.setBusy(busy);
  if (!busy && stopHadFocus) prompt.focus();
});

// Runs a Chat action; a refusal (not connected, busy) is shown above the composer.
function attempt(fn) {
  try {
    fn();
  } catch (e) {
    showError($('chat-error'), e.message);
    return false;
  }
  showError($('chat-error'), '');
  return true;
}

function send() {
  const text = prompt.value.trim();
  if (!text || chat.busy) return;
  if (!attempt(() => chat.send(text, settings.request(), !!editing))) return;
  setEditing(null);
  prompt.value = '';
  autosize();
}

// Edit the last prompt in the composer; whatever was typed there comes back on cancel.
function startEdit(text) {
  setEditing(editing || { draft: prompt.value });
  prompt.value = text;
  autosize();
  prompt.focus();
  prompt.setSelectionRange(text.length, text.length);
}

function cancelEdit() {
  if (!editing) return;
  prompt.value = editing.draft;
  setEditing(null);
  autosize();
}

// The note above the composer also describes the text box, for screen readers.
function setEditing(state) {
  editing = state;
  $('editing').hidden = !state;
  prompt.setAttribute('aria-describedby', state ? 'editing composer-hint' : 'composer-hint');
}

function autosize() {
  prompt.style.height = 'auto';
  prompt.style.height = `${Math.min(prompt.scrollHeight, 200)}px`;
}

$('composer').addEventListener('submit', (ev) => { ev.preventDefault(); send(); });
prompt.addEventListener('input', autosize);
prompt.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    send();
  } else if (ev.key === 'Escape' && editing) {
    cancelEdit();
  }
});
$('stop').addEventListener('click', () => chat.stop());
$('new-chat').addEventListener('click', () => { cancelEdit(); chat.reset(); prompt.focus(); });
$('cancel-edit').addEventListener('click', () => { cancelEdit(); prompt.focus(); });
$('messages').addEventListener('click', (ev) => {
  const action = ev.target.closest('button.act')?.dataset.action;
  if (action === 'edit') {
    startEdit(chat.messages[chat.lastPrompt()].content);
  } else if (action === 'regenerate') {
    cancelEdit();
    if (attempt(() => chat.regenerate(settings.request()))) prompt.focus();
  }
});

// ---- start -------------------------------------------------------------------

api.me().then(showChat, (e) => showLogin(e.status === 401 ? '' : e.message));
