#!/usr/bin/env node
/*
 * console.mjs - the duty console in a real browser: Debian's Chromium,
 * headless, driven by playwright-core.
 *
 *   node console.mjs URL TOKEN CALLBACK [--match TEXT] [--timeout SECONDS]
 *                    [--screenshot FILE]
 *
 * Opens the console at URL (alarmd's GET /), logs in with the officer
 * TOKEN, waits until the live stream is open, then runs CALLBACK (a shell
 * command that makes an incident arrive, e.g. one that publishes an alarm
 * or feeds a reading over HH), waits for a new incident to appear in the
 * list without any reload and over the same stream connection, opens it,
 * checks that the card and the detail name the enterprise's district and
 * sector as the API does (the names, the code only where the API has no
 * name), clicks 签收 and waits until the page shows it acknowledged.  It prints
 * what it saw as it goes and, last, one line
 *
 *   incident=<id> level=<level> status=acknowledged
 *
 * that the caller (the system test) can check against the store.  Exit 0
 * on success, 1 when the page did not do its part (the reason is printed,
 * and with --screenshot the page is saved as it was), 2 for bad usage.
 *
 * --match TEXT   only an incident whose card contains TEXT counts
 * --timeout S    seconds for each wait (default 30)
 * --screenshot F save a PNG of the page at the end (success or failure)
 *
 * Environment: CHROMIUM (default /usr/bin/chromium).  Every request the
 * page makes to another host than URL's is refused and fails the test:
 * the console must work without internet.  A JavaScript error on the page
 * fails it too.  A fresh user-data-dir is made for each run and removed.
 * tests/browser/console.sh installs playwright-core (npm ci) first.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function usage(msg) {
  if (msg) console.error(`console.mjs: ${msg}`);
  console.error('usage: node console.mjs URL TOKEN CALLBACK [--match TEXT] [--timeout SECONDS] [--screenshot FILE]');
  process.exit(2);
}

function parseArgs(argv) {
  const pos = [];
  const opt = { match: null, timeoutS: 30, screenshot: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--match' || a === '--timeout' || a === '--screenshot') {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      const v = argv[++i];
      if (a === '--match') opt.match = v;
      else if (a === '--screenshot') opt.screenshot = v;
      else {
        opt.timeoutS = Number(v);
        if (!Number.isFinite(opt.timeoutS) || opt.timeoutS <= 0) usage(`--timeout: not a number of seconds: ${v}`);
      }
    } else if (a.startsWith('--')) {
      usage(`unknown option ${a}`);
    } else {
      pos.push(a);
    }
  }
  if (pos.length !== 3) usage('URL, TOKEN and CALLBACK are required');
  let url;
  try { url = new URL(pos[0]); } catch { usage(`not a URL: ${pos[0]}`); }
  return { url, token: pos[1], callback: pos[2], ...opt };
}

const say = (msg) => console.log(`console: ${msg}`);

class Failure extends Error {}

/* Run the callback in a shell; its output goes to ours, prefixed. */
function runCallback(cmd, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    const relay = (stream, out) => stream.on('data', (b) => {
      for (const line of b.toString().split('\n')) if (line) out.write(`callback: ${line}\n`);
    });
    relay(child.stdout, process.stdout);
    relay(child.stderr, process.stderr);
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Failure(`the callback did not finish within ${timeoutMs / 1000} s: ${cmd}`));
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(new Failure(`cannot run the callback: ${e.message}`)); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Failure(`the callback failed (${signal ? `signal ${signal}` : `exit ${code}`}): ${cmd}`));
    });
  });
}

/*
 * The district and sector the page must show for incident id, from the
 * API itself (GET /v1/incidents/{id}, which needs no token): the names,
 * or the codes where the API knows no name.  null for an incident with
 * no enterprise.
 */
async function expectedPlace(origin, id) {
  const res = await fetch(`${origin}/v1/incidents/${id}`, { headers: { Accept: 'application/json' } });
  if (res.status !== 200) throw new Failure(`GET /v1/incidents/${id} answered ${res.status}`);
  const ent = (await res.json()).enterprise;
  if (!ent) return null;
  return {
    code: ent.district,
    district: ent.district_name || ent.district,
    sector: ent.sector_name || ent.sector,
    named: Boolean(ent.district_name && ent.sector_name),
  };
}

