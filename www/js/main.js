// Wires the page: login/chat views, the socket, the conversation and its rendering.
import * as api from './api.js';
import { ChatSocket } from './socket.js';
import { Chat } from './chat.js';
import { MessageView } from './render.js';

const $ = (id) => document.getElementById(id);
const EXPIRED = 'Your session has expired, please log in again.';
const MODEL_KEY = 'lightchat.model';   // only the chosen model name is stored
const STATUS_TEXT = {
  connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting…', closed: 'Offline',
};

const socket = new ChatSocket('/ws');
const chat = new Chat(socket);
const view = new MessageView($('messages'), $('empty'));
const prompt = $('prompt');
let loggedIn = false;

function showError(el, message) {
  el.textContent = message || '';
  el.hidden = !message;
}

// ---- views -------------------------------------------------------------------

function showLogin(message = '') {
  loggedIn = false;
  socket.stop();
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
  const select = $('model');
  try {
    const { models = [], default: def } = await api.models();
    const saved = localStorage.getItem(MODEL_KEY);
    select.replaceChildren(...models.map((m) => new Option(m, m)));
    select.value = models.includes(saved) ? saved : (def || models[0] || '');
    select.disabled = models.length < 2;
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

function send() {
  const text = prompt.value.trim();
  if (!text || chat.busy) return;
  const model = $('model').value;
  try {
    chat.send(text, model ? { model_name: model } : {});
  } catch (e) {
    showError($('chat-error'), e.message);
    return;
  }
  showError($('chat-error'), '');
  prompt.value = '';
  autosize();
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
  }
});
$('stop').addEventListener('click', () => chat.stop());
$('new-chat').addEventListener('click', () => { chat.reset(); prompt.focus(); });
$('model').addEventListener('change', (ev) => localStorage.setItem(MODEL_KEY, ev.target.value));

// ---- start -------------------------------------------------------------------

api.me().then(showChat, (e) => showLogin(e.status === 401 ? '' : e.message));
