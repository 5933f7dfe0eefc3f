// attachments.mjs - files in the page (www/js/attachments.js): a 4000×3000 PNG made here
// pasted into the prompt box, downscaled in the browser (the stored image, read back
// over REST, is 2048 px wide at most) and sent to a vision model (gpt-4o-mini: the fake
// upstream's /_requests shows an image_url part); a small PNG dropped onto the prompt
// box and kept as it is; a text file from the picker reaching upstream as a fenced
// block with its name; a file over the size limit refused in the page with the limit
// named; an image refused in the page, before sending, for a text-only model (o3-mini,
// images false in the built-in model table); after a reload the thumbnails and the
// chip are still there, and a thumbnail opens full size. The stack (test-browser.sh):
// models gpt-4o-mini,o3-mini. Screenshots: desktop and phone, light and dark, of the
// conversation and of the tray. See lib.mjs.
import {
  base, artifacts, upstream, check, expect, notOk, exitCode, launch, newPage, login, replies,
  settled, getJSON, hashId,
} from './lib.mjs';

const requests = () => getJSON(`${upstream}/_requests`);
const lastUser = (body) => body.messages.filter((m) => m.role === 'user').at(-1);
const parts = (m) => (Array.isArray(m.content) ? m.content : [{ type: 'text', text: m.content }]);
const NOTES = 'alpha line\nbeta line';

