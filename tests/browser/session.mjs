// session.mjs - "remember me" cookies, reconnecting after websocketd or the worker
// restarts (killed by PID; scripts/run.sh starts them again), a reply that goes on
// while the connection is down, and an expired session (logging in again reopens the
// conversation; logging out forgets it).
// Needs UPSTREAM_URL and STATE_DIR; run it last, as it kills parts of the stack.
import { readFileSync, statSync } from 'node:fs';
import {
  base, password, artifacts, stateDir, check, expect, notOk, exitCode, launch, newPage, login, replies, settled, send,
  words, recordTexts, expectGrowth,
} from './lib.mjs';

const browser = await launch();
const pidOf = (name) => Number(readFileSync(`${stateDir}/${name}.pid`, 'utf8').trim());
const SESSION = 'lightchat_session';

// Kills a supervised process and waits until run.sh has written a new PID.
async function restart(name) {
  const old = pidOf(name);
  process.kill(old, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try { if (pidOf(name) !== old) return; } catch { /* being rewritten */ }
  }
  throw new Error(`${name} was not restarted`);
}

// Records every #status state the page goes through, from now on.
const recordStates = (page) => page.evaluate(() => {
  window.__states = [];
  new MutationObserver(() => window.__states.push(document.querySelector('#status').dataset.state))
    .observe(document.querySelector('#status'), { attributes: true, attributeFilter: ['data-state'] });
});
const states = (page) => page.evaluate(() => window.__states);