/* What the page shows about one incident card. */
async function cardInfo(page, id) {
  const card = page.locator(`li[data-id="${id}"][data-testid="incident-${id}"]`);
  return {
    status: await card.getAttribute('data-status'),
    level: await card.getAttribute('data-level'),
    title: (await card.locator('[data-testid="incident-title"]').textContent()).trim(),
    statusText: (await card.locator('[data-testid="incident-status"]').textContent()).trim(),
    text: (await card.innerText()).replace(/\s+/g, ' ').trim(),
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const timeout = args.timeoutS * 1000;
  const origin = args.url.origin;
  const userDataDir = mkdtempSync(join(tmpdir(), 'anquan-chromium-'));
  const problems = [];
  let context = null;
  let page = null;
  let ok = false;

  try {
    say(`starting ${process.env.CHROMIUM || '/usr/bin/chromium'} (headless)`);
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: FLAGS,
      viewport: { width: 1400, height: 900 },
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      timeout,
    });
    context.setDefaultTimeout(timeout);
    /* The console must work without internet: refuse any other host. */
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(`${origin}/`) || u === origin) return route.continue();
      problems.push(`the page asked for ${u}, which is not on the console's host`);
      return route.abort('blockedbyclient');
    });
    page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => problems.push(`JavaScript error on the page: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') say(`page console error: ${m.text()}`); });

    say(`opening ${args.url.href}`);
    const res = await page.goto(args.url.href, { waitUntil: 'load' });
    if (!res || res.status() !== 200) throw new Failure(`GET ${args.url.href} answered ${res ? res.status() : 'nothing'}`);
    const ctype = res.headers()['content-type'] || '';
    if (!ctype.startsWith('text/html')) throw new Failure(`the console is served as '${ctype}', not text/html`);
    say(`page loaded: "${await page.title()}"`);

    /* Log in. */
    await page.locator('[data-testid="login-token"]').waitFor({ state: 'visible' });
    await page.locator('[data-testid="login-token"]').fill(args.token);
    await page.locator('[data-testid="login-submit"]').click();
    const loggedIn = await Promise.race([
      page.locator('[data-testid="conn-state"][data-state="open"]').waitFor({ state: 'attached' }).then(() => true),
      page.waitForFunction(() => {
        const e = document.querySelector('[data-testid="login-error"]');
        return e && e.offsetParent !== null && e.textContent.trim() !== '' ? e.textContent.trim() : null;
      }).then((h) => h.jsonValue()),
    ]);
    if (loggedIn !== true) throw new Failure(`login refused: ${loggedIn}`);
    say(`logged in as ${(await page.locator('[data-testid="officer"]').textContent()).trim()}; live stream open`);

    /* What is there before the callback, and a mark that a reload would lose. */
    const before = await page.$$eval('li[data-id][data-testid^="incident-"]', (els) => els.map((e) => e.getAttribute('data-id')));
    const connects = await page.locator('[data-testid="conn-state"]').getAttribute('data-connects');
    await page.evaluate(() => { window.anquanTestMark = 'still-the-same-page'; });
    let navigations = 0;
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
    say(`${before.length} open incident(s) listed before the callback`);

    say(`running the callback: ${args.callback}`);
    await runCallback(args.callback, timeout);

    /* The new incident, live. */
    const handle = await page.waitForFunction(([seen, match]) => {
      const cards = document.querySelectorAll('li[data-id][data-testid^="incident-"]');
      for (const c of cards) {
        if (seen.includes(c.getAttribute('data-id'))) continue;
        if (match && !c.textContent.includes(match)) continue;
        return c.getAttribute('data-id');
      }
      return null;
    }, [before, args.match], { timeout, polling: 100 }).catch(() => null);
    if (!handle) throw new Failure(`no new incident${args.match ? ` containing '${args.match}'` : ''} appeared within ${args.timeoutS} s`);
    const id = await handle.jsonValue();
    const mark = await page.evaluate(() => window.anquanTestMark);
    const connectsNow = await page.locator('[data-testid="conn-state"]').getAttribute('data-connects');
    if (mark !== 'still-the-same-page' || navigations !== 0) throw new Failure('the page was reloaded: the incident did not arrive live');
    if (connectsNow !== connects) say(`note: the stream reconnected meanwhile (${connects} -> ${connectsNow}); the incident may have come with the re-read list`);
    else say('the incident came over the open stream (no reload, no reconnect)');
    const seen = await cardInfo(page, id);
    say(`new incident ${id}: [${seen.level}] ${seen.title} — ${seen.statusText}`);
    say(`card: ${seen.text}`);

    /* Its details, then 签收. */
    await page.locator(`li[data-id="${id}"][data-testid="incident-${id}"]`).click();
    await page.locator(`[data-testid="detail"][data-id="${id}"]`).waitFor({ state: 'attached' });
    const reasons = await page.$$eval('[data-testid="detail-reasons"] li', (els) => els.map((e) => e.textContent.trim()));
    say(`detail: ${(await page.locator('[data-testid="detail-title"]').textContent()).trim()}`);
    for (const r of reasons) say(`  reason: ${r}`);

    /* Where it is, in words the officers read. */
    const place = await expectedPlace(origin, id);
    if (place) {
      const district = (await page.locator('[data-testid="detail-district"]').textContent()).trim();
      const sector = (await page.locator('[data-testid="detail-sector"]').textContent()).trim();
      say(`detail: 属地 ${district}, 行业 ${sector}`);
      if (!district.startsWith(place.district)) throw new Failure(`the detail shows the district as '${district}', not as '${place.district}'`);
      if (sector !== place.sector) throw new Failure(`the detail shows the sector as '${sector}', not as '${place.sector}'`);
      const onCard = /属地 (\S+)/.exec(seen.text);
      if (!onCard || onCard[1] !== place.district) throw new Failure(`the card shows ${onCard ? `'属地 ${onCard[1]}'` : 'no 属地'}, not '属地 ${place.district}': ${seen.text}`);
      if (!place.named) say(`note: the API has no name for district ${place.code} or sector ${place.sector}; the codes are shown`);
    }
    const ack = page.locator('[data-testid="btn-ack"]');
    if (await ack.isDisabled()) throw new Failure(`签收 is not offered for incident ${id} (status ${seen.status})`);
    say('clicking 签收');
    await ack.click();
    const outcome = await Promise.race([
      page.locator(`li[data-id="${id}"][data-status="acknowledged"]`).waitFor({ state: 'attached' })
        .then(() => page.locator(`[data-testid="detail"][data-id="${id}"] [data-testid="detail-status"][data-status="acknowledged"]`)
          .waitFor({ state: 'attached' })).then(() => 'acknowledged'),
      page.waitForFunction(() => {
        const e = document.querySelector('[data-testid="action-error"]');
        return e && e.textContent.trim() !== '' ? e.textContent.trim() : null;
      }).then((h) => h.jsonValue()),
    ]);
    if (outcome !== 'acknowledged') throw new Failure(`签收 failed on the page: ${outcome}`);
    const after = await cardInfo(page, id);
    const detailStatus = (await page.locator('[data-testid="detail-status"]').textContent()).trim();
    say(`incident ${id} now shows ${after.statusText} (card) / ${detailStatus} (detail)`);
    if (problems.length) throw new Failure(problems.join('; '));
    ok = true;
    console.log(`incident=${id} level=${after.level} status=${after.status}`);
  } catch (e) {
    say(`FAILED: ${e && e.message ? e.message : e}`);
    for (const p of problems) say(`problem: ${p}`);
    if (page) {
      try {
        const conn = await page.locator('[data-testid="conn-state"]').textContent({ timeout: 1000 });
        say(`connection state on the page: ${conn}`);
      } catch { /* the page is gone */ }
    }
  } finally {
    if (page && args.screenshot) {
      try {
        await page.screenshot({ path: args.screenshot, fullPage: true, timeout: 5000 });
        say(`screenshot: ${args.screenshot}`);
      } catch (e) { say(`no screenshot: ${e.message}`); }
    }
    if (context) await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  }
  process.exit(ok ? 0 : 1);
}

main();