// GET a JSON API path from inside the page → {status, body}. (lib.mjs's apiGet goes
// through Node's HTTP client, which may reuse a kept-alive connection that lighttpd
// is closing after 5 s idle: ECONNRESET. The browser retries such a request itself.)
const apiGet = (p, path) => p.evaluate(async (u) => {
  const res = await fetch(u, { headers: { Accept: 'application/json' } });
  let body = null;
  try { body = await res.json(); } catch { /* empty or not JSON */ }
  return { status: res.status, body };
}, path.replace(/^\//, ''));

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await newPage(context);

async function shoot(p, name) {
  for (const scheme of ['light', 'dark']) {
    await p.emulateMedia({ colorScheme: scheme });
    await p.screenshot({ path: `${artifacts}/${name}-${scheme}.png` });
  }
  await p.emulateMedia({ colorScheme: 'light' });
}

// Makes a PNG of w×h in the page (a gradient with stripes, so it is no trivial file)
// and keeps it as window[key] (a File).
const makePng = (p, key, w, h, name) => p.evaluate(async ([k, width, height, n]) => {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const ctx = c.getContext('2d');
  const g = ctx.createLinearGradient(0, 0, width, height);
  g.addColorStop(0, '#2563eb');
  g.addColorStop(1, '#f59e0b');
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = 'rgba(255,255,255,.5)';
  for (let x = 0; x < width; x += Math.max(8, width / 40)) ctx.fillRect(x, 0, Math.max(2, width / 200), height);
  const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
  window[k] = new File([blob], n, { type: 'image/png' });
  return blob.size;
}, [key, w, h, name]);

// Pastes window[key] into the prompt box, as a clipboard holding only that file.
const paste = (p, key) => p.evaluate((k) => {
  const dt = new DataTransfer();
  dt.items.add(window[k]);
  const ev = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
  document.getElementById('prompt').dispatchEvent(ev);
}, key);

// Drags window[key] over the composer and drops it there.
const drop = (p, key) => p.evaluate((k) => {
  const dt = new DataTransfer();
  dt.items.add(window[k]);
  const form = document.getElementById('composer');
  for (const type of ['dragenter', 'dragover', 'drop']) {
    form.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }
}, key);

// Waits until no chip of the tray is preparing or uploading → the chips' states.
async function trayDone(p) {
  await p.waitForFunction(() => {
    const lis = [...document.querySelectorAll('#attach-tray > li')];
    return lis.length && lis.every((li) => li.dataset.state === 'done' || li.dataset.state === 'error');
  }, null, { timeout: 20000 });
  return p.locator('#attach-tray > li').evaluateAll((lis) => lis.map((li) => ({
    kind: li.dataset.kind, state: li.dataset.state, name: li.querySelector('.att-name').textContent,
    info: li.querySelector('.att-info').textContent, thumb: !!li.querySelector('.att-pic img'),
  })));
}

// Removes whatever a failed check left in the tray, so that the next one starts clean.
async function emptyTray(p) {
  for (let n = await p.locator('#attach-tray > li').count(); n > 0; n--) {
    await p.locator('#attach-tray > li button.att-remove').first().click();
  }
}

// Sends the prompt box with Enter and waits for the reply.
async function sendNow(p, text) {
  const i = await replies(p).count() + 1;
  await p.fill('#prompt', text);
  await p.press('#prompt', 'Enter');
  return settled(p, i);
}

// The size of an image the server stores, decoded by the browser from GET /api/attachments/{id}.
const storedImage = (p, id) => p.evaluate(async (a) => {
  const res = await fetch(`api/attachments/${a}`);
  const bmp = await createImageBitmap(await res.blob());
  return { type: res.headers.get('content-type'), cache: res.headers.get('cache-control'),
    width: bmp.width, height: bmp.height };
}, id);

async function chooseModel(p, model) {
  await p.click('#open-settings');
  await p.locator('#settings').waitFor({ state: 'visible' });
  await p.selectOption('#model', model);
  await p.click('#settings-close');
  await p.locator('#settings').waitFor({ state: 'hidden' });
}

let conv = '';
let big = null;     // the downscaled image's metadata as the REST API tells it
try {
  await login(page);
  await page.waitForFunction(() => document.querySelector('#model').options.length > 1);

  await check('a pasted 4000×3000 PNG is scaled in the page and uploaded: a chip with a thumbnail', async () => {
    await emptyTray(page);
    await emptyTray(page);
    const size = await makePng(page, '__big', 4000, 3000, 'big.png');
    await page.evaluate(() => {
      window.__states = [];
      new MutationObserver(() => {
        const li = document.querySelector('#attach-tray > li');
        const s = li && `${li.dataset.state}:${li.querySelector('.att-info').textContent}`;
        if (s && window.__states.at(-1) !== s) window.__states.push(s);
      }).observe(document.getElementById('attach-tray'), { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await paste(page, '__big');
    const chips = await trayDone(page);
    const states = await page.evaluate(() => window.__states);
    const kinds = [...new Set(states.map((x) => x.split(':')[0]))];
    expect(kinds.join() === 'preparing,uploading,done' && states.includes('preparing:Scaling…') &&
      states.some((x) => /^uploading:Uploading \d+ %$/.test(x)), states);
    expect(chips.length === 1 && chips[0].kind === 'image' && chips[0].state === 'done' && chips[0].thumb &&
      chips[0].name === 'big.jpg', chips);
    expect(size > 0, size);
    const note = await page.locator('#attach-note').innerText();
    expect(/up to 8 files, 10 MB each, 20 MB in all/.test(note) && /2048 px/.test(note), note);
    const hint = await page.locator('#composer-hint').innerText();
    expect(/files here \(up to 8, 10 MB each\)/.test(hint), hint);
  });
  await check('sent to a vision model, the image goes upstream as an image_url part after the text', async () => {
    const before = (await requests()).length;
    const m = await sendNow(page, 'What is in the picture?');
    expect(await m.getAttribute('data-state') === 'done', await m.innerText());
    const reqs = await requests();
    expect(reqs.length === before + 1, reqs.length);
    const ps = parts(lastUser(reqs.at(-1)));
    expect(ps.length === 2 && ps[0].type === 'text' && ps[0].text.startsWith('What is in the picture?'),
      JSON.stringify(ps).slice(0, 200));
    expect(ps[1].type === 'image_url' && /^data:image\/jpeg;base64,\/9j\//.test(ps[1].image_url.url),
      JSON.stringify(ps[1]).slice(0, 120));
    expect(await page.locator('#attach-tray > li').count() === 0, 'the tray is not empty');
  });
  await check('the stored image is the downscaled one: REST says 2048×1536, and so do its bytes', async () => {
    await page.waitForFunction(() => /^#c=/.test(location.hash));
    conv = await hashId(page);
    const { status, body } = await apiGet(page, `/api/conversations/${conv}`);
    expect(status === 200, status);
    const atts = body.messages[0].attachments || [];
    expect(atts.length === 1, body.messages[0]);
    big = atts[0];
    expect(big.kind === 'image' && big.mime === 'image/jpeg' && big.width <= 2048 && big.width === 2048 &&
      big.height === 1536 && big.name === 'big.jpg' && /^[0-9a-f]{32}$/.test(big.id), big);
    const img = await storedImage(page, big.id);
    expect(img.type === 'image/jpeg' && img.width === 2048 && img.height === 1536 && /private/.test(img.cache || ''), img);
  });
  await check('the prompt shows the image as a thumbnail', async () => {
    const u = replies(page).nth(0);
    await page.waitForFunction(() => {
      const img = document.querySelector('article.msg[data-role="user"] a.att-img img');
      return img && img.complete && img.naturalWidth > 0;
    });
    const href = await u.locator('a.att-img').getAttribute('href');
    expect(href === `api/attachments/${big.id}`, href);
  });
  await check('a thumbnail opens the image full size; Escape closes it', async () => {
    await replies(page).nth(0).locator('a.att-img').click();
    await page.waitForFunction(() => {
      const img = document.querySelector('dialog.lightbox[open] img');
      return img && img.complete && img.naturalWidth === 2048;
    });
    await page.screenshot({ path: `${artifacts}/attachments-lightbox-1280.png` });
    await page.keyboard.press('Escape');
    await page.locator('dialog.lightbox').waitFor({ state: 'hidden' });
  });

  await check('a small PNG dropped onto the prompt box is uploaded as it is', async () => {
    await makePng(page, '__small', 300, 200, 'small.png');
    await drop(page, '__small');
    const chips = await trayDone(page);
    expect(chips.length === 1 && chips[0].state === 'done' && chips[0].name === 'small.png', chips);
    const before = (await requests()).length;
    await sendNow(page, 'And this one?');
    const reqs = await requests();
    expect(reqs.length === before + 1, reqs.length);
    const ps = parts(lastUser(reqs.at(-1)));
    expect(ps.some((x) => x.type === 'image_url' && /^data:image\/png;base64,iVBOR/.test(x.image_url.url)),
      JSON.stringify(ps).slice(0, 200));
    // Dropped on the conversation instead: refused (the browser would open the file in
    // place of the page), and nothing is attached.
    const kept = await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(window.__small);
      return document.getElementById('messages').dispatchEvent(
        new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    expect(kept === false && await page.locator('#attach-tray > li').count() === 0, 'a drop elsewhere');
    const { body } = await apiGet(page, `/api/conversations/${conv}`);
    const a = body.messages[2].attachments[0];
    expect(a.mime === 'image/png' && a.width === 300 && a.height === 200, a);
  });

  await check('a text file from the picker goes upstream as a fenced block with its name', async () => {
    await page.setInputFiles('#attach-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(NOTES) });
    const chips = await trayDone(page);
    expect(chips.length === 1 && chips[0].kind === 'text' && chips[0].state === 'done' && !chips[0].thumb, chips);
    await sendNow(page, 'Summarize the notes');
    const ps = parts(lastUser((await requests()).at(-1)));
    const text = ps.filter((x) => x.type === 'text').map((x) => x.text).join('');
    expect(text.includes(`Summarize the notes\n\n\`\`\`notes.txt\n${NOTES}\n\`\`\``), text);
    expect(!ps.some((x) => x.type === 'image_url'), 'an image part for a text file');
    const chip = replies(page).nth(4).locator('a.att-chip');
    expect(await chip.count() === 1 && (await chip.innerText()).includes('notes.txt'), await replies(page).nth(4).innerHTML());
  });

  await check('a file over attachment_max_bytes is refused in the page with the limit named; ✕ removes it', async () => {
    await emptyTray(page);
    const before = (await requests()).length;
    await page.setInputFiles('#attach-input', { name: 'huge.log', mimeType: 'text/plain',
      buffer: Buffer.alloc(11 * 1024 * 1024, 'a') });
    const chips = await trayDone(page);
    expect(chips.length === 1 && chips[0].state === 'error' && /at most 10 MB a file/.test(chips[0].info), chips);
    await page.fill('#prompt', 'with the big log');
    await page.press('#prompt', 'Enter');
    const err = page.locator('#chat-error');
    await err.waitFor({ state: 'visible' });
    expect(/could not be attached/.test(await err.innerText()), await err.innerText());
    expect((await requests()).length === before, 'it was sent');
    await page.click('#attach-tray button.att-remove');
    expect(await page.locator('#attach-tray > li').count() === 0, 'still in the tray');
    expect(await page.locator('#attach-tray').isHidden(), 'the tray is shown empty');
    await page.fill('#prompt', '');
  });

  await check("a file the server refuses (binary) shows the server's message in its chip", async () => {
    await emptyTray(page);
    const n = page.errors.length;
    await page.setInputFiles('#attach-input', { name: 'tool.bin', mimeType: 'application/octet-stream',
      buffer: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0xfe]) });
    const chips = await trayDone(page);
    expect(chips.length === 1 && chips[0].state === 'error' && chips[0].info.length > 10 &&
      !/server answered/.test(chips[0].info), chips);
    await page.click('#attach-tray button.att-remove');
    await page.waitForTimeout(100);   // the browser's console line for the 415, then dropped
    page.errors.splice(n, page.errors.length - n, ...page.errors.slice(n).filter((e) => !/\b415\b/.test(e)));
  });

  await check('an image for a text-only model (o3-mini) is refused in the page before sending', async () => {
    await emptyTray(page);
    await chooseModel(page, 'o3-mini');
    const before = (await requests()).length;
    const msgs = await replies(page).count();
    await makePng(page, '__mid', 640, 480, 'photo.png');
    await paste(page, '__mid');
    await page.setInputFiles('#attach-input', { name: 'todo.md', mimeType: 'text/markdown', buffer: Buffer.from('# todo\n- one') });
    await trayDone(page);
    const warn = await page.locator('#attach-note').innerText();
    expect(/o3-mini does not read images/.test(warn), warn);
    await page.fill('#prompt', 'Describe it');
    await page.press('#prompt', 'Enter');
    const err = page.locator('#chat-error');
    await err.waitFor({ state: 'visible' });
    expect(/o3-mini does not read images/.test(await err.innerText()), await err.innerText());
    expect((await requests()).length === before, 'it was sent');
    expect(await replies(page).count() === msgs, 'a message was added');
    expect(await page.inputValue('#prompt') === 'Describe it', await page.inputValue('#prompt'));
    await shoot(page, 'attachments-tray-1280');
    await page.setViewportSize({ width: 390, height: 844 });
    await shoot(page, 'attachments-tray-390');
    await page.setViewportSize({ width: 1280, height: 800 });
  });
  await check('without the image, the text file goes to o3-mini', async () => {
    await page.locator('#attach-tray > li[data-kind="image"] button.att-remove').click();
    expect(!(await page.locator('#attach-note').innerText()).includes('does not read'), 'the warning stays');
    const m = await sendNow(page, 'Describe it');
    expect(await m.getAttribute('data-state') === 'done', await m.innerText());
    const body = (await requests()).at(-1);
    const ps = parts(lastUser(body));
    expect(body.model === 'o3-mini' && ps.every((x) => x.type === 'text') &&
      ps.map((x) => x.text).join('').includes('```todo.md\n# todo\n- one\n```'), JSON.stringify(body).slice(0, 300));
    await chooseModel(page, 'gpt-4o-mini');
  });

  await check('after a reload the thumbnails and the chips are still there', async () => {
    await page.reload();
    await page.waitForSelector('#status[data-state="open"]');
    await settled(page, 7);
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('article.msg[data-role="user"] a.att-img img')];
      return imgs.length === 2 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    }, null, { timeout: 10000 });
    const chips = await page.locator('article.msg[data-role="user"] a.att-chip').allInnerTexts();
    expect(chips.length === 2 && chips[0].includes('notes.txt') && chips[1].includes('todo.md'), chips);
    await page.locator('#messages').evaluate((m) => { m.scrollTop = 0; });
    await shoot(page, 'attachments-conversation-1280');
  });
  await check('on a phone the thumbnails fit and nothing scrolls sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#messages').evaluate((m) => { m.scrollTop = 0; });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width <= 390, width);
    const box = await replies(page).nth(0).locator('a.att-img img').boundingBox();
    expect(box && box.width <= 390 && box.width > 40, box);
    await shoot(page, 'attachments-conversation-390');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await check('an image alone, with no text, is sent; another tab shows it from the start frame', async () => {
    const other = await newPage(context);
    await other.goto(`${base}/#c=${conv}`);
    await other.waitForSelector('#status[data-state="open"]');
    await settled(other, 7);
    await emptyTray(page);
    await makePng(page, '__alone', 320, 240, 'alone.png');   // the reload lost the others
    await paste(page, '__alone');
    await trayDone(page);
    const before = (await requests()).length;
    await page.fill('#prompt', '');
    await page.press('#prompt', 'Enter');
    const m = await settled(page, 9);
    expect(await m.getAttribute('data-state') === 'done', await m.innerText());
    const reqs = await requests();
    expect(reqs.length === before + 1, reqs.length);
    const ps = parts(lastUser(reqs.at(-1)));
    expect(ps.some((x) => x.type === 'image_url') && ps.every((x) => x.type !== 'text' || !x.text.trim()),
      JSON.stringify(ps).slice(0, 200));
    const u = replies(page).nth(8);
    expect(await u.locator('a.att-img').count() === 1, await u.innerHTML());
    const seen = await settled(other, 9);
    expect(await seen.getAttribute('data-state') === 'done', await seen.innerText());
    const theirs = await other.locator('article.msg[data-role]').nth(8).locator('a.att-img').getAttribute('href');
    expect(theirs === await u.locator('a.att-img').getAttribute('href'), theirs);
    expect(other.errors.length === 0, other.errors.join(' | '));
    await other.close();
  });

  await check("Edit puts the prompt's files back in the tray; Escape takes them out again", async () => {
    await page.locator('article.msg[data-role]').nth(8).locator('button.act[data-action="edit"]').click();
    const chips = await trayDone(page);
    expect(chips.length === 1 && chips[0].kind === 'image' && chips[0].state === 'done' && chips[0].thumb, chips);
    await page.press('#prompt', 'Escape');
    expect(await page.locator('#attach-tray > li').count() === 0, 'still in the tray');
  });
  await check('an edited prompt keeps its image unless removed', async () => {
    const { body: was } = await apiGet(page, `/api/conversations/${conv}`);
    const id = was.messages[8].attachments[0].id;
    await page.locator('article.msg[data-role]').nth(8).locator('button.act[data-action="edit"]').click();
    await trayDone(page);
    const before = (await requests()).length;
    await page.fill('#prompt', 'Now with words');
    await page.press('#prompt', 'Enter');       // in place of the last pair: no new index
    await page.locator('#stop').waitFor({ state: 'hidden' });
    const m = await settled(page, 9);
    expect(await m.getAttribute('data-state') === 'done', await m.innerText());
    const reqs = await requests();
    expect(reqs.length === before + 1, reqs.length);
    const ps = parts(lastUser(reqs.at(-1)));
    expect(ps[0].type === 'text' && ps[0].text === 'Now with words' && ps.some((x) => x.type === 'image_url'),
      JSON.stringify(ps).slice(0, 200));
    const { body } = await apiGet(page, `/api/conversations/${conv}`);
    const last = body.messages.filter((x) => x.role === 'user').at(-1);
    expect(body.messages.length === 10 && last.content === 'Now with words' && last.attachments.length === 1 &&
      last.attachments[0].id === id, { n: body.messages.length, last });
    expect(await replies(page).nth(8).locator('a.att-img').count() === 1, 'no thumbnail');
  });

  await check("an attachment id that is not the user's is a 404", async () => {
    const n = page.errors.length;
    const { status } = await apiGet(page, `/api/attachments/${'0'.repeat(32)}`);
    expect(status === 404, status);
    await page.waitForTimeout(100);   // the browser's own console line for the 404, then dropped
    page.errors.splice(n, page.errors.length - n, ...page.errors.slice(n).filter((e) => !/\b404\b/.test(e)));
  });
  await check('no script errors, no request to another host', () => {
    expect(page.errors.length === 0, page.errors.join(' | '));
    expect(page.remote.length === 0, page.remote.join(' '));
    expect(base.length > 0, base);
  });
} catch (e) {
  notOk('attachments test ran to the end', e.message);
}
await browser.close();
process.exit(exitCode());
