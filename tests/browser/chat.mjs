// chat.mjs - the page in a real browser (Debian's chromium, driven by
// playwright-core) against a running stack and the fake upstream.
//   node tests/browser/chat.mjs BASE_URL USER PASSWORD ARTIFACT_DIR
// Prints TAP-style "ok"/"not ok" lines; screenshots go to ARTIFACT_DIR.
import { chromium } from 'playwright-core';

const [base, user, password, artifacts] = process.argv.slice(2);
let failed = 0;
const ok = (name) => console.log(`ok - ${name}`);
const notOk = (name, detail) => {
  failed++;
  console.log(`not ok - ${name}`);
  if (detail) console.log(`#   ${String(detail).slice(0, 300)}`);
};
async function check(name, fn) {
  try {
    const res = await fn();
    if (res === false) notOk(name); else ok(name);
  } catch (e) {
    notOk(name, e.message);
  }
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('console', (m) => {
  if (m.type() === 'error' && !/401|403/.test(m.text())) pageErrors.push(m.text());
});
const remoteRequests = [];
page.on('request', (r) => {
  if (!r.url().startsWith(base) && !r.url().startsWith(base.replace('http', 'ws'))) {
    remoteRequests.push(r.url());
  }
});

// Sends a prompt and waits for the assistant's message to finish.
async function send(text) {
  const before = await page.locator('article.msg[data-role]').count();
  await page.fill('#prompt', text);
  await page.press('#prompt', 'Enter');
  const last = page.locator('article.msg[data-role]').nth(before + 1);
  await last.waitFor({ timeout: 15000 });
  await page.waitForFunction((i) => {
    const m = document.querySelectorAll('article.msg[data-role]')[i];
    return m && m.dataset.state !== 'streaming';
  }, before + 1, { timeout: 30000 });
  return last;
}

try {
  await page.goto(base + '/');
  await check('login view shown first', () => page.locator('#login-view').isVisible());

  await page.fill('#username', user);
  await page.fill('#password', 'wrong-password');
  await page.click('#login-submit');
  await check('wrong password shows an error', async () => {
    await page.locator('#login-error').waitFor({ state: 'visible', timeout: 5000 });
    return /invalid/i.test(await page.locator('#login-error').innerText());
  });

  await page.fill('#password', password);
  await page.click('#login-submit');
  await check('login shows the chat view', async () => {
    await page.locator('#chat-view').waitFor({ state: 'visible', timeout: 5000 });
    return true;
  });
  await check('the user name is shown', async () =>
    (await page.locator('#user-name').innerText()).includes(user));
  await check('the connection opens', async () => {
    await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
  });
  await check('the model list comes from /api/models', async () => {
    const opts = await page.locator('#model option').allInnerTexts();
    return opts.join(',').includes('gpt-4o-mini') && opts.length === 3;
  });
  await check('the session cookie is HttpOnly, not readable by script', async () =>
    !(await page.evaluate(() => document.cookie)).includes('lightchat_session'));

  // A streamed reply: the message is seen growing before it is done.
  await page.fill('#prompt', '#words:40 #slow:2');
  await page.press('#prompt', 'Enter');
  await check('a reply streams in (seen while streaming)', async () => {
    await page.waitForSelector('article.msg[data-role="assistant"][data-state="streaming"]', { timeout: 10000 });
    await page.waitForFunction(() => {
      const m = document.querySelector('article.msg[data-role="assistant"][data-state="streaming"] .msg-body');
      return m && m.textContent.includes('w3');
    }, null, { timeout: 10000 });
  });
  await check('the streamed reply completes whole', async () => {
    await page.waitForSelector('article.msg[data-role="assistant"][data-state="done"]', { timeout: 20000 });
    const text = await page.locator('article.msg[data-role="assistant"] .msg-body').last().innerText();
    return text.trim() === Array.from({ length: 40 }, (_, i) => `w${i + 1}`).join(' ');
  });

  // Markdown with a highlighted code block.
  const md = await send('#markdown');
  await check('Markdown renders as HTML (heading, table, list)', async () =>
    (await md.locator('.msg-body h1, .msg-body h2, .msg-body h3').count()) > 0 &&
    (await md.locator('.msg-body table').count()) > 0 &&
    (await md.locator('.msg-body li').count()) > 0);
  await check('the code block is highlighted and has a copy button', async () =>
    (await md.locator('pre code.hljs, pre code [class^="hljs-"]').count()) > 0 &&
    (await md.locator('button.copy').count()) > 0);

  // Model output can never run script: the fake echoes the prompt back.
  const evil = await send('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> [x](javascript:window.__pwned=3)');
  await check('a reply with <script> and <img onerror> renders inert', async () => {
    const pwned = await page.evaluate(() => window.__pwned);
    const imgs = await evil.locator('img, script').count();
    const js = await evil.locator('a[href^="javascript"]').count();
    return pwned === undefined && imgs === 0 && js === 0;
  });

  // Errors are shown.
  const err = await send('#status:429');
  await check('an upstream error is shown as an error message', async () =>
    (await err.getAttribute('data-role')) === 'error' &&
    (await err.getAttribute('data-code')) === 'upstream_rate_limited');

  await check('no request to any other host', () => remoteRequests.length === 0 || Promise.reject(new Error(remoteRequests.join(' '))));

  // Screenshots: light and dark, laptop and phone.
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: `${artifacts}/chat-1280-${scheme}.png` });
    await page.setViewportSize({ width: 360, height: 740 });
    await page.screenshot({ path: `${artifacts}/chat-360-${scheme}.png` });
  }
  await check('no horizontal overflow at 360 px', () =>
    page.evaluate(() => document.documentElement.scrollWidth <= 360));

  // Logout returns to the login page.
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.click('#logout');
  await check('logout returns to the login view', async () => {
    await page.locator('#login-view').waitFor({ state: 'visible', timeout: 5000 });
  });
  await page.screenshot({ path: `${artifacts}/login-1280-light.png` });
  await check('no script errors on the page', () =>
    pageErrors.length === 0 || Promise.reject(new Error(pageErrors.join(' | '))));
} catch (e) {
  notOk('browser test ran to the end', e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
