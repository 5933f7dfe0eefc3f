// icons.mjs - renders the app's icons (www/icons/*.svg, drawn by hand) to the PNGs the
// manifest lists, in Debian's chromium: node tests/browser/icons.mjs (from the checkout).
// Not a test: run it after changing an SVG, and commit the PNGs.
import { chromium } from 'playwright-core';
import { readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('../../www/icons/', import.meta.url);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
for (const [svg, png, size] of [['icon.svg', 'icon-192.png', 192], ['icon.svg', 'icon-512.png', 512],
  ['maskable.svg', 'maskable-512.png', 512], ['icon.svg', 'apple-touch-icon.png', 180]]) {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  const data = readFileSync(new URL(svg, dir)).toString('base64');
  await page.setContent(`<style>html,body{margin:0;background:transparent}</style><img src="data:image/svg+xml;base64,${data}" width="${size}" height="${size}">`);
  writeFileSync(new URL(png, dir), await page.screenshot({ omitBackground: true }));
  await page.close();
}
await browser.close();
