// lib.mjs - shared by the browser tests: Debian's chromium driven by playwright-core
// against a running stack and the fake upstream. Every test script takes
//   node tests/browser/NAME.mjs BASE_URL USER PASSWORD ARTIFACT_DIR [UPSTREAM_URL] [STATE_DIR]
// and prints TAP-style "ok"/"not ok" lines; exit status 1 when one failed.
import { chromium } from 'playwright-core';

export const [base, user, password, artifacts, upstream, stateDir] = process.argv.slice(2);

let failed = 0;
export const ok = (name) => console.log(`ok - ${name}`);
export const notOk = (name, detail) => {
  failed++;
  console.log(`not ok - ${name}`);
  if (detail) console.log(`#   ${String(detail).slice(0, 300)}`);
};
/** Runs fn; it passes unless it throws or returns false. */
export async function check(name, fn) {
  try {
    const res = await fn();
    if (res === false) notOk(name); else ok(name);
  } catch (e) {
    notOk(name, e.message);
  }
}
/** Throws with `got` when `cond` is false: a failing check that says why. */
export function expect(cond, got) {
  if (!cond) throw new Error(`got: ${typeof got === 'string' ? got : JSON.stringify(got)}`);
}
export const exitCode = () => (failed ? 1 : 0);

export async function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A new page that records script errors (page.errors) and requests to other hosts. */
export async function newPage(context) {
  const page = await context.newPage();
  page.errors = [];
  page.remote = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => {
    // Refused upgrades and fetches (401/403, or 502 while websocketd restarts) are logged
    // by the browser itself; they are expected in these tests.
    if (m.type() === 'error' && !/401|403|502|503|WebSocket/.test(m.text())) page.errors.push(m.text());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith(base.replace('http', 'ws'))) page.remote.push(r.url());
  });
  return page;
}

export async function login(page, { remember = false } = {}) {
  await page.goto(base + '/');
  await page.locator('#login-view').waitFor({ state: 'visible', timeout: 5000 });
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.setChecked('#remember', remember);
  await page.click('#login-submit');
  await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
}

export const replies = (page) => page.locator('article.msg[data-role]');

/** Waits until the message at index i exists and is no longer streaming. */
export async function settled(page, i, timeout = 30000) {
  await page.waitForFunction((n) => {
    const m = document.querySelectorAll('article.msg[data-role]')[n];
    return m && m.dataset.state !== 'streaming';
  }, i, { timeout });
  return replies(page).nth(i);
}

/** Types a prompt, sends it with Enter and waits for the reply to finish. */
export async function send(page, text) {
  const before = await replies(page).count();
  await page.fill('#prompt', text);
  await page.press('#prompt', 'Enter');
  return settled(page, before + 1);
}

/** GET a JSON document (the fake upstream's /_requests and /_stats). */
export async function getJSON(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

export const words = (n) => Array.from({ length: n }, (_, i) => `w${i + 1}`).join(' ');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** GET a JSON API path with the page's session cookie → {status, body}. */
export async function apiGet(page, path) {
  const res = await page.request.get(base + path);
  let body = null;
  try { body = await res.json(); } catch { /* empty or not JSON */ }
  return { status: res.status(), body };
}

/** The id of the conversation the address names (#c=ID), or ''. */
export const hashId = (page) => page.evaluate(() => (/^#c=(.+)$/.exec(location.hash) || [])[1] || '');

/** The titles in the sidebar, top to bottom. */
export const titles = (page) => page.locator('#conv-list .conv-link').allInnerTexts();

/** "New chat", then a first prompt; waits for its reply and returns the new id. */
export async function newConversation(page, text) {
  await page.click('#new-chat');
  await send(page, text);
  await page.waitForFunction(() => /^#c=/.test(location.hash), null, { timeout: 5000 });
  return hashId(page);
}

/** Records the text of the message at index i on every change (window.__texts). */
export const recordTexts = (page, i) => page.evaluate((n) => {
  if (window.__textsObserver) window.__textsObserver.disconnect();
  window.__texts = [];
  const note = () => {
    const m = document.querySelectorAll('article.msg[data-role]')[n];
    const body = m && m.querySelector('.msg-body');
    if (body) window.__texts.push({ state: m.dataset.state, text: body.textContent });
  };
  window.__textsObserver = new MutationObserver(note);
  window.__textsObserver.observe(document.querySelector('#messages'),
    { subtree: true, childList: true, characterData: true, attributes: true });
  note();
}, i);

/** Throws unless every recorded text is a prefix of `full` (word for word) and the last is `full`. */
export async function expectGrowth(page, full) {
  const texts = (await page.evaluate(() => window.__texts)).map((t) => t.text.trim().replace(/\s+/g, ' '));
  const bad = texts.filter((t) => !(full === t || full.startsWith(t + ' ') || t === ''));
  if (bad.length) throw new Error(`a text shown was not a prefix of the reply: ${bad[0].slice(-120)}`);
  if (texts.at(-1) !== full) throw new Error(`the last text shown: ${texts.at(-1).slice(-120)}`);
  return texts.length;
}
