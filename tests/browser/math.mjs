// math.mjs - TeX in replies (www/js/math.js): each of the four delimiters from the fake
// upstream's #math renders with KaTeX (a .katex element, its MathML kept, its layout
// styles applied in spite of the CSP), $…$ inside a code span or a fenced block stays
// text, <script> and an <img onerror> inside TeX stay inert, the Copy button and a
// click on an inline formula copy the TeX, and the formulas render again after a
// reload; screenshots light and dark at 1280×800 and 390×844. See lib.mjs.
import {
  base, artifacts, check, expect, notOk, exitCode, launch, newPage, login, send,
} from './lib.mjs';

const INLINE = ['a^2+b^2=c^2', '\\alpha+\\beta <img src=x onerror=alert(2)>'];
const DISPLAY = ['\\int_0^1 x^2\\,dx = \\frac{1}{3}', 'E = mc^2 <script>alert(1)</script>'];

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
// Any alert() that ran is counted, besides the dialog event playwright sees.
await context.addInitScript(() => {
  window.__alerts = 0;
  window.alert = () => { window.__alerts++; };
});
const page = await newPage(context);
let dialogs = 0;
page.on('dialog', (d) => { dialogs++; d.dismiss().catch(() => {}); });

// What the reply shows: the formulas (TeX, display or not, whether KaTeX rendered it).
const formulas = (reply) => reply.evaluate((el) => [...el.querySelectorAll('.math')].map((m) => ({
  tex: m.dataset.tex,
  display: m.classList.contains('math-display'),
  katex: !!m.querySelector(m.classList.contains('math-display') ? '.katex-display .katex' : '.katex'),
  mathml: m.querySelector('.katex-mathml annotation')?.textContent ?? null,
})));

async function checkRendered(reply, when) {
  await page.waitForFunction(() => document.querySelectorAll('article.msg[data-role="assistant"] .math .katex').length >= 4,
    null, { timeout: 10000 });
  const got = await formulas(reply);
  await check(`${when}: each of $…$, \\(…\\), $$…$$, \\[…\\] renders with KaTeX`, () => {
    const want = [...INLINE.map((tex) => ({ tex, display: false })), ...DISPLAY.map((tex) => ({ tex, display: true }))];
    for (const w of want) {
      const f = got.find((g) => g.tex === w.tex);
      expect(f && f.katex && f.display === w.display, { want: w, got });
    }
    expect(got.length === 4, got);
  });
  await check(`${when}: KaTeX's MathML survives the sanitizer (annotation = the TeX)`, () => {
    expect(got.every((g) => g.mathml === g.tex), got);
  });
}

try {
  await login(page);
  await page.click('#new-chat');
  const reply = await send(page, '#math');
  await checkRendered(reply, 'streamed');

  await check('KaTeX\'s layout styles are applied (CSSOM, the CSP refuses style attributes)', () =>
    reply.evaluate((el) => {
      const frac = el.querySelector('.math-display .mfrac .vlist');
      return !!frac && frac.style.height !== '' && !el.querySelector('.math [style*="url"]');
    }).then((ok) => ok || reply.evaluate((el) => el.querySelector('.math-display .katex-html').outerHTML.slice(0, 900)).then((h) => expect(false, h))));
  await check('a code span and a fenced block keep their $…$ as text', () => reply.evaluate((el) => {
    const spans = [...el.querySelectorAll(':not(pre) > code')].map((c) => c.textContent);
    const pre = el.querySelector('pre code');
    return spans.includes('$x_1$') && pre && pre.textContent.includes('$$\\sum_{i=1}^n i$$')
      && !el.querySelector('pre .math, pre .katex, code .katex');
  }));
  await check('prices ($5 and $6) stay text', async () =>
    /prices \$5 and \$6\./.test(await reply.innerText()));
  await check('<script> and <img onerror> inside TeX are inert (no element, no handler, no alert)', () =>
    reply.evaluate(() => {
      const box = document.querySelector('#messages');
      const handlers = [...box.querySelectorAll('*')].some((e) => [...e.attributes].some((a) => /^on/i.test(a.name)));
      return !box.querySelector('script, img, iframe, object, a[href^="javascript"]') && !handlers && window.__alerts === 0;
    }).then((ok) => ok && dialogs === 0));

  // Copy: the display formula's button, then a click on an inline one.
  const display = reply.locator('.math-display').first();
  await display.locator('button.math-copy').click();
  await check('the Copy button copies the display formula\'s TeX', async () => {
    await page.waitForFunction(() => document.querySelector('.math-display .math-copy').textContent === 'Copied', null, { timeout: 5000 });
    const text = await page.evaluate(() => navigator.clipboard.readText());
    expect(text === DISPLAY[0], text);
  });
  await reply.locator('.math-inline').first().click();
  await check('a click on an inline formula copies its TeX', async () => {
    await page.waitForFunction(() => document.querySelector('.math-inline[data-copied="yes"]'), null, { timeout: 5000 });
    const text = await page.evaluate(() => navigator.clipboard.readText());
    expect(text === INLINE[0], text);
  });
  await check('the copy button is a labelled button', async () =>
    (await display.locator('button.math-copy').getAttribute('aria-label')) === 'Copy the formula as TeX');

  // The conversation read back after a reload renders the same.
  await page.reload();
  await page.waitForSelector('#status[data-state="open"]', { timeout: 10000 });
  const again = page.locator('article.msg[data-role="assistant"]').last();
  await again.waitFor({ timeout: 10000 });
  await checkRendered(again, 'after a reload');

  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [w, h] of [[1280, 800], [390, 844]]) {
      await page.setViewportSize({ width: w, height: h });
      await again.locator('.math-display').first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${artifacts}/math-${w}-${scheme}.png` });
    }
  }
  await check('no horizontal overflow of the page at 390 px (formulas scroll in their box)', () =>
    page.evaluate(() => document.documentElement.scrollWidth <= 390));
  await check('no script errors (nor CSP refusals) on the page', () =>
    page.errors.length === 0 || Promise.reject(new Error(page.errors.join(' | '))));
  await check('no request to any other host', () => page.remote.length === 0 || Promise.reject(new Error(page.remote.join(' '))));
} catch (e) {
  notOk('math test ran to the end', e.stack);
}
await browser.close();
process.exit(exitCode());
