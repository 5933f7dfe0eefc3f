// chat.mjs - login, streaming, Markdown, inert HTML, errors, the conversation read
// back from the server after a reload, screenshots of the chat and login views (light
// and dark, 1280 and 360 px wide). See lib.mjs.
import {
  base, user, password, artifacts, check, expect, notOk, exitCode, launch, newPage, send, words,
} from './lib.mjs';

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await newPage(context);

try {
  await page.goto(base + '/');
  // The page shows it once /api/me said 401: wait for it (a loaded CI
  // machine took longer than an immediate look allowed).
  await check('login view shown first', () =>
    page.locator('#login-view').waitFor({ state: 'visible', timeout: 15000 }).then(() => true));

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
    return text.trim() === words(40);
  });

  // Markdown with a highlighted code block.
  const md = await send(page, '#markdown');
  await check('Markdown renders as HTML (heading, table, list)', async () =>
    (await md.locator('.msg-body h1, .msg-body h2, .msg-body h3').count()) > 0 &&
    (await md.locator('.msg-body table').count()) > 0 &&
    (await md.locator('.msg-body li').count()) > 0);
  await check('the code block is highlighted and has a copy button', async () =>
    (await md.locator('pre code.hljs, pre code [class^="hljs-"]').count()) > 0 &&
    (await md.locator('button.copy').count()) > 0);

  // Model output can never run script: the fake echoes the prompt back.
  const evil = await send(page, '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> [x](javascript:window.__pwned=3)');
  await check('a reply with <script> and <img onerror> renders inert', async () => {
    const pwned = await page.evaluate(() => window.__pwned);
    const imgs = await evil.locator('img, script').count();
    const js = await evil.locator('a[href^="javascript"]').count();
    return pwned === undefined && imgs === 0 && js === 0;
  });

  // Errors are shown.
  const err = await send(page, '#status:429');
  await check('an upstream error is shown as an error message', async () =>
    (await err.getAttribute('data-role')) === 'error' &&
    (await err.getAttribute('data-code')) === 'upstream_rate_limited');

  await check('a reload brings the conversation back from the server, as it was', async () => {
    const before = await page.locator('#messages').innerText();
    await page.reload();
    await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
    await page.waitForFunction(() => document.querySelectorAll('article.msg[data-role]').length === 8);
    const md2 = page.locator('article.msg[data-role]').nth(3);
    expect((await md2.locator('.msg-body table').count()) > 0 && (await md2.locator('pre code.hljs').count()) > 0,
      'no Markdown after the reload');
    const err2 = page.locator('article.msg[data-role]').nth(7);
    expect(await err2.getAttribute('data-role') === 'error' && await err2.getAttribute('data-code') === 'upstream_rate_limited',
      await err2.getAttribute('data-code'));
    expect(await page.evaluate(() => window.__pwned) === undefined, 'script ran after the reload');
    const after = await page.locator('#messages').innerText();
    expect(after.split('\n').slice(0, 20).join('\n') === before.split('\n').slice(0, 20).join('\n'), after.slice(0, 300));
  });
  await check('no request to any other host', () => page.remote.length === 0 || Promise.reject(new Error(page.remote.join(' '))));

  // Screenshots: light and dark, laptop and phone, with the settings drawer open too.
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [w, h] of [[1280, 800], [360, 740]]) {
      await page.setViewportSize({ width: w, height: h });
      await page.focus('#prompt');
      await page.screenshot({ path: `${artifacts}/chat-${w}-${scheme}.png` });
      await page.click('#open-settings');
      await page.locator('#settings').waitFor({ state: 'visible' });
      await page.screenshot({ path: `${artifacts}/settings-${w}-${scheme}.png` });
      await page.keyboard.press('Escape');
      await page.locator('#settings').waitFor({ state: 'hidden' });
    }
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
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 360, height: 740 });
  await page.screenshot({ path: `${artifacts}/login-360-dark.png` });
  await check('no script errors on the page', () =>
    page.errors.length === 0 || Promise.reject(new Error(page.errors.join(' | '))));
} catch (e) {
  notOk('browser test ran to the end', e.message);
} finally {
  await browser.close();
}
process.exit(exitCode());
