// thinking.mjs - a reasoning model's reply in the page: the Thinking block (open while
// the reasoning streams, then folded to "Thought for N s", its text apart from the
// answer, still there after a reload and in another tab's snapshot), in the fake
// upstream's delta.reasoning_content (#reason:rc) and <think> tag (#reason:tag) forms;
// and the settings per model: an o-series model (o4-mini) takes no temperature/top_p
// but a reasoning effort, gpt-4o-mini the opposite, and what is sent follows
// (the fake upstream's /_requests); the model list grouped by upstream, a failing
// one marked. The stack (test-browser.sh): the flat upstream "default" (the fake,
// models gpt-4o-mini,o4-mini) and "Ollama", whose listing fails. Screenshots: desktop and phone, light and dark, streaming and
// folded. See lib.mjs.
import {
  artifacts, upstream, check, expect, notOk, exitCode, launch, newPage, login, replies, settled, getJSON,
} from './lib.mjs';

const REASONING = 'Step one. Step two. Step three.';
const lastBody = async () => (await getJSON(`${upstream}/_requests`)).at(-1);
const norm = (s) => s.trim().replace(/\s+/g, ' ');

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await newPage(context);

// The parts of the reply at index i: its block's state, summary and text, its answer.
const partsOf = (p, i) => p.evaluate((n) => {
  const m = document.querySelectorAll('article.msg[data-role]')[n];
  if (!m) return null;
  const d = m.querySelector('.msg-body > details.thinking');
  const a = m.querySelector('.msg-body > .answer');
  return {
    state: m.dataset.state,
    block: !!d,
    open: d ? d.open : null,
    summary: d ? d.querySelector('summary').textContent : '',
    reasoning: d ? d.querySelector('.thinking-body').textContent : '',
    answer: a ? a.textContent : '',
    first: m.querySelector('.msg-body').firstElementChild?.className || '',
  };
}, i);

// Sends a prompt and records every state of the reply's block while it streams.
async function sendRecorded(p, text) {
  const i = await replies(p).count() + 1;
  await p.evaluate((n) => {
    window.__seen = [];
    const note = () => {
      const m = document.querySelectorAll('article.msg[data-role]')[n];
      const d = m && m.querySelector('details.thinking');
      if (d) {
        window.__seen.push({
          state: m.dataset.state, open: d.open, summary: d.querySelector('summary').textContent,
          reasoning: d.querySelector('.thinking-body').textContent,
          answer: m.querySelector('.answer')?.textContent || '',
        });
      }
    };
    if (window.__seenObserver) window.__seenObserver.disconnect();
    window.__seenObserver = new MutationObserver(note);
    window.__seenObserver.observe(document.querySelector('#messages'),
      { subtree: true, childList: true, characterData: true, attributes: true });
  }, i);
  await p.fill('#prompt', text);
  await p.press('#prompt', 'Enter');
  return i;
}

async function openSettings(p) {
  await p.click('#open-settings');
  await p.locator('#settings').waitFor({ state: 'visible' });
}
async function closeSettings(p) {
  await p.click('#settings-close');
  await p.locator('#settings').waitFor({ state: 'hidden' });
}
const visible = (p, sel) => p.locator(sel).isVisible();

async function shoot(p, name) {
  for (const scheme of ['light', 'dark']) {
    await p.emulateMedia({ colorScheme: scheme });
    await p.screenshot({ path: `${artifacts}/${name}-${scheme}.png` });
  }
  await p.emulateMedia({ colorScheme: 'light' });
}

