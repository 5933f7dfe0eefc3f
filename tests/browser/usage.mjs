// usage.mjs - what a user sees of their budget (issue 16), on a stack of its own with
// a monthly budget of 250 tokens for everyone and a price for gpt-4o-mini: the
// settings drawer's Usage block shows this month's tokens and cost (equal to
// /api/usage's and the ledger's) and what is left of the limit; past 80 % a warning
// appears above the chat, and once dismissed stays away after a reload; at the limit
// a prompt is refused with the budget's message and its reset time in the reader's
// locale, the prompt stays in the composer. Screenshots wide and on a phone.
import { execFileSync } from 'node:child_process';
import {
  artifacts, stateDir, check, expect, notOk, exitCode, launch, newPage, login, replies, send,
  apiGet, newConversation,
} from './lib.mjs';

// The ledger's sum, read beside the stack.
const ledger = (sql) => execFileSync('python3', ['-c',
  'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])',
  `${stateDir}/lightchat.db`, sql]).toString().trim();

const browser = await launch();
const wide = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await newPage(wide);

async function drawer(p) {
  await p.click('#open-settings');
  await p.locator('#usage-body .usage-line').first().waitFor({ timeout: 5000 });
}
const closeDrawer = (p) => p.click('#settings-close');

try {
  await login(page);
  await drawer(page);
  await check('before any reply: 0 tokens, the whole month left', async () => {
    const text = await page.locator('#usage-body').innerText();
    expect(/This month: 0 tokens/.test(text) && /250 tokens left of 250 tokens/.test(text), text);
  });
  await closeDrawer(page);

  await send(page, '#words:40 one');
  await page.waitForTimeout(600);          // the page reads the usage after a reply
  await drawer(page);
  const u1 = (await apiGet(page, '/api/usage')).body;
  await check('after a reply the drawer shows /api/usage\'s tokens and cost', async () => {
    const text = await page.locator('#usage-body').innerText();
    const tokens = u1.month.tokens.toLocaleString('en-US');
    expect(u1.month.tokens > 40 && text.includes(`This month: ${tokens} tokens`) && / USD/.test(text), `${text} | ${JSON.stringify(u1)}`);
  });
  await check('... which are the ledger\'s', async () => {
    expect(String(u1.month.tokens) === ledger("SELECT sum(prompt_tokens + completion_tokens) FROM usage WHERE user = 'alice'"),
      JSON.stringify(u1.month));
    expect(String(Math.round(u1.month.cost * 1e6)) === ledger("SELECT sum(cost_micros) FROM usage WHERE user = 'alice'"),
      JSON.stringify(u1.month));
  });
  await check('the limit\'s bar shows what is used', async () => {
    const v = await page.locator('.usage-limit[data-period="month"] meter').evaluate((m) => [m.value, m.max]);
    expect(v[0] === u1.month.tokens && v[1] === 250, JSON.stringify(v));
  });
  await check('no warning below 80 %', async () => expect(await page.locator('#usage-banner').isHidden(), 'visible'));
  await page.locator('section.usage').evaluate((e) => e.scrollIntoView({ block: 'center' }));
  await page.screenshot({ path: `${artifacts}/usage-drawer.png` });
  await closeDrawer(page);

  // Each in a new conversation: no history in its prompt.
  await newConversation(page, '#words:160 two');
  await check('past 80 % the warning appears', async () => {
    await page.locator('#usage-banner').waitFor({ state: 'visible', timeout: 5000 });
    const text = await page.locator('#usage-banner .usage-text').innerText();
    const u = (await apiGet(page, '/api/usage')).body;
    expect(u.percent >= 80 && text === `You have used ${u.percent} % of your monthly token budget.`, `${text} | ${u.percent}`);
  });
  await page.screenshot({ path: `${artifacts}/usage-warning.png` });
  await page.click('#usage-banner button');
  await check('dismissed, it goes', async () => expect(await page.locator('#usage-banner').isHidden(), 'visible'));
  await page.reload();
  await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
  await page.waitForTimeout(600);
  await check('... and stays away after a reload (the same crossing)', async () =>
    expect(await page.locator('#usage-banner').isHidden(), 'visible'));

  // Admitted under the limit, this reply passes it (the overshoot rule); the next is refused.
  await newConversation(page, '#words:60 three');
  const before = await replies(page).count();
  await page.fill('#prompt', 'over the budget');
  await page.press('#prompt', 'Enter');
  await check('at the limit the refusal says which budget, how much, and when it resets', async () => {
    await page.locator('#chat-error').waitFor({ state: 'visible', timeout: 5000 });
    const text = await page.locator('#chat-error').innerText();
    const u = (await apiGet(page, '/api/usage')).body;
    const reset = new Date(u.month.resets_at).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
    expect(text === `Your monthly budget is used up (${u.month.tokens.toLocaleString()} of 250 tokens). It resets ${reset}.`,
      `${text} | ${reset}`);
  });
  await check('the prompt is back in the composer, nothing added to the conversation', async () => {
    expect(await page.inputValue('#prompt') === 'over the budget', await page.inputValue('#prompt'));
    expect(await replies(page).count() === before, await replies(page).count());
  });
  await check('the warning says the budget is used up', async () => {
    await page.locator('#usage-banner').waitFor({ state: 'visible', timeout: 5000 });
    expect(/^You have used all of your monthly token budget; it resets /.test(
      await page.locator('#usage-banner .usage-text').innerText()), 'text');
  });
  await page.screenshot({ path: `${artifacts}/usage-exceeded.png` });

  // A phone: the drawer and the refusal fit.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const small = await newPage(phone);
  await login(small);
  await drawer(small);
  await check('on a phone the Usage block fits the drawer', async () => {
    // The limits come after the first line (a second answer): wait for
    // them, or a loaded machine measures nothing (boundingBox null).
    const meter = small.locator('.usage-limit meter').first();
    await meter.waitFor({ state: 'visible', timeout: 5000 });
    const box = await meter.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
  });
  await small.locator('section.usage').evaluate((e) => e.scrollIntoView({ block: 'center' }));
  await small.screenshot({ path: `${artifacts}/usage-phone-drawer.png` });
  await check('no script errors, no request to another host', () => {
    for (const p of [page, small]) {
      expect(p.errors.length === 0, p.errors.join(' | '));
      expect(p.remote.length === 0, p.remote.join(' '));
    }
  });
} catch (e) {
  notOk('usage test ran to the end', e.message);
} finally {
  await browser.close();
}
process.exit(exitCode());
