// controls.mjs - the keyboard, stop, regenerate, edit and resend, and the settings
// drawer, checked against what the fake upstream received. See lib.mjs.
import {
  upstream, artifacts, check, expect, notOk, exitCode, launch, newPage, login, replies, settled,
  send, getJSON, words,
} from './lib.mjs';

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await newPage(context);
const lastBody = async () => (await getJSON(`${upstream}/_requests`)).at(-1);
const stats = () => getJSON(`${upstream}/_stats`);
const focusedId = () => page.evaluate(() => document.activeElement && document.activeElement.id);
const visibleActions = () => page.locator('button.act:visible');

try {
  await login(page);

  // ---- keyboard --------------------------------------------------------------
  await check('Shift+Enter inserts a new line and does not send', async () => {
    await page.focus('#prompt');
    await page.keyboard.type('line one');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('line two');
    const value = await page.inputValue('#prompt');
    expect(value === 'line one\nline two', value);
    expect(await replies(page).count() === 0, 'a message was sent');
  });
  await check('Enter sends the prompt, new line included', async () => {
    await page.keyboard.press('Enter');
    const reply = await settled(page, 1);
    expect(await page.inputValue('#prompt') === '', 'the composer was not cleared');
    const body = await lastBody();
    expect(body.messages.at(-1).content === 'line one\nline two', body.messages);
    expect((await reply.innerText()).includes('line two'), await reply.innerText());
  });

  await check('the settings drawer opens from the keyboard and takes the focus', async () => {
    await page.focus('#open-settings');
    await page.keyboard.press('Enter');
    await page.locator('#settings').waitFor({ state: 'visible', timeout: 3000 });
    expect(await page.evaluate(() => document.querySelector('#settings').contains(document.activeElement)),
      await focusedId());
  });
  await check('focus order in the drawer: close, model, temperature, top-p', async () => {
    await page.focus('#settings-close');
    const order = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      order.push(await focusedId());
    }
    expect(order.join() === 'model,temperature,top_p', order);
  });
  await check('Escape closes the drawer and gives the focus back to its button', async () => {
    await page.keyboard.press('Escape');
    await page.locator('#settings').waitFor({ state: 'hidden', timeout: 3000 });
    expect(await focusedId() === 'open-settings', await focusedId());
  });

  // ---- stop ------------------------------------------------------------------
  await check('stop mid-stream keeps the partial reply and closes the upstream request', async () => {
    const before = (await stats()).client_closed;
    await page.fill('#prompt', '#words:200 #slow:8');
    await page.press('#prompt', 'Enter');
    const reply = replies(page).nth(3);
    await page.waitForFunction(() => {
      const m = document.querySelectorAll('article.msg[data-role]')[3];
      return m && m.dataset.state === 'streaming' && /\bw5\b/.test(m.textContent);
    }, null, { timeout: 10000 });
    expect(await visibleActions().count() === 0, 'edit/regenerate offered while streaming');
    await page.click('#stop');
    await page.waitForSelector('article.msg[data-role="assistant"][data-state="stopped"]', { timeout: 8000 });
    const text = (await reply.locator('.msg-body').innerText()).trim();
    const n = text.split(/\s+/).length;
    expect(n >= 5 && n < 200 && words(200).startsWith(text + ' '), text);
    expect(/Stopped/.test(await reply.locator('.msg-foot').innerText()), 'no "Stopped" note');
    let closed = before;
    for (let i = 0; i < 50 && closed <= before; i++) {
      await page.waitForTimeout(100);
      closed = (await stats()).client_closed;
    }
    expect(closed > before, `client_closed stayed ${closed}`);
    expect(await page.locator('#send').isVisible(), 'Send did not come back');
  });
  await check('a stopped reply offers Regenerate, every prompt offers Edit', async () => {
    const last = replies(page).nth(3);
    expect(await last.locator('button.act[data-action="regenerate"]').isVisible(), 'no Regenerate');
    expect(await replies(page).nth(2).locator('button.act[data-action="edit"]').isVisible(), 'no Edit');
    expect(await replies(page).nth(0).locator('button.act[data-action="edit"]').isVisible(), 'no Edit on the first');
    expect(await visibleActions().count() === 3, await visibleActions().count());
  });

  // ---- regenerate ------------------------------------------------------------
  await send(page, 'please regenerate me');
  await check('regenerate shows a new version in place of the last reply (the old one kept)', async () => {
    const first = await lastBody();
    const { total } = await stats();
    const oldId = await replies(page).nth(5).getAttribute('data-msgid');
    await page.click('article.msg:nth-of-type(6) button.act[data-action="regenerate"]');
    await page.waitForFunction((id) => {
      const m = document.querySelectorAll('article.msg[data-role]')[5];
      return m && m.dataset.msgid !== id && m.dataset.state === 'done';
    }, oldId, { timeout: 15000 });
    expect(await replies(page).count() === 6, await replies(page).count());
    expect(await page.locator(`article[data-msgid="${oldId}"]`).count() === 0, 'the old reply is still shown');
    await page.waitForFunction(() => {
      const c = document.querySelectorAll('article.msg[data-role]')[5]?.querySelector('.versions-count');
      return c && c.textContent === '2 / 2';
    }, null, { timeout: 10000 });
    const s = await stats();
    expect(s.total === total + 1, s);
    const again = await lastBody();
    expect(JSON.stringify(again.messages) === JSON.stringify(first.messages), again.messages);
    expect(again.messages.at(-1).content === 'please regenerate me', again.messages.at(-1));
  });

  // ---- edit and resend -------------------------------------------------------
  await check('Edit puts the last prompt in the composer; Escape cancels it', async () => {
    await page.fill('#prompt', 'a draft');
    await page.click('article.msg:nth-of-type(5) button.act[data-action="edit"]');
    expect(await page.inputValue('#prompt') === 'please regenerate me', await page.inputValue('#prompt'));
    expect(await page.locator('#editing').isVisible(), 'no editing note');
    expect(await focusedId() === 'prompt', await focusedId());
    await page.setViewportSize({ width: 360, height: 740 });
    await page.screenshot({ path: `${artifacts}/editing-360-light.png` });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.keyboard.press('Escape');
    expect(await page.inputValue('#prompt') === 'a draft', await page.inputValue('#prompt'));
    expect(await page.locator('#editing').isHidden(), 'the editing note stayed');
  });
  await check('edit and resend shows a new version of the last prompt and its reply', async () => {
    await page.click('article.msg:nth-of-type(5) button.act[data-action="edit"]');
    await page.fill('#prompt', 'the edited prompt');
    await page.press('#prompt', 'Enter');
    const reply = await settled(page, 5);
    expect(await replies(page).count() === 6, await replies(page).count());
    const all = await page.locator('#messages').innerText();
    expect(!all.includes('please regenerate me'), 'the old prompt is still on the page');
    expect((await reply.innerText()).includes('You said: the edited prompt'), await reply.innerText());
    const body = await lastBody();
    expect(body.messages.at(-1).content === 'the edited prompt', body.messages);
    expect(!JSON.stringify(body.messages).includes('please regenerate me'), body.messages);
    expect(body.messages.length === 5, body.messages.length);   // 2 earlier turns + the prompt
  });

  // ---- settings --------------------------------------------------------------
  const wanted = {
    model: 'gpt-4o', temperature: 0.3, max_tokens: 77, top_p: 0.9,
    frequency_penalty: 0.5, presence_penalty: -0.4,
  };
  const system = 'You are terse.\nAnswer in one line.';
  await check('the drawer offers the server\'s models, the default chosen', async () => {
    await page.click('#open-settings');
    expect(await page.inputValue('#model') === 'gpt-4o-mini', await page.inputValue('#model'));
  });
  await check('the settings change the request the upstream receives', async () => {
    await page.selectOption('#model', wanted.model);
    for (const k of ['temperature', 'max_tokens', 'top_p', 'frequency_penalty', 'presence_penalty']) {
      await page.fill(`#${k}`, String(wanted[k]));
    }
    await page.fill('#system', system);
    expect(await page.inputValue('input[data-for="temperature"]') === '0.3', 'the slider did not follow');
    await page.click('#settings button[type="submit"]');
    await page.locator('#settings').waitFor({ state: 'hidden' });
    await page.locator('#prompt').fill('#params');
    await page.press('#prompt', 'Enter');
    await settled(page, 7);
    const body = await lastBody();
    for (const [k, v] of Object.entries(wanted)) expect(body[k] === v, `${k}: ${body[k]}`);
    expect(body.messages[0].role === 'system' && body.messages[0].content === system, body.messages[0]);
    expect(body.messages.filter((m) => m.role === 'system').length === 1, body.messages);
  });
  await check('the settings are remembered after a reload', async () => {
    await page.reload();
    await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
    await page.waitForFunction(() => document.querySelector('#model').options.length > 1);
    await page.click('#open-settings');
    for (const [k, v] of Object.entries(wanted)) {
      const got = await page.inputValue(`#${k}`);
      expect(got === String(v), `${k}: ${got}`);
    }
    expect(await page.inputValue('#system') === system, await page.inputValue('#system'));
    expect(await page.inputValue('input[data-for="presence_penalty"]') === '-0.4', 'slider not restored');
    const stored = await page.evaluate(() => localStorage.getItem('lightchat.settings'));
    expect(!/alice|Secret|eyJ/.test(stored), stored);
  });
  await check('an out-of-range value is clamped before it is sent', async () => {
    await page.fill('#max_tokens', '99999');
    await page.locator('#max_tokens').blur();
    expect(await page.inputValue('#max_tokens') === '16384', await page.inputValue('#max_tokens'));
  });
  await check('Reset to defaults restores and remembers the defaults', async () => {
    await page.click('#settings-reset');
    await page.waitForFunction(() => JSON.parse(localStorage.getItem('lightchat.settings')).max_tokens === 1024);
    const got = {};
    for (const k of ['model', 'temperature', 'max_tokens', 'top_p', 'frequency_penalty', 'presence_penalty', 'system']) {
      got[k] = await page.inputValue(`#${k}`);
    }
    expect(JSON.stringify(got) === JSON.stringify({
      model: 'gpt-4o-mini', temperature: '1', max_tokens: '1024', top_p: '1',
      frequency_penalty: '0', presence_penalty: '0', system: '',
    }), got);
    await page.click('#settings-close');
    await send(page, 'defaults again');
    const body = await lastBody();
    expect(body.model === 'gpt-4o-mini' && body.temperature === 1 && body.max_tokens === 1024 &&
      body.messages[0].role === 'user', body);
  });

  await check('New chat empties the conversation', async () => {
    await page.click('#new-chat');
    expect(await replies(page).count() === 0, await replies(page).count());
    expect(await page.locator('#empty').isVisible(), 'no empty-state text');
  });
  await check('no script errors, no request to another host', () => {
    expect(page.errors.length === 0, page.errors.join(' | '));
    expect(page.remote.length === 0, page.remote.join(' '));
  });
} catch (e) {
  notOk('controls test ran to the end', e.message);
} finally {
  await browser.close();
}
process.exit(exitCode());