try {
  // ---- remember me -------------------------------------------------------------
  {
    const context = await browser.newContext();
    const page = await newPage(context);
    await check('login without "remember me" gives a session cookie', async () => {
      await login(page, { remember: false });
      const c = (await context.cookies(base)).find((x) => x.name === SESSION);
      expect(c && c.expires === -1 && c.httpOnly && c.sameSite === 'Strict', c);
    });
    await page.click('#logout');
    await page.locator('#login-view').waitFor({ state: 'visible' });
    await check('logout removes the cookie', async () =>
      expect(!(await context.cookies(base)).some((x) => x.name === SESSION && x.value), await context.cookies(base)));
    await check('login with "remember me" gives a cookie that outlives the browser', async () => {
      await login(page, { remember: true });
      const c = (await context.cookies(base)).find((x) => x.name === SESSION);
      expect(c && c.expires > Date.now() / 1000 + 3600, c);
    });
    await check('the password is kept nowhere in the page\'s storage', async () => {
      const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
      expect(!stored.includes(password) && !stored.includes('eyJ'), stored);
    });
    await context.close();
  }

  // ---- the user's sessions, and "log out everywhere else" ------------------------
  {
    const here = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const there = await browser.newContext();
    const page = await newPage(here);
    const other = await newPage(there);
    await login(other);
    await login(page);
    await check('the settings drawer lists the sessions, this browser marked', async () => {
      await page.click('#open-settings');
      await page.locator('#sessions-list li').nth(1).waitFor({ timeout: 5000 });
      const rows = await page.locator('#sessions-list li').count();
      const mine = await page.locator('#sessions-list li .badge').count();
      const ends = await page.locator('#sessions-list li button[data-id]').count();
      expect(rows >= 2 && mine === 1 && ends === rows - 1, { rows, mine, ends });
      await page.locator("#sessions-others").scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${artifacts}/sessions-drawer.png` });
    });
    await check('"Log out everywhere else" ends the other browser\'s session, not this one', async () => {
      await page.click('#sessions-others');
      await page.waitForFunction(() => document.querySelectorAll('#sessions-list li').length === 1, null,
        { timeout: 5000 });
      await other.locator('#login-view').waitFor({ state: 'visible', timeout: 10000 });
      const gone = await there.request.get(`${base}/api/me`);
      const kept = await here.request.get(`${base}/api/me`);
      expect(gone.status() === 401 && kept.status() === 200, [gone.status(), kept.status()]);
      expect(await page.locator('#sessions-others').isDisabled(), 'the button stays enabled');
    });
    await page.click('#settings-close');
    await here.close();
    await there.close();
  }

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await newPage(context);
  await login(page);

  // ---- reconnect ---------------------------------------------------------------
  await check('websocketd restarts: the page reconnects and a prompt works', async () => {
    await recordStates(page);
    await restart('websocketd');
    await page.waitForFunction(() => window.__states.includes('reconnecting'), null, { timeout: 10000 });
    await page.waitForSelector('#status[data-state="open"]', { timeout: 15000 });
    expect(await page.locator('#status').innerText() === 'Connected', await page.locator('#status').innerText());
    const reply = await send(page, 'after the websocketd restart');
    expect((await reply.innerText()).includes('You said: after the websocketd restart'), await reply.innerText());
  });

  await check('the connection drops mid-reply: after the reconnect the page catches up, nothing lost or repeated', async () => {
    await page.fill('#prompt', '#words:60 #slow:5');
    await page.press('#prompt', 'Enter');
    await page.waitForFunction(() => /\bw15\b/.test(document.querySelectorAll('article.msg[data-role]')[3]?.textContent || ''),
      null, { timeout: 10000 });
    await recordTexts(page, 3);
    await recordStates(page);
    await restart('websocketd');
    await page.waitForFunction(() => window.__states.includes('reconnecting'), null, { timeout: 10000 });
    const reply = await settled(page, 3, 20000);
    expect(await reply.getAttribute('data-state') === 'done', await reply.getAttribute('data-state'));
    expect((await reply.locator('.msg-body').innerText()).trim() === words(60), await reply.innerText());
    await expectGrowth(page, words(60));
    // The reply went on while the page was away: no new request upstream.
    expect(await replies(page).count() === 4, await replies(page).count());
  });
  // A stopping worker finishes its replies for up to drain_timeout (lib.sh: 2 s), marks
  // the rest interrupted, and run.sh starts the next one. (A killed one: resume.mjs.)
  await check('the worker restarts mid-reply: a reply that ends within the drain finishes whole', async () => {
    await page.fill('#prompt', '#words:10 #slow:1');
    await page.press('#prompt', 'Enter');
    await page.waitForFunction(() => /\bw2\b/.test(document.querySelectorAll('article.msg[data-role]')[5]?.textContent || ''),
      null, { timeout: 10000 });
    await recordTexts(page, 5);
    await restart('worker');
    const reply = await settled(page, 5, 15000);
    expect(await reply.getAttribute('data-state') === 'done', await reply.getAttribute('data-state'));
    expect((await reply.locator('.msg-body').innerText()).trim() === words(10), await reply.innerText());
    await expectGrowth(page, words(10));
  });
  await check('the worker restarts mid-reply: one longer than the drain is marked interrupted, Regenerate works', async () => {
    await page.fill('#prompt', '#words:60 #slow:6');
    await page.press('#prompt', 'Enter');
    await page.waitForFunction(() => /\bw3\b/.test(document.querySelectorAll('article.msg[data-role]')[7]?.textContent || ''),
      null, { timeout: 10000 });
    await restart('worker');
    const failed = await settled(page, 7, 15000);
    expect(await failed.getAttribute('data-state') === 'interrupted', await failed.getAttribute('data-state'));
    const text = (await failed.locator('.msg-body').innerText()).trim();
    expect(/^w1 w2 w3\b/.test(text) && words(60).startsWith(text + ' '), text);
    expect(/Interrupted/.test(await failed.locator('.msg-foot').innerText()), 'no "Interrupted" note');
    await page.waitForSelector('#status[data-state="open"]', { timeout: 15000 });
    await failed.locator('button.act[data-action="regenerate"]').click();
    const again = await settled(page, 7, 20000);
    expect(await again.getAttribute('data-state') === 'done', await again.getAttribute('data-state'));
    expect((await again.locator('.msg-body').innerText()).trim() === words(60), await again.innerText());
  });
  await check('after the worker restart a new prompt works', async () => {
    const reply = await send(page, 'after the worker restart');
    expect((await reply.innerText()).includes('You said: after the worker restart'), await reply.innerText());
    expect(await page.locator('#status').getAttribute('data-state') === 'open', await states(page));
  });

  // ---- expired session -----------------------------------------------------------
  let shown = 0;   // messages of the conversation before the session goes
  await check('a session that is gone returns to the login view with a message', async () => {
    shown = await replies(page).count();
    await context.clearCookies();
    await restart('websocketd');
    await page.locator('#login-view').waitFor({ state: 'visible', timeout: 15000 });
    const msg = await page.locator('#login-error').innerText();
    expect(/session has expired/i.test(msg), msg);
    expect(await page.locator('#chat-view').isHidden(), 'the chat view is still shown');
    expect(await page.evaluate(() => document.activeElement.id) === 'password', 'focus is not on the password');
    await page.screenshot({ path: `${artifacts}/login-expired-1280-light.png` });
  });
  await check('logging in again clears the message, reconnects and reopens the conversation', async () => {
    const before = await replies(page).count();   // hidden, still in the page until the login
    await page.fill('#password', password);
    await page.click('#login-submit');
    await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
    expect(await page.locator('#login-error').isHidden(), 'the message stayed');
    await page.waitForFunction((n) => document.querySelectorAll('article.msg[data-role]').length === n, shown, { timeout: 5000 })
      .catch(() => {});
    const n = await replies(page).count();
    expect(shown > 0 && before === 0 && n === shown, `${shown} shown, ${before} before the login, ${n} after`);
  });
  await check('logging out forgets the conversation: the next login starts a new chat', async () => {
    await page.click('#logout');
    await page.locator('#login-view').waitFor({ state: 'visible' });
    expect(await replies(page).count() === 0 && await page.locator('#conv-list li').count() === 0,
      'messages or the list left in the page');
    expect(await page.evaluate(() => location.hash) === '', await page.evaluate(() => location.hash));
    await login(page);
    expect(await replies(page).count() === 0, await replies(page).count());
  });
  // ---- the chat service restarting ------------------------------------------------
  // websocketd killed twice in a row, once it has run long enough for run.sh's back-off
  // to start again at 0.5 s (10 s: the PID file's age), is down for 1 s: the page's
  // upgrades are refused meanwhile, its session is valid, so it says the chat service is
  // restarting, and the banner goes once the page has reconnected.
  await check('websocketd down and restarting: the page shows a banner, then reconnects', async () => {
    const age = Date.now() - statSync(`${stateDir}/websocketd.pid`).mtimeMs;
    if (age < 11000) await new Promise((r) => setTimeout(r, 11000 - age));
    await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
    await restart('websocketd');
    process.kill(pidOf('websocketd'), 'SIGTERM');
    await page.locator('#backend-banner').waitFor({ state: 'visible', timeout: 5000 });
    const text = await page.locator('#backend-banner').innerText();
    expect(/chat service restarting, reconnecting/i.test(text), text);
    await page.screenshot({ path: `${artifacts}/backend-restarting-1280-light.png` });
    await page.waitForSelector('#status[data-state="open"]', { timeout: 20000 });
    expect(await page.locator('#backend-banner').isHidden(), 'the banner stayed after the reconnect');
    const reply = await send(page, 'after the chat service came back');
    expect((await reply.innerText()).includes('You said: after the chat service came back'), await reply.innerText());
  });
  await check('no script errors on the page', () => expect(page.errors.length === 0, page.errors.join(' | ')));
} catch (e) {
  notOk('session test ran to the end', e.message);
} finally {
  await browser.close();
}
process.exit(exitCode());