try {
  await login(page);
  await page.waitForFunction(() => document.querySelector('#model').options.length > 1);

  // ---- the model list: two upstreams, one failing ---------------------------------
  await check('the models are grouped by upstream; the failing one is marked, its model too', async () => {
    await openSettings(page);
    const groups = await page.locator('#model optgroup').evaluateAll((gs) => gs.map((g) => ({
      label: g.label, options: [...g.children].map((o) => [o.value, o.textContent]),
    })));
    expect(groups.length === 2 && groups[0].label === 'default' &&
      groups[0].options.map((o) => o[0]).join() === 'gpt-4o-mini,o4-mini', groups);
    expect(/^Ollama: not reachable — GET \/models: ./.test(groups[1].label), groups[1].label);
    expect(JSON.stringify(groups[1].options) === '[["llama3.2:1b","llama3.2:1b (unavailable)"]]', groups[1].options);
    const note = await page.locator('#model-note').innerText();
    expect(await visible(page, '#model-note') && /^Ollama: not reachable — GET \/models: /.test(note), note);
    expect(await page.inputValue('#model') === 'gpt-4o-mini', await page.inputValue('#model'));
    await page.screenshot({ path: `${artifacts}/thinking-settings-upstreams-1280.png` });
    await closeSettings(page);
  });

  // ---- settings per model -------------------------------------------------------
  await check('gpt-4o-mini: temperature and top-p shown, no reasoning effort', async () => {
    await openSettings(page);
    await page.selectOption('#model', 'gpt-4o-mini');
    expect(await visible(page, '#temperature') && await visible(page, '#top_p'), 'temperature/top_p hidden');
    expect(await visible(page, '#max_tokens'), 'max tokens hidden');
    expect(!(await visible(page, '#reasoning_effort')), 'the effort select is shown');
  });
  await check('o4-mini: no temperature nor top-p, a reasoning effort with its efforts', async () => {
    await page.selectOption('#model', 'o4-mini');
    expect(!(await visible(page, '#temperature')) && !(await visible(page, '#top_p')), 'temperature/top_p shown');
    expect(!(await visible(page, '#frequency_penalty')) && !(await visible(page, '#presence_penalty')),
      'penalties shown');
    expect(await visible(page, '#max_tokens'), 'max tokens hidden');
    expect(await visible(page, '#reasoning_effort'), 'no effort select');
    const opts = await page.locator('#reasoning_effort option').evaluateAll((os) => os.map((o) => o.value));
    expect(opts.join() === ',low,medium,high', opts);
  });
  await check('the effort select is reached from the keyboard after the model', async () => {
    await page.focus('#model');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement.id) === 'reasoning_effort',
      await page.evaluate(() => document.activeElement.id));
  });
  await page.selectOption('#reasoning_effort', 'high');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: `${artifacts}/thinking-settings-o4-mini-1280.png` });
  await closeSettings(page);

  await check('a prompt on o4-mini with effort "high" reaches the upstream as reasoning_effort, no temperature', async () => {
    const i = await sendRecorded(page, 'effort please');
    await settled(page, i);
    const body = await lastBody();
    expect(body.model === 'o4-mini', body.model);
    expect(body.reasoning_effort === 'high', body);
    for (const k of ['temperature', 'top_p', 'frequency_penalty', 'presence_penalty', 'max_tokens']) {
      expect(!(k in body), `${k} sent: ${JSON.stringify(body)}`);
    }
    expect(Number.isInteger(body.max_completion_tokens), body);
  });

  await check('the settings of each model survive switching and a reload', async () => {
    await openSettings(page);
    await page.selectOption('#model', 'gpt-4o-mini');
    expect(!(await visible(page, '#reasoning_effort')), 'the effort select is shown for gpt-4o-mini');
    await page.fill('#temperature', '0.4');
    await page.locator('#temperature').blur();
    await page.selectOption('#model', 'o4-mini');
    expect(await page.inputValue('#reasoning_effort') === 'high', await page.inputValue('#reasoning_effort'));
    await closeSettings(page);
    await page.reload();
    await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
    await page.waitForFunction(() => document.querySelector('#model').options.length > 1);
    await openSettings(page);
    expect(await page.inputValue('#model') === 'o4-mini', await page.inputValue('#model'));
    expect(await page.inputValue('#reasoning_effort') === 'high', 'effort after the reload');
    await page.selectOption('#model', 'gpt-4o-mini');
    expect(await page.inputValue('#temperature') === '0.4', await page.inputValue('#temperature'));
    await closeSettings(page);
  });
  await check('gpt-4o-mini: temperature sent, no reasoning_effort', async () => {
    const i = await sendRecorded(page, 'no effort here');
    await settled(page, i);
    const body = await lastBody();
    expect(body.model === 'gpt-4o-mini' && body.temperature === 0.4 && !('reasoning_effort' in body), body);
  });

  // ---- the Thinking block, delta.reasoning_content ------------------------------
  await page.click('#new-chat');
  const rc = await sendRecorded(page, '#reason:rc #slow:3');
  await check('while the reasoning streams, the block is open and says "Thinking…"', async () => {
    await page.waitForFunction(() => window.__seen.some((s) => s.state === 'streaming' && s.reasoning.includes('Step')),
      null, { timeout: 10000 });
    const during = (await page.evaluate(() => window.__seen)).filter((s) => s.state === 'streaming' && !s.answer.trim());
    expect(during.length > 0, 'no state seen before the answer');
    expect(during.every((s) => s.open && /^Thinking…$/.test(s.summary)), during.slice(0, 3));
  });
  await page.screenshot({ path: `${artifacts}/thinking-streaming-1280.png` });
  const rcMsg = await settled(page, rc);
  await check('after the answer the block is folded: "Thought for N s"', async () => {
    const p = await partsOf(page, rc);
    expect(p.block && p.open === false && /^Thought for \d+ s$/.test(p.summary), p);
    const seen = await page.evaluate(() => window.__seen);
    // It folded when the answer began, not only at the end.
    expect(seen.some((s) => s.state === 'streaming' && s.answer.trim() && !s.open), seen.slice(-3));
  });
  await check('its text is the reasoning; the answer is apart from it, below', async () => {
    const p = await partsOf(page, rc);
    expect(norm(p.reasoning) === REASONING, p.reasoning);
    expect(norm(p.answer) === 'You said: #reason:rc #slow:3', p.answer);
    expect(p.first === 'thinking', p.first);
  });
  await check('the block opens and folds from the keyboard', async () => {
    await rcMsg.locator('summary').focus();
    await page.keyboard.press('Enter');
    expect(await rcMsg.locator('details.thinking').evaluate((d) => d.open), 'not opened by Enter');
    await page.screenshot({ path: `${artifacts}/thinking-opened-1280.png` });
    await page.keyboard.press('Space');
    expect(!(await rcMsg.locator('details.thinking').evaluate((d) => d.open)), 'not folded by Space');
  });
  await shoot(page, 'thinking-folded-1280');
  await check('after a reload the block is there, folded, with its duration and text', async () => {
    await page.reload();
    await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
    await settled(page, rc);
    const p = await partsOf(page, rc);
    expect(p.block && p.open === false && /^Thought for \d+ s$/.test(p.summary), p);
    expect(norm(p.reasoning) === REASONING && norm(p.answer) === 'You said: #reason:rc #slow:3', p);
  });

  // ---- <think> in the content; another tab sees the reasoning so far --------------
  const other = await newPage(context);
  await other.goto(page.url());
  await other.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
  await settled(other, rc);
  const tag = await sendRecorded(page, '#reason:tag #slow:4');
  await check('#reason:tag: the block is open while the reasoning streams', async () => {
    await page.waitForFunction(() => window.__seen.some((s) => s.reasoning.includes('Step')), null, { timeout: 10000 });
    const during = (await page.evaluate(() => window.__seen)).filter((s) => s.state === 'streaming' && !s.answer.trim());
    expect(during.length > 0 && during.every((s) => s.open && s.summary === 'Thinking…'), during.slice(0, 3));
    expect(during.every((s) => !/think>/.test(s.reasoning + s.answer)), during.slice(-1));
  });
  await check('another tab watching shows the reasoning as it streams', async () => {
    await other.waitForFunction((n) => {
      const m = document.querySelectorAll('article.msg[data-role]')[n];
      const d = m && m.querySelector('details.thinking');
      return d && d.querySelector('.thinking-body').textContent.includes('Step');
    }, tag, { timeout: 10000 });
  });
  // A third page opened now gets a snapshot of the reasoning so far.
  const late = await newPage(context);
  await late.setViewportSize({ width: 360, height: 740 });
  await late.goto(page.url());
  await check('a page opened mid-reply shows the reasoning so far (snapshot)', async () => {
    await late.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
    await late.waitForFunction((n) => {
      const m = document.querySelectorAll('article.msg[data-role]')[n];
      const d = m && m.querySelector('details.thinking');
      return d && d.querySelector('.thinking-body').textContent.includes('Step');
    }, tag, { timeout: 10000 });
    const p = await partsOf(late, tag);
    if (p.state === 'streaming' && !p.answer.trim()) {
      expect(p.open && p.summary === 'Thinking…', p);
      await late.screenshot({ path: `${artifacts}/thinking-streaming-360.png` });
    }
  });
  await settled(page, tag);
  await check('#reason:tag: folded after, the reasoning without its tags, the answer apart', async () => {
    const p = await partsOf(page, tag);
    expect(p.block && !p.open && /^Thought for \d+ s$/.test(p.summary), p);
    expect(norm(p.reasoning) === REASONING, p.reasoning);
    expect(norm(p.answer) === 'You said: #reason:tag #slow:4', p.answer);
  });
  await check('the other tabs end with the same block, folded', async () => {
    for (const p of [other, late]) {
      await settled(p, tag);
      const q = await partsOf(p, tag);
      expect(q.block && !q.open && /^Thought for \d+ s$/.test(q.summary) && norm(q.reasoning) === REASONING, q);
    }
  });
  await settled(late, tag);
  await shoot(late, 'thinking-folded-360');
  await late.locator('details.thinking').last().evaluate((d) => { d.open = true; });
  await late.screenshot({ path: `${artifacts}/thinking-opened-360-light.png` });
  await check('a long reasoning scrolls inside its block on a phone, the page does not widen', async () => {
    const i = await replies(late).count() + 1;
    await late.fill('#prompt', '#reason:rc:400');
    await late.press('#prompt', 'Enter');
    await settled(late, i);
    const m = replies(late).nth(i);
    await m.locator('summary').click();
    const box = await m.locator('.thinking-body').evaluate((b) => ({
      client: b.clientHeight, scroll: b.scrollHeight, text: b.textContent,
    }));
    expect(box.text.includes('r400') && box.scroll > box.client && box.client <= 240, { ...box, text: box.text.slice(-40) });
    const width = await late.evaluate(() => document.documentElement.scrollWidth);
    expect(width <= 360, width);
    await late.screenshot({ path: `${artifacts}/thinking-long-360-light.png` });
  });
  await check('a reply without reasoning has no Thinking block', async () => {
    const i = await sendRecorded(page, 'plain one');
    await settled(page, i);
    const p = await partsOf(page, i);
    expect(!p.block && norm(p.answer) === 'You said: plain one', p);
  });
  await check('no script errors, no request to another host', () => {
    for (const p of [page, other, late]) {
      expect(p.errors.length === 0, p.errors.join(' | '));
      expect(p.remote.length === 0, p.remote.join(' '));
    }
  });
} catch (e) {
  notOk('thinking test ran to the end', e.message);
}
await browser.close();
process.exit(exitCode());
