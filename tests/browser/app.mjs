// app.mjs - the installable app: the manifest is served and parses (relative start_url
// and scope, its icons served), sw.js has its headers, the service worker registers
// and controls the page after a reload, its caches hold the page's and vendor files
// and nothing of /api/, /ws, /login, /logout, /health, /metrics; the keyboard
// shortcuts and their help dialog; last, with the stack's lighttpd stopped (by its
// PID: the whole stack ends), a reload shows the offline screen, which tries again.
// Screenshots of the help dialog and the offline screen, light and dark, 1280×800 and
// 390×844. Runs on a stack of its own (test-browser.sh). See lib.mjs.
import { readFileSync } from 'node:fs';
import {
  base, artifacts, stateDir, check, expect, notOk, exitCode, launch, newPage, login, send, settled,
} from './lib.mjs';

const SIZES = [[1280, 800], [390, 844]];
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await newPage(context);
const MOD = process.platform === 'darwin' ? 'Meta' : 'Control';
const active = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);

async function shots(name, before) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [w, h] of SIZES) {
      await page.setViewportSize({ width: w, height: h });
      if (before) await before();
      await page.screenshot({ path: `${artifacts}/${name}-${w}-${scheme}.png` });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 800 });
}

try {
  // ---- the manifest and sw.js, over HTTP ----
  let manifest = null;
  await check('the manifest is served as application/manifest+json and parses', async () => {
    const res = await page.request.get(`${base}/manifest.webmanifest`);
    expect(res.status() === 200 && /^application\/manifest\+json/.test(res.headers()['content-type']), res.headers());
    manifest = JSON.parse(await res.text());
    expect(manifest.name === 'lightchat' && manifest.display === 'standalone', manifest);
  });
  await check('start_url and scope are relative (a url_prefix such as /chat/ works)', () =>
    manifest && manifest.start_url === './' && manifest.scope === './' && !/^\/|:/.test(manifest.id));
  await check('every icon of the manifest is served with its type, 192 and 512 px among them', async () => {
    const sizes = manifest.icons.map((i) => i.sizes).join(' ');
    expect(/192x192/.test(sizes) && /512x512/.test(sizes) && manifest.icons.some((i) => i.purpose === 'maskable'), sizes);
    for (const icon of manifest.icons) {
      const res = await page.request.get(`${base}/${icon.src}`);
      expect(res.status() === 200 && res.headers()['content-type'].startsWith(icon.type), [icon.src, res.status(), res.headers()['content-type']]);
    }
  });
  let swText = '';
  await check('sw.js: JavaScript, Service-Worker-Allowed, never cached by HTTP', async () => {
    const res = await page.request.get(`${base}/sw.js`);
    const h = res.headers();
    swText = await res.text();
    expect(res.status() === 200 && /javascript/.test(h['content-type']) && h['service-worker-allowed'] === '/'
      && /no-cache/.test(h['cache-control'] || ''), h);
  });
  const version = (/const VERSION = '([0-9a-f]{16})'/.exec(swText) || [])[1];
  await check('sw.js carries a content hash as its VERSION (scripts/sw-version.sh)', () => expect(!!version, swText.slice(0, 200)));

  // ---- the service worker ----
  await login(page);
  await check('the page links the manifest', async () =>
    (await page.evaluate(() => document.querySelector('link[rel="manifest"]').href)) === `${base}/manifest.webmanifest`);
  await check('the service worker registers and activates, its scope the page\'s directory', async () => {
    const reg = await page.evaluate(() => navigator.serviceWorker.ready.then((r) => ({ scope: r.scope, state: r.active && r.active.state })));
    expect(reg.scope === `${base}/` && (reg.state === 'activated' || reg.state === 'activating'), reg);
  });
  await send(page, 'hello from the app test');
  await page.reload();
  await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
  await check('after a reload the service worker controls the page', async () => {
    const url = await page.evaluate(() => navigator.serviceWorker.controller && navigator.serviceWorker.controller.scriptURL);
    expect(url === `${base}/sw.js`, url);
  });
  await settled(page, 1);
  const cached = await page.evaluate(async () => {
    const out = {};
    for (const name of await caches.keys()) {
      out[name] = (await (await caches.open(name)).keys()).map((r) => r.url);
    }
    return out;
  });
  const urls = Object.values(cached).flat();
  await check('the caches hold the page, its modules and the vendor libraries, by VERSION', () => {
    const own = cached[`lightchat-${version}`] || [];
    for (const want of [`${base}/`, `${base}/js/main.js`, `${base}/js/math.js`, `${base}/css/app.css`, `${base}/manifest.webmanifest`]) {
      expect(own.includes(want), { want, cached });
    }
    expect(urls.includes(`${base}/vendor/marked/marked.min.js`) && urls.includes(`${base}/vendor/katex/katex.min.js`), cached);
  });
  await check('nothing of /api/, /ws, /login, /logout, /health, /metrics is cached', () => {
    const bad = urls.filter((u) => /^\/(api\/|ws|login|logout|health|metrics)/.test(u.slice(base.length)));
    expect(bad.length === 0 && urls.length > 0, bad);
  });
  await check('the page is network first: a reload fetches it (and caches it again)', async () => {
    const gone = await page.evaluate(async (v) => (await caches.open(`lightchat-${v}`)).delete(new URL('./', location.href).href), version);
    expect(gone, 'no cached page to delete');
    await page.reload();
    await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
    const back = await page.evaluate(async (v) => !!(await (await caches.open(`lightchat-${v}`)).match(new URL('./', location.href).href)), version);
    expect(back, 'the page was not fetched and cached again');
  });
  await check('an API answer still comes from the server (not the worker)', async () => {
    const r = await page.evaluate(() => fetch('api/me').then((x) => ({ s: x.status, cc: x.headers.get('cache-control') })));
    expect(r.s === 200, r);
  });

  // ---- keyboard shortcuts ----
  await page.locator('#messages').focus();
  await page.keyboard.press('?');
  await check('? (not typing) opens the shortcuts dialog, focus inside it', async () => {
    await page.locator('#shortcuts').waitFor({ state: 'visible', timeout: 3000 });
    expect(await page.evaluate(() => document.getElementById('shortcuts').contains(document.activeElement)), await active());
  });
  await check('the dialog lists new chat, search, focus prompt, stop and help', async () => {
    const rows = await page.locator('#shortcuts-list tr').evaluateAll((trs) => trs.map((t) => `${t.dataset.action}: ${t.innerText}`));
    for (const a of ['newChat', 'search', 'focusPrompt', 'stop', 'help']) expect(rows.some((r) => r.startsWith(`${a}:`)), rows);
    expect(rows.some((r) => /Shift\s*\+\s*O/.test(r)) && rows.some((r) => /K\b/.test(r)), rows);
  });
  await shots('shortcuts');
  await check('the shortcuts\' elements say them (aria-keyshortcuts)', async () => {
    const a = await page.evaluate(() => ['new-chat', 'conv-search', 'prompt', 'stop', 'open-shortcuts']
      .map((id) => document.getElementById(id).getAttribute('aria-keyshortcuts')));
    expect(/Shift\+O$/.test(a[0]) && /\+K$/.test(a[1]) && a[2] === 'Shift+Escape /' && a[3] === 'Escape' && a[4] === '?', a);
  });
  await page.keyboard.press('Escape');
  await check('Escape closes the dialog', () => page.locator('#shortcuts').waitFor({ state: 'hidden', timeout: 3000 }));
  await page.click('#open-shortcuts');
  await check('the ? button opens it too (a labelled button)', async () => {
    await page.locator('#shortcuts').waitFor({ state: 'visible', timeout: 3000 });
    expect((await page.getAttribute('#open-shortcuts', 'aria-label')) === 'Keyboard shortcuts', 'no label');
  });
  await page.keyboard.press('Escape');
  await page.locator('#shortcuts').waitFor({ state: 'hidden', timeout: 3000 });

  await page.focus('#prompt');
  await page.keyboard.type('why?');
  await check('? while typing is just a character', async () =>
    (await page.inputValue('#prompt')) === 'why?' && !(await page.locator('#shortcuts').isVisible()));
  await page.fill('#prompt', '');
  await page.keyboard.press(`${MOD}+k`);
  await check(`${MOD}+K moves to the conversation search`, async () => expect((await active()) === 'conv-search', await active()));
  await page.keyboard.press('Shift+Escape');
  await check('Shift+Esc moves to the message box', async () => expect((await active()) === 'prompt', await active()));
  await page.locator('#messages').focus();
  await page.keyboard.press('/');
  await check('/ (not typing) moves to the message box and types nothing', async () =>
    expect((await active()) === 'prompt' && (await page.inputValue('#prompt')) === '', await active()));

  // Esc stops a reply that streams.
  await page.fill('#prompt', '#words:400 #slow:30');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('article.msg[data-role="assistant"][data-state="streaming"]', { timeout: 10000 });
  await page.keyboard.press('Escape');
  await check('Esc stops the reply being written', async () => {
    const m = await settled(page, 3);
    expect((await m.getAttribute('data-state')) === 'stopped', await m.getAttribute('data-state'));
  });
  await check(`${MOD}+Shift+O starts a new chat`, async () => {
    expect(/^#c=/.test(await page.evaluate(() => location.hash)), 'no conversation open');
    await page.keyboard.press(`${MOD}+Shift+O`);
    await page.waitForFunction(() => location.hash === '' && !document.querySelector('article.msg[data-role]'), null, { timeout: 5000 });
    expect((await active()) === 'prompt', await active());
  });
  await check('no script errors on the page', () =>
    page.errors.length === 0 || Promise.reject(new Error(page.errors.join(' | '))));

  // ---- the network gone (playwright), then back: the offline screen, then the chat ----
  await context.setOffline(true);
  await page.reload();
  await check('offline, a reload shows the offline screen (the page from the cache)', () =>
    page.locator('#offline-view').waitFor({ state: 'visible', timeout: 10000 }));
  await context.setOffline(false);
  await check('back online, it tries again by itself and shows the chat', async () => {
    await page.locator('#chat-view').waitFor({ state: 'visible', timeout: 40000 });
    await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
    expect(await page.locator('#offline-view').isHidden(), 'the offline screen stays');
  });

  // ---- the server down: the offline screen (this ends the stack) ----
  const pid = Number(readFileSync(`${stateDir}/lighttpd.pid`, 'utf8'));
  process.kill(pid, 'SIGTERM');
  await check('with lighttpd stopped the server is unreachable', async () => {
    for (let i = 0; i < 50; i++) {
      try { await fetch(`${base}/health`); } catch { return; }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('it still answers');
  });
  await page.reload();
  await check('a reload with the server down shows the offline screen (the page from the cache)', async () => {
    await page.locator('#offline-view').waitFor({ state: 'visible', timeout: 10000 });
    expect(!(await page.locator('#login-view').isVisible()) && !(await page.locator('#chat-view').isVisible()), 'another view shown');
    expect(/server cannot be reached/i.test(await page.locator('#offline-view').innerText()), 'text');
  });
  await check('it says when it tries again, and tries again', async () => {
    await page.waitForFunction(() => /Trying again in \d+ s/.test(document.getElementById('offline-status').textContent), null, { timeout: 5000 });
    await page.evaluate(() => {
      window.__seen = [];
      new MutationObserver(() => window.__seen.push(document.getElementById('offline-status').textContent))
        .observe(document.getElementById('offline-status'), { childList: true, characterData: true, subtree: true });
    });
    await page.waitForFunction(() => window.__seen.includes('Trying…'), null, { timeout: 15000 });
    await page.waitForFunction(() => /Trying again in/.test(window.__seen.at(-1)), null, { timeout: 10000 });
  });
  await check('"Try again now" tries at once', async () => {
    await page.evaluate(() => { window.__seen = []; });
    await page.click('#offline-retry');
    await page.waitForFunction(() => window.__seen.includes('Trying…'), null, { timeout: 5000 });
    await page.waitForFunction(() => /Trying again in/.test(window.__seen.at(-1)), null, { timeout: 10000 });
  });
  await shots('offline', () => page.waitForFunction(() => /Trying again in/.test(document.getElementById('offline-status').textContent), null, { timeout: 10000 }));
  await check('no script errors while offline', () => {
    const bad = page.errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(e));
    return bad.length === 0 || Promise.reject(new Error(bad.join(' | ')));
  });
} catch (e) {
  notOk('app test ran to the end', e.stack);
}
await browser.close();
process.exit(exitCode());
