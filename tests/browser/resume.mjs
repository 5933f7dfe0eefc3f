// resume.mjs - replies that outlive the page: a reload mid-reply shows the text so far
// and then the live rest (each text shown is a prefix of the reply: no word lost or
// repeated), a second tab sees the stream live, can stop it and follows a regenerate
// and an edit made in the first, a stopped reply stays
// stopped after a reload, and a worker killed mid-reply (SIGKILL by PID; run.sh starts
// it again) leaves a reply marked interrupted that Regenerate completes: the page hears
// it at once (lightchat-ws sends the worker_unavailable frame the worker left for it)
// and its Regenerate works on the spot, as after a reload.
// Needs UPSTREAM_URL and STATE_DIR; it kills the worker, so run it after the others.
import { readFileSync } from 'node:fs';
import {
  artifacts, stateDir, check, expect, notOk, exitCode, launch, newPage, login, replies, settled, words,
  hashId, recordTexts, expectGrowth, sleep, apiGet,
} from './lib.mjs';

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await newPage(context);
const workerPid = () => Number(readFileSync(`${stateDir}/worker.pid`, 'utf8').trim());
const body = (p, i) => replies(p).nth(i).locator('.msg-body');
const hasWord = (p, i, w) => p.waitForFunction(([n, word]) => new RegExp(`\\b${word}\\b`)
  .test(document.querySelectorAll('article.msg[data-role]')[n]?.textContent || ''), [i, w], { timeout: 10000 });
async function prompt(p, text) {
  await p.fill('#prompt', text);
  await p.press('#prompt', 'Enter');
}
async function opened(p) {
  await p.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
}

