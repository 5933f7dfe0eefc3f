// versions.mjs - versions instead of replacement, as a person uses them: regenerate
// twice (the reply shows "‹ 3 / 3 ›"), flip back to the first version, continue
// from it (the fake upstream receives version 1's text), edit the first prompt (a new
// branch: "2 / 2" on the prompt), reload: the tree is intact and the controls show
// the right counts. Screenshots light and dark, 1280 and 390 px wide. See lib.mjs.
import {
  upstream, artifacts, check, expect, notOk, exitCode, launch, newPage, login, replies, settled,
  send, getJSON, apiGet, hashId,
} from './lib.mjs';

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await newPage(context);
const lastBody = async () => (await getJSON(`${upstream}/_requests`)).at(-1);
const Q = '#version Tell me a story';
const said = (n, q = Q) => `Version ${n}: You said: ${q}`;
const count = (i) => replies(page).nth(i).locator('.versions-count');
// Waits until message i shows the control with `text` ("2 / 3") and no reply streams.
const shows = (i, text) => page.waitForFunction(([n, t]) => {
  const list = document.querySelector('#messages');
  const m = document.querySelectorAll('article.msg[data-role]')[n];
  const c = m && m.querySelector('.versions-count');
  return list.getAttribute('aria-busy') === 'false' && c && c.textContent === t;
}, [i, text], { timeout: 15000 });
const body = async (i) => (await replies(page).nth(i).locator('.msg-body').innerText()).trim();

try {
  await login(page);
  await send(page, Q);
  const id = await hashId(page);

  await check('regenerate twice: the reply shows 3 / 3, the newest version', async () => {
    expect(await body(1) === said(1), await body(1));
    expect(await count(1).count() === 0, 'a control on a reply without versions');
    await replies(page).nth(1).locator('button.act[data-action="regenerate"]').click();
    await shows(1, '2 / 2');
    expect(await body(1) === said(2), await body(1));
    await replies(page).nth(1).locator('button.act[data-action="regenerate"]').click();
    await shows(1, '3 / 3');
    expect(await body(1) === said(3), await body(1));
    expect(await replies(page).count() === 2, await replies(page).count());
    expect(await replies(page).nth(1).locator('button.ver[aria-label="Next version"]').isDisabled(),
      'Next is enabled on the newest version');
  });
  await check('‹ flips back to version 1', async () => {
    await replies(page).nth(1).locator('button.ver[aria-label="Previous version"]').click();
    await shows(1, '2 / 3');
    expect(await body(1) === said(2), await body(1));
    await replies(page).nth(1).locator('button.ver[aria-label="Previous version"]').click();
    await shows(1, '1 / 3');
    expect(await body(1) === said(1), await body(1));
    expect(await replies(page).nth(1).locator('button.ver[aria-label="Previous version"]').isDisabled(),
      'Previous is enabled on the first version');
  });
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [w, h] of [[1280, 800], [390, 844]]) {
      await page.setViewportSize({ width: w, height: h });
      await page.screenshot({ path: `${artifacts}/versions-${w}-${scheme}.png` });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 800 });

  await check('the conversation continues from version 1', async () => {
    await send(page, 'And then?');
    const sent = (await lastBody()).messages.map((m) => m.content);
    expect(JSON.stringify(sent) === JSON.stringify([Q, said(1), 'And then?']), sent);
    expect(await replies(page).count() === 4, await replies(page).count());
  });
  await check('Edit on the first prompt starts a new branch', async () => {
    const edit = replies(page).nth(0).locator('button.act[data-action="edit"]');
    expect(await edit.isVisible(), 'no Edit on the first prompt');
    await edit.click();
    expect(await page.inputValue('#prompt') === Q, await page.inputValue('#prompt'));
    await page.fill('#prompt', '#version Another story');
    await page.press('#prompt', 'Enter');
    await shows(0, '2 / 2');
    await settled(page, 1);
    expect(await replies(page).count() === 2, await replies(page).count());
    expect(await body(1) === said(1, '#version Another story'), await body(1));
    const sent = (await lastBody()).messages.map((m) => m.content);
    expect(JSON.stringify(sent) === JSON.stringify(['#version Another story']), sent);
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: `${artifacts}/versions-edited-1280-${scheme}.png` });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });
  await check('reload: the tree is intact, the controls show the right counts', async () => {
    await page.reload();
    await shows(0, '2 / 2');
    const { status, body: conv } = await apiGet(page, `/api/conversations/${id}`);
    expect(status === 200 && conv.tree.length === 8, conv && conv.tree);
    await replies(page).nth(0).locator('button.ver[aria-label="Previous version"]').click();
    await shows(0, '1 / 2');
    await shows(1, '3 / 3');   // down the first prompt's newest reply
    await replies(page).nth(1).locator('button.ver[aria-label="Previous version"]').click();
    await shows(1, '2 / 3');
    await replies(page).nth(1).locator('button.ver[aria-label="Previous version"]').click();
    await shows(1, '1 / 3');
    expect(await replies(page).count() === 4, await replies(page).count());
    expect(await body(3) === 'You said: And then?', await body(3));
    await page.reload();
    await shows(1, '1 / 3');
    expect(await replies(page).count() === 4, 'the switch did not outlive the reload');
  });
  await check('no script errors, no request to another host', () => {
    expect(page.errors.length === 0, page.errors.join(' | '));
    expect(page.remote.length === 0, page.remote.join(' '));
  });
} catch (e) {
  notOk('versions test ran to the end', e.message);
} finally {
  await browser.close();
}
process.exit(exitCode());
