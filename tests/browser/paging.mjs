// paging.mjs - a long conversation opens on its newest page, and scrolling to the top
// reads the older pages until the first message, keeping in view what was shown;
// screenshots while older messages load and at the first message. The
// conversation is written straight into the database (STATE_DIR): 120 messages,
// more than two pages of the REST API's default 50. See lib.mjs.
import { execFileSync } from 'node:child_process';
import {
  base, user, artifacts, stateDir, check, expect, notOk, exitCode, launch, newPage, login,
} from './lib.mjs';

const N = 120;
const id = execFileSync('python3', ['-c', `
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=10)
cid = os.urandom(16).hex()
now = int(time.time() * 1000)
c.execute("INSERT INTO conversations (id, user, title, model, system_prompt, created_at, updated_at)"
          " VALUES (?,?,?,?,?,?,?)", (cid, sys.argv[2], "A long conversation", "gpt-4o-mini", "", now, now))
parent = None
for i in range(int(sys.argv[3])):
    # One branch (schema v9): each message follows the one before it.
    cur = c.execute("INSERT INTO messages (conversation_id, role, content, state, model, created_at,"
              " updated_at, parent_id) VALUES (?,?,?,?,?,?,?,?)", (cid, "user" if i % 2 == 0 else "assistant",
              "message %d\\n\\nline two of message %d" % (i, i), "complete", "gpt-4o-mini", now + i, now + i,
              parent))
    parent = cur.lastrowid
c.execute("UPDATE conversations SET current_leaf = ? WHERE id = ?", (parent, cid))
c.commit()
print(cid)
`, `${stateDir}/lightchat.db`, user, String(N)]).toString().trim();

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await newPage(context);
const shown = () => page.locator('#messages article.msg').count();
const firstText = async () => (await page.locator('#messages article.msg .msg-body').first().innerText()).split('\n')[0];

try {
  await login(page);
  await page.goto(`${base}/#c=${id}`);
  await check('a long conversation opens on its newest page (50 messages)', async () => {
    await page.waitForFunction(() => document.querySelectorAll('#messages article.msg').length > 0, null, { timeout: 10000 });
    const n = await shown();
    const last = (await page.locator('#messages article.msg .msg-body').last().innerText()).split('\n')[0];
    expect(n === 50 && last === `message ${N - 1}`, { n, last });
  });
  await check('it is scrolled to the newest message, older ones announced', async () => {
    const atBottom = await page.evaluate(() => {
      const l = document.getElementById('messages');
      return l.scrollHeight - l.scrollTop - l.clientHeight < 48;
    });
    const older = await page.locator('#messages p.older').getAttribute('data-state');
    expect(atBottom && older === 'more', { atBottom, older });
  });
  // Scrolled to the top: the next page comes, and what was at the top stays in view.
  // The screenshot: the announcement while they load, or (fast) message 70 kept in view.
  await page.evaluate(() => { document.getElementById('messages').scrollTop = 0; });
  await page.screenshot({ path: `${artifacts}/paging-loading-1280.png` });
  await check('scrolled to the top: 50 older messages are read (100)', async () => {
    await page.waitForFunction(() => document.querySelectorAll('#messages article.msg').length === 100, null, { timeout: 10000 });
    expect(await firstText() === 'message 20', await firstText());
  });
  await check('what was at the top stays in view (no jump to the oldest)', async () => {
    const got = await page.evaluate(() => {
      const l = document.getElementById('messages');
      const body = [...l.querySelectorAll('article.msg .msg-body')].find((b) => b.textContent.startsWith('message 70'));
      const box = l.getBoundingClientRect();
      const top = body ? body.getBoundingClientRect().top - box.top : null;
      return { scrollTop: l.scrollTop, top, height: l.clientHeight };
    });
    expect(got.scrollTop > 0 && got.top !== null && got.top >= 0 && got.top < got.height, got);
  });
  await page.evaluate(() => { document.getElementById('messages').scrollTop = 0; });
  await check('scrolled to the top again: the first 20, and nothing more to read', async () => {
    await page.waitForFunction((n) => document.querySelectorAll('#messages article.msg').length === n, N, { timeout: 10000 });
    await page.waitForSelector('#messages p.older[data-state="none"]', { state: 'attached', timeout: 5000 });
    expect(await firstText() === 'message 0', await firstText());
  });
  await page.evaluate(() => { document.getElementById('messages').scrollTop = 0; });
  await page.screenshot({ path: `${artifacts}/paging-top-1280.png` });
  await check('every message once, in order', async () => {
    const texts = await page.locator('#messages article.msg .msg-body').allInnerTexts();
    const got = texts.map((t) => t.split('\n')[0]);
    const want = Array.from({ length: N }, (_, i) => `message ${i}`);
    expect(JSON.stringify(got) === JSON.stringify(want), got.slice(0, 5));
  });
  await check('no page errors', () => {
    expect(page.errors.length === 0, page.errors);
  });
} catch (e) {
  notOk('paging test crashed', e.stack);
} finally {
  await browser.close();
}
process.exit(exitCode());