try {
  await login(page);

  // ---- reload mid-reply ------------------------------------------------------------
  await check('reload mid-reply: the text so far, then the live rest, nothing lost or repeated', async () => {
    await prompt(page, '#words:80 #slow:6');
    await hasWord(page, 1, 'w20');   // after the worker's first save (every second)
    const { body: stored } = await apiGet(page, `/api/conversations/${await hashId(page)}`);
    const saved = stored.messages[1];
    expect(saved.state === 'streaming' && saved.content.startsWith('w1 w2 '), saved);
    await page.reload();
    await opened(page);
    await page.waitForSelector('article.msg[data-role="assistant"][data-state="streaming"]', { timeout: 5000 });
    await recordTexts(page, 1);
    const first = (await body(page, 1).innerText()).trim();
    expect(first.startsWith('w1 w2 w3 w4 w5'), first);
    const reply = await settled(page, 1, 20000);
    expect(await reply.getAttribute('data-state') === 'done', await reply.getAttribute('data-state'));
    expect((await body(page, 1).innerText()).trim() === words(80), await body(page, 1).innerText());
    const seen = await expectGrowth(page, words(80));
    expect(seen > 10, `only ${seen} texts seen: was it live?`);
  });

  // ---- two tabs ----------------------------------------------------------------------
  const id = await hashId(page);
  const page2 = await newPage(context);
  await check('a second tab on the same conversation sees a new prompt and its reply live', async () => {
    await page2.goto(page.url());
    await opened(page2);
    await page2.waitForFunction(() => document.querySelectorAll('article.msg[data-role]').length === 2);
    await recordTexts(page2, 3);
    await prompt(page, '#words:30 #slow:3');
    await page2.waitForFunction(() => document.querySelectorAll('article.msg[data-role]')[2]?.textContent.includes('#words:30 #slow:3'),
      null, { timeout: 5000 });
    await page2.waitForSelector('article.msg[data-role="assistant"][data-state="streaming"]', { timeout: 5000 });
    expect(await page2.locator('#stop').isVisible(), 'the second tab offers no Stop');
    await settled(page2, 3, 15000);
    expect((await body(page2, 3).innerText()).trim() === words(30), await body(page2, 3).innerText());
    await expectGrowth(page2, words(30));
    const states = await page2.evaluate(() => window.__texts.map((t) => t.state));
    expect(states.filter((s) => s === 'streaming').length > 5, states);
    await settled(page, 3);
    expect((await body(page, 3).innerText()).trim() === words(30), await body(page, 3).innerText());
  });
  await check('the second tab stops the reply the first asked for; both show it stopped', async () => {
    await prompt(page, '#words:200 #slow:8');
    await hasWord(page2, 5, 'w4');
    await page2.click('#stop');
    const [a, b] = [await settled(page, 5, 10000), await settled(page2, 5, 10000)];
    expect(await a.getAttribute('data-state') === 'stopped' && await b.getAttribute('data-state') === 'stopped',
      [await a.getAttribute('data-state'), await b.getAttribute('data-state')]);
    const [ta, tb] = [(await body(page, 5).innerText()).trim(), (await body(page2, 5).innerText()).trim()];
    expect(ta === tb && words(200).startsWith(ta + ' '), [ta, tb]);
  });
  await check('the second tab follows a regenerate and an edit made in the first', async () => {
    await prompt(page, 'short one');
    await settled(page, 7);
    await page2.waitForFunction(() => document.querySelectorAll('article.msg[data-role]')[7]?.dataset.state === 'done');
    await replies(page).nth(7).locator('button.act[data-action="regenerate"]').click();
    const msgid = await replies(page).nth(7).getAttribute('data-msgid');
    await page2.waitForSelector(`article.msg[data-msgid="${msgid}"][data-state="done"]`, { timeout: 5000 });
    expect(await replies(page2).count() === 8, await replies(page2).count());
    await replies(page).nth(6).locator('button.act[data-action="edit"]').click();
    await page.fill('#prompt', 'edited in tab one');
    await page.press('#prompt', 'Enter');
    await page2.waitForFunction(() => {
      const m = document.querySelectorAll('article.msg[data-role]');
      return m.length === 8 && m[6].textContent.includes('edited in tab one') &&
        m[7].dataset.state === 'done' && m[7].textContent.includes('You said: edited in tab one');
    }, null, { timeout: 10000 });
    expect(!(await page2.locator('#messages').innerText()).includes('short one'), 'the old prompt is still shown');
  });
  await page2.close();

  // ---- stop, then reload ---------------------------------------------------------------
  await check('a stopped reply is still marked stopped after a reload (the stored state)', async () => {
    await prompt(page, '#words:200 #slow:8');
    await hasWord(page, 9, 'w5');
    await page.click('#stop');
    await page.waitForSelector('article.msg:nth-of-type(10)[data-state="stopped"]', { timeout: 8000 });
    const text = (await body(page, 9).innerText()).trim();
    await page.reload();
    await opened(page);
    await page.waitForFunction(() => document.querySelectorAll('article.msg[data-role]').length === 10);
    const m = replies(page).nth(9);
    expect(await m.getAttribute('data-state') === 'stopped', await m.getAttribute('data-state'));
    expect(/Stopped/.test(await m.locator('.msg-foot').innerText()), 'no "Stopped" note');
    expect((await body(page, 9).innerText()).trim() === text, [text, await body(page, 9).innerText()]);
    expect(await hashId(page) === id, await hashId(page));
  });

  // ---- the worker is killed mid-reply -------------------------------------------------
  await check('worker killed mid-reply: the open page marks the reply interrupted at once', async () => {
    await prompt(page, '#words:100 #slow:10');
    await hasWord(page, 11, 'w15');   // the worker saves a growing reply every second
    const old = workerPid();
    const t0 = Date.now();
    process.kill(old, 'SIGKILL');
    // Within 3 s (the page's own stall probe alone takes 8 s and more).
    await page.waitForSelector('article.msg:nth-of-type(12)[data-state="interrupted"]', { timeout: 3000 });
    const ms = Date.now() - t0;
    const m = replies(page).nth(11);
    expect(/Interrupted/.test(await m.locator('.msg-foot').innerText()), await m.locator('.msg-foot').innerText());
    expect(await m.locator('button.act[data-action="regenerate"]').isVisible(), 'no Regenerate');
    expect(!(await page.locator('#stop').isVisible()), 'Stop still shown');
    await page.screenshot({ path: `${artifacts}/worker-unavailable-live-1280.png` });
    console.log(`# marked interrupted ${ms} ms after the kill`);
    for (let i = 0; i < 100 && (() => { try { return workerPid() === old; } catch { return true; } })(); i++) await sleep(100);
  });
  await check('after a reload the reply is marked interrupted, with its text and a Regenerate offer', async () => {
    await page.reload();
    await opened(page);
    await page.waitForFunction(() => document.querySelectorAll('article.msg[data-role]').length === 12);
    const m = replies(page).nth(11);
    expect(await m.getAttribute('data-state') === 'interrupted', await m.getAttribute('data-state'));
    const text = (await body(page, 11).innerText()).trim();
    expect(/^w1 w2 w3\b/.test(text) && words(100).startsWith(text + ' '), text);
    expect(/Interrupted/.test(await m.locator('.msg-foot').innerText()), await m.locator('.msg-foot').innerText());
    expect(await m.locator('button.act[data-action="regenerate"]').isVisible(), 'no Regenerate');
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: `${artifacts}/interrupted-1280-${scheme}.png` });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });
  await check('Regenerate completes the interrupted reply', async () => {
    await replies(page).nth(11).locator('button.act[data-action="regenerate"]').click();
    await page.waitForSelector('article.msg:nth-of-type(12)[data-state="streaming"]', { timeout: 5000 });
    const m = await settled(page, 11, 20000);
    expect(await m.getAttribute('data-state') === 'done', await m.getAttribute('data-state'));
    expect((await body(page, 11).innerText()).trim() === words(100), await body(page, 11).innerText());
    expect(await replies(page).count() === 12, await replies(page).count());
  });

  await check('killed again mid-reply: Regenerate on the live page, without a reload, completes it', async () => {
    await prompt(page, '#words:60 #slow:6');
    await hasWord(page, 13, 'w10');
    process.kill(workerPid(), 'SIGKILL');
    await page.waitForSelector('article.msg:nth-of-type(14)[data-state="interrupted"]', { timeout: 3000 });
    // At once, while the worker may still be away: the session holds it until it is back.
    await replies(page).nth(13).locator('button.act[data-action="regenerate"]').click();
    const m = await settled(page, 13, 30000);
    expect(await m.getAttribute('data-state') === 'done', await m.getAttribute('data-state'));
    expect((await body(page, 13).innerText()).trim() === words(60), await body(page, 13).innerText());
    expect(await replies(page).count() === 14, await replies(page).count());
    const { body: stored } = await apiGet(page, `/api/conversations/${await hashId(page)}`);
    expect(stored.messages.at(-1).state === 'complete', stored.messages.at(-1));
  });

  await check('no script errors, no request to another host', () => {
    expect(page.errors.length === 0, page.errors.join(' | '));
    expect(page.remote.length === 0, page.remote.join(' '));
  });
} catch (e) {
  notOk('resume test ran to the end', e.message);
} finally {
  await browser.close();
}
process.exit(exitCode());
