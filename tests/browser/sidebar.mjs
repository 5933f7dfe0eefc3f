// sidebar.mjs - the conversation list: newest first with titles from the first
// prompt, opening one, the address (#c=ID) and reload, search, rename, export, delete,
// "Load more", the phone drawer, accessibility; screenshots of the sidebar (light and
// dark, 1280 and 360 px wide, and the drawer open at 360). Run it with a user of its
// own, so that the list holds only what it makes. See lib.mjs.
import { readFileSync } from 'node:fs';
import {
  artifacts, check, expect, notOk, exitCode, launch, newPage, login, replies, send, apiGet,
  hashId, titles, newConversation,
} from './lib.mjs';

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
const page = await newPage(context);
const item = (id) => page.locator(`#conv-list li[data-id="${id}"]`);
const current = () => page.locator('#conv-list .conv-link[aria-current="page"]');
const focusIn = (sel) => page.evaluate((s) => document.querySelector(s).contains(document.activeElement), sel);
// Opens a conversation's actions (unless open) and returns the one named `act`.
const menu = async (id, act) => {
  const button = item(id).locator('.conv-menu');
  if (await button.getAttribute('aria-expanded') !== 'true') await button.click();
  return item(id).locator(`[data-act="${act}"]`);
};

try {
  await login(page);
  const ids = {};
  await check('new chat: after the first reply the address names the new conversation', async () => {
    expect(await hashId(page) === '', await hashId(page));
    ids.alpha = await newConversation(page, 'Alpha: planning notes for the launch');
    expect(/^[0-9a-f]{32}$/.test(ids.alpha), ids.alpha);
    const { status, body } = await apiGet(page, `/api/conversations/${ids.alpha}`);
    expect(status === 200 && body.messages.length === 2, { status, body });
    expect(await current().getAttribute('href') === `#c=${ids.alpha}`, await current().getAttribute('href'));
  });
  ids.beta = await newConversation(page, 'Beta: grocery list\nmilk, eggs');
  ids.gamma = await newConversation(page, 'Gamma: travel ideas **bold**');
  ids.delta = await newConversation(page, 'Delta: reading list');

  await check('the list is newest first, titled by the first line of the first prompt', async () => {
    const got = await titles(page);
    const want = ['Delta: reading list', 'Gamma: travel ideas **bold**', 'Beta: grocery list',
      'Alpha: planning notes for the launch'];
    expect(JSON.stringify(got) === JSON.stringify(want), got);
    const { body } = await apiGet(page, '/api/conversations');
    expect(JSON.stringify(body.conversations.map((c) => c.title)) === JSON.stringify(want), body);
  });
  await check('the open conversation is marked aria-current, and only it', async () => {
    expect(await current().count() === 1, await current().count());
    expect(await current().innerText() === 'Delta: reading list', await current().innerText());
  });
  await check('clicking a conversation loads its messages', async () => {
    await item(ids.alpha).locator('.conv-link').click();
    // the open conversation has two messages too: wait for the clicked one's
    await page.waitForFunction(() => document.querySelectorAll('article.msg[data-role]').length === 2
      && document.querySelector('#messages').innerText.includes('You said: Alpha'), null, { timeout: 5000 })
      .catch(() => {});
    const text = await page.locator('#messages').innerText();
    expect(text.includes('Alpha: planning notes') && text.includes('You said: Alpha: planning notes'), text);
    expect(!text.includes('Delta'), text);
    expect(await hashId(page) === ids.alpha, await hashId(page));
    expect(await current().innerText() === 'Alpha: planning notes for the launch', await current().innerText());
  });
  await check('a new reply moves the conversation to the top', async () => {
    await send(page, 'one more thing about the launch');
    await page.waitForFunction((id) => document.querySelector('#conv-list li')?.dataset.id === id, ids.alpha,
      { timeout: 5000 });
    expect(await replies(page).count() === 4, await replies(page).count());
  });
  await check('reload reopens the conversation the address names', async () => {
    await page.reload();
    await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
    await page.waitForFunction(() => document.querySelectorAll('article.msg[data-role]').length === 4, null,
      { timeout: 5000 });
    expect(await hashId(page) === ids.alpha, await hashId(page));
    const text = await replies(page).nth(3).innerText();
    expect(text.includes('You said: one more thing about the launch'), text);
    await current().waitFor({ timeout: 5000 });
    expect(await current().getAttribute('href') === `#c=${ids.alpha}`, await current().getAttribute('href'));
  });
  await check('the back button returns to the conversation before', async () => {
    await item(ids.gamma).locator('.conv-link').click();
    await page.waitForFunction(() => /Gamma/.test(document.querySelector('#messages').textContent));
    await page.goBack();
    await page.waitForFunction(() => /one more thing/.test(document.querySelector('#messages').textContent));
    expect(await hashId(page) === ids.alpha, await hashId(page));
  });

  // ---- search ------------------------------------------------------------------
  await check('search filters the list by title', async () => {
    await page.fill('#conv-search', 'grocery');
    await page.waitForFunction(() => document.querySelectorAll('#conv-list li').length === 1, null, { timeout: 5000 });
    expect(JSON.stringify(await titles(page)) === '["Beta: grocery list"]', await titles(page));
  });
  await check('search finds message contents too, and says when nothing matches', async () => {
    await page.fill('#conv-search', 'MILK, EGGS');
    await page.waitForFunction(() => document.querySelector('#conv-list li')?.textContent.includes('Beta'));
    await page.fill('#conv-search', 'no such text anywhere');
    await page.locator('#conv-empty').waitFor({ state: 'visible', timeout: 5000 });
    expect(/No conversation matches/.test(await page.locator('#conv-empty').innerText()), 'no empty note');
  });
  await check('clearing the search shows every conversation again', async () => {
    await page.fill('#conv-search', '');
    await page.waitForFunction(() => document.querySelectorAll('#conv-list li').length === 4, null, { timeout: 5000 });
    expect(await page.locator('#conv-empty').isHidden(), 'the empty note stayed');
  });

  // ---- rename ------------------------------------------------------------------
  const renamed = 'Beta renamed: “quotes” & <tags> ✓';
  await check('rename: an inline field; Enter saves, the server has the new title', async () => {
    await (await menu(ids.beta, 'rename')).click();
    const input = item(ids.beta).locator('input.conv-rename');
    expect(await input.evaluate((e) => e === document.activeElement), 'the field has no focus');
    expect(await input.inputValue() === 'Beta: grocery list', await input.inputValue());
    await input.fill(renamed);
    await input.press('Enter');
    await page.waitForFunction(([id, t]) =>
      document.querySelector(`#conv-list li[data-id="${id}"] .conv-link`).textContent === t, [ids.beta, renamed]);
    for (let i = 0; i < 20 && (await apiGet(page, `/api/conversations/${ids.beta}`)).body.title !== renamed; i++) {
      await page.waitForTimeout(100);
    }
    const { body } = await apiGet(page, `/api/conversations/${ids.beta}`);
    expect(body.title === renamed, body.title);
    expect(await item(ids.beta).locator('.conv-link').evaluate((e) => e === document.activeElement), 'focus lost');
  });
  await check('rename: Escape cancels', async () => {
    await (await menu(ids.beta, 'rename')).click();
    await item(ids.beta).locator('input.conv-rename').fill('not this');
    await item(ids.beta).locator('input.conv-rename').press('Escape');
    expect(await item(ids.beta).locator('.conv-link').innerText() === renamed, await item(ids.beta).innerText());
    expect((await apiGet(page, `/api/conversations/${ids.beta}`)).body.title === renamed, 'renamed anyway');
  });

  // ---- export ------------------------------------------------------------------
  await check('export as Markdown downloads the conversation', async () => {
    const link = await menu(ids.beta, 'export-md');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 5000 }), link.click()]);
    const md = readFileSync(await download.path(), 'utf8');
    expect(download.suggestedFilename() === `conversation-${ids.beta}.md`, download.suggestedFilename());
    expect(md.startsWith(`# ${renamed}`), md.slice(0, 200));
    expect(md.includes('Beta: grocery list\nmilk, eggs') && md.includes('You said: Beta: grocery list'), md);
  });
  await check('export as JSON downloads the stored conversation', async () => {
    const link = await menu(ids.beta, 'export-json');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 5000 }), link.click()]);
    const json = JSON.parse(readFileSync(await download.path(), 'utf8'));
    expect(json.id === ids.beta && json.title === renamed && json.messages.length === 2, json);
    expect(json.messages[0].content === 'Beta: grocery list\nmilk, eggs', json.messages[0]);
  });

  // ---- delete ------------------------------------------------------------------
  await check('delete asks first; Cancel keeps the conversation', async () => {
    await (await menu(ids.delta, 'delete')).click();
    await page.locator('#confirm-delete').waitFor({ state: 'visible', timeout: 3000 });
    expect(/Delta: reading list/.test(await page.locator('#confirm-text').innerText()), 'no title in the question');
    await page.keyboard.press('Escape');
    await page.locator('#confirm-delete').waitFor({ state: 'hidden', timeout: 3000 });
    expect(await item(ids.delta).count() === 1, 'deleted anyway');
    expect((await apiGet(page, `/api/conversations/${ids.delta}`)).status === 200, 'deleted on the server');
  });
  await check('delete removes it from the list and the server (GET is 404)', async () => {
    await (await menu(ids.delta, 'delete')).click();
    await page.click('#confirm-delete-ok');
    await item(ids.delta).waitFor({ state: 'detached', timeout: 5000 });
    expect((await apiGet(page, `/api/conversations/${ids.delta}`)).status === 404, 'still on the server');
    expect(await hashId(page) === ids.alpha && await replies(page).count() === 4, 'the open conversation changed');
  });
  await check('deleting the open conversation goes to a new chat', async () => {
    await (await menu(ids.alpha, 'delete')).click();
    await page.click('#confirm-delete-ok');
    await item(ids.alpha).waitFor({ state: 'detached', timeout: 5000 });
    await page.waitForFunction(() => location.hash === '', null, { timeout: 5000 });
    expect(await replies(page).count() === 0, await replies(page).count());
    expect(await current().count() === 0, 'something is still aria-current');
    expect((await apiGet(page, `/api/conversations/${ids.alpha}`)).status === 404, 'still on the server');
  });
  await check('an address naming a conversation that is gone opens a new chat', async () => {
    await page.goto(`${page.url().split('#')[0]}#c=${ids.alpha}`);
    await page.waitForFunction(() => location.hash === '', null, { timeout: 5000 });
    expect(await page.locator('#chat-error').isVisible(), 'no notice');
    expect(await replies(page).count() === 0, await replies(page).count());
    // The browser logs the 404 that told the page so.
    page.errors = page.errors.filter((e) => !/status of 404/.test(e));
  });

  // ---- accessibility -------------------------------------------------------------
  await check('the sidebar is a labelled nav landmark; every button has a name', async () => {
    expect(await page.locator('nav#sidebar[aria-label="Conversations"]').count() === 1, 'no labelled nav');
    const nameless = await page.evaluate(() => [...document.querySelectorAll('#chat-view button')]
      .filter((b) => !(b.getAttribute('aria-label') || b.textContent).trim()).map((b) => b.outerHTML));
    expect(nameless.length === 0, nameless);
    expect(await item(ids.beta).locator('.conv-menu').getAttribute('aria-label') === `Actions for “${renamed}”`,
      await item(ids.beta).locator('.conv-menu').getAttribute('aria-label'));
  });

  // ---- more conversations, screenshots -------------------------------------------
  ids.epsilon = await newConversation(page, '#markdown');
  await newConversation(page, 'How do I write a Makefile for a small C project?');
  await newConversation(page, 'Explain WebSockets like I am five');
  await item(ids.epsilon).locator('.conv-link').click();
  await page.waitForFunction(() => document.querySelectorAll('article.msg[data-role]').length === 2);
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: `${artifacts}/sidebar-1280-${scheme}.png` });
    await page.setViewportSize({ width: 360, height: 740 });
    await page.screenshot({ path: `${artifacts}/sidebar-360-${scheme}.png` });
    await page.click('#sidebar-toggle');
    await page.locator('#sidebar').waitFor({ state: 'visible' });
    await page.waitForTimeout(300);   // the slide-in
    await page.screenshot({ path: `${artifacts}/sidebar-360-open-${scheme}.png` });
    await page.keyboard.press('Escape');
  }
  await page.emulateMedia({ colorScheme: 'light' });

  // ---- the phone drawer ------------------------------------------------------------
  await check('at 360 px the sidebar is collapsed behind a header button', async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    expect(await page.locator('#sidebar').isHidden(), 'the sidebar is visible');
    expect(await page.locator('#sidebar-toggle').isVisible(), 'no button');
    expect(await page.getAttribute('#sidebar-toggle', 'aria-expanded') === 'false', 'aria-expanded');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'horizontal overflow');
  });
  await check('the button opens it as a drawer and moves the focus into it', async () => {
    await page.click('#sidebar-toggle');
    await page.locator('#sidebar').waitFor({ state: 'visible', timeout: 3000 });
    expect(await page.getAttribute('#sidebar-toggle', 'aria-expanded') === 'true', 'aria-expanded');
    expect(await focusIn('#sidebar'), 'the focus is not in the drawer');
    expect(await page.evaluate(() => document.querySelector('#main-col').inert), 'the page behind is not inert');
  });
  await check('Escape closes the drawer and gives the focus back to its button', async () => {
    await page.keyboard.press('Escape');
    await page.locator('#sidebar').waitFor({ state: 'hidden', timeout: 3000 });
    expect(await page.evaluate(() => document.activeElement.id) === 'sidebar-toggle', 'focus not on the button');
    expect(await page.evaluate(() => !document.querySelector('#main-col').inert), 'the page stayed inert');
  });
  await check('choosing a conversation in the drawer opens it and closes the drawer', async () => {
    await page.click('#sidebar-toggle');
    await item(ids.gamma).locator('.conv-link').click();
    await page.locator('#sidebar').waitFor({ state: 'hidden', timeout: 3000 });
    await page.waitForFunction(() => /Gamma/.test(document.querySelector('#messages').textContent));
    expect(await hashId(page) === ids.gamma, await hashId(page));
  });
  await check('the header offers New chat on a phone', async () => {
    await page.click('#new-chat-top');
    await page.waitForFunction(() => location.hash === '' && !document.querySelector('article.msg'));
  });
  await page.setViewportSize({ width: 1280, height: 800 });
  await check('on a laptop the sidebar is a column, without the phone buttons', async () => {
    expect(await page.locator('#sidebar').isVisible(), 'the sidebar is hidden');
    expect(await page.locator('#sidebar-toggle').isHidden() && await page.locator('#new-chat-top').isHidden(), 'phone buttons');
    const box = await page.locator('#sidebar').boundingBox();
    expect(box.x === 0 && box.height === 800 && box.width > 200, box);
  });

  // ---- Load more -----------------------------------------------------------------
  await check('"Load more" pages through a long list with the server\'s cursor', async () => {
    // 30 more conversations straight over WebSockets (a few per connection, well
    // within the per-connection message budget).
    await page.evaluate(async () => {
      const one = (ws, i) => new Promise((resolve, reject) => {
        ws.onmessage = (ev) => {
          const f = JSON.parse(ev.data);
          if (f.type === 'reply') resolve();
          else if (f.type === 'error') reject(new Error(ev.data));
        };
        ws.send(JSON.stringify({ action: 'sendprompt', payload: { msgid: `fill-${i}`, prompt: `filler ${i}` } }));
      });
      for (let c = 0; c < 3; c++) {
        const ws = new WebSocket(`ws://${location.host}/ws`);
        await new Promise((r) => { ws.onopen = r; });
        for (let i = c * 10; i < c * 10 + 10; i++) await one(ws, i);
        ws.close();
      }
    });
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#conv-list li').length === 30, null, { timeout: 5000 })
      .catch(async () => { throw new Error(`${await page.locator('#conv-list li').count()} shown`); });
    expect(await page.locator('#conv-more').isVisible(), 'no "Load more"');
    expect((await titles(page))[0] === 'filler 29', (await titles(page))[0]);
    await page.focus('#conv-more');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#conv-list li').length === 35, null, { timeout: 5000 });
    expect(await page.locator('#conv-more').isHidden(), '"Load more" after the last page');
    const last = (await titles(page)).at(-1);
    expect(last === renamed || last === 'Gamma: travel ideas **bold**', last);
    expect(await focusIn('#conv-list'), 'the focus left the list');
  });

  await check('no script errors, no request to another host', () => {
    expect(page.errors.length === 0, page.errors.join(' | '));
    expect(page.remote.length === 0, page.remote.join(' '));
  });
} catch (e) {
  notOk('sidebar test ran to the end', e.message);
} finally {
  await browser.close();
}
process.exit(exitCode());
