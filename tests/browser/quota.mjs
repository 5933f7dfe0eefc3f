// quota.mjs - a prompt refused for the user's storage quota: the page takes the
// prompt back into the composer and shows the error frame's message where errors
// show (#chat-error), and nothing of it stays in the conversation. The quota is set
// with lightchat-admin on the stack's state directory. See lib.mjs.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  user, stateDir, check, expect, notOk, exitCode, launch, newPage, login, replies, send,
} from './lib.mjs';

const admin = fileURLToPath(new URL(`../../${process.env.BUILD || 'build'}/lightchat-admin`, import.meta.url));
const quota = (value) => execFileSync(admin, ['user', 'quota', user, value], {
  env: { ...process.env, LIGHTCHAT_CONFIG: '/dev/null', LIGHTCHAT_STATE: stateDir },
  stdio: ['ignore', 'ignore', 'ignore'],
});

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await newPage(context);

try {
  await login(page);
  await send(page, 'before the quota');
  await check('a prompt within the quota is answered', async () =>
    (await replies(page).count()) === 2);
  quota('1');
  await page.fill('#prompt', 'past the quota');
  await page.press('#prompt', 'Enter');
  await check('past the quota the refusal is shown where errors show', async () => {
    await page.locator('#chat-error').waitFor({ state: 'visible', timeout: 5000 });
    const text = await page.locator('#chat-error').innerText();
    expect(/storage quota is used up/.test(text) && /user_storage_quota/.test(text), text);
  });
  await check('the prompt is back in the composer, not in the conversation', async () => {
    expect(await page.inputValue('#prompt') === 'past the quota', await page.inputValue('#prompt'));
    expect(await replies(page).count() === 2, await replies(page).count());
  });
  quota('default');
  await check('no script errors, no request to another host', () => {
    expect(page.errors.length === 0, page.errors.join(' | '));
    expect(page.remote.length === 0, page.remote.join(' '));
  });
} catch (e) {
  notOk('quota test ran to the end', e.message);
} finally {
  await browser.close();
}
process.exit(exitCode());
