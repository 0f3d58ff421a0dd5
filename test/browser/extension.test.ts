// The browser extension (functions/api/web/extension, Manifest V3) loaded into real Chromium: its popup, set up by
// its labels with a server and key, archives a fixture page through the API (a CORS request from the extension's
// origin, which the server allows by ALLOWED_EXTENSION_IDS) and shows the progress to the end. Also: the zip the app
// serves, CORS for no other origin, and the bookmarklet the app offers (it opens the app's share target).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, type Browser, type Page } from 'puppeteer-core';
import { resolveChromium } from '../../containers/browser/chromium.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir } from '../support/embedded.ts';
import { keyFor } from '../support/owners.ts';
import type { Embedded } from '../../containers/standalone/app.ts';
import { seriousViolations } from '../support/webapp-browser.ts';

const EXT = fileURLToPath(new URL('../../functions/api/web/extension', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
/** Chromium's id for an unpacked extension: sha256 of its path, first 32 hex digits spelled with a-p. */
const EXT_ID = [...createHash('sha256').update(EXT).digest('hex').slice(0, 32)]
  .map((c) => String.fromCharCode(97 + parseInt(c, 16)))
  .join('');

/**
 * chrome-headless-shell (@sparticuz/chromium, the capture browser) is built without extensions: the extension runs
 * in a full Chromium (Debian's `chromium` package, or EXTENSION_CHROME_PATH).
 */
const FULL_CHROMIUM = [process.env.EXTENSION_CHROME_PATH, '/usr/bin/chromium'].find((p) => p && existsSync(p));
// CI installs it (.ci/run): there a missing Chromium fails the test instead of skipping it.
const skip =
  FULL_CHROMIUM || process.env.CI
    ? false
    : 'needs a full Chromium: apt-get install chromium, or set EXTENSION_CHROME_PATH';

let site: StaticServer;
let dir: { path: string; remove(): Promise<void> };
let app: Embedded;
let browser: Browser;
let key: string;

before(async () => {
  site = await serveDir(FIXTURE);
  dir = await tempDir();
  app = await startTestEmbedded(dir.path, { ALLOWED_EXTENSION_IDS: EXT_ID, API_KEYS_REQUIRED: 'true' });
  key = await keyFor(app.db.db, 'extension');
  if (!FULL_CHROMIUM) return;
  const spec = await resolveChromium({ executablePath: FULL_CHROMIUM });
  browser = await launch({
    executablePath: spec.executablePath,
    args: [
      ...spec.args.filter((a) => !a.startsWith('--disable-extensions')),
      `--disable-extensions-except=${EXT}`,
      `--load-extension=${EXT}`,
    ],
    ignoreDefaultArgs: ['--disable-extensions'],
    headless: true,
    defaultViewport: { width: 375, height: 640 },
  });
});

after(async () => {
  await browser?.close();
  await app?.close();
  await site?.close();
  await dir?.remove();
});

async function byLabel(page: Page, label: string, value: string) {
  const el = await page.waitForSelector(`::-p-aria(${label})`);
  await el!.click({ clickCount: 3 });
  await el!.type(value);
}

test('the extension, loaded into Chromium, archives a page and shows its progress to the end', { skip }, async () => {
  const worker = await browser.waitForTarget(
    (t) => t.type() === 'service_worker' && t.url().startsWith(`chrome-extension://${EXT_ID}/`),
    { timeout: 20_000 },
  );
  assert.ok(worker, 'the extension service worker runs');

  const popup = await browser.newPage();
  await popup.goto(`chrome-extension://${EXT_ID}/popup.html`);
  await byLabel(popup, 'Server address', app.url);
  // Shown with the form (byLabel waited for it): the id the server's ALLOWED_EXTENSION_IDS must list.
  assert.equal(await popup.$eval('#extid', (e) => e.textContent), EXT_ID, 'the settings show the id to allow');
  await byLabel(popup, 'API key', 'htb_wrong-key-000000000000000000000000');
  await (await popup.waitForSelector('::-p-aria(Save)'))!.click();
  await popup.waitForFunction(() =>
    /refused the API key/.test(document.getElementById('settings-error')!.textContent!),
  );
  await byLabel(popup, 'API key', key);
  await (await popup.waitForSelector('::-p-aria(Save)'))!.click();
  // Save checks the key against the server before it stores it and shows the archive view; leaving the page before
  // then (the goto + reload below) would drop the settings, and the reloaded popup would ask for them again.
  await popup.waitForSelector('::-p-aria(Archive this tab)', { visible: true, timeout: 60_000 });

  // The context-menu path: the popup opened for a URL archives it at once.
  const target = `${site.origin}/index.html`;
  await popup.goto(`chrome-extension://${EXT_ID}/popup.html#url=${encodeURIComponent(target)}`);
  await popup.reload();
  const seen = new Set<string>();
  const deadline = Date.now() + 120_000;
  let text = '';
  while (Date.now() < deadline) {
    text = await popup.$eval('[role=status]', (e) => e.textContent ?? '');
    seen.add(text);
    if (/^Archived|failed/.test(text)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const view = await popup.$eval('#settings', (f) => ((f as HTMLElement).hidden ? 'archive view' : 'settings form'));
  assert.match(text, /^Archived/, `${view}; seen: ${[...seen].join(' | ')}`);
  assert.ok(
    [...seen].some((s) => /Archiving… \d of \d formats done/.test(s)),
    `progress was shown: ${[...seen].join(' | ')}`,
  );
  const items = await popup.$$eval('[aria-label=Formats] li', (li) => li.map((x) => x.textContent));
  assert.ok(items.includes('singlefile: succeeded'), items.join(', '));
  assert.deepEqual(await seriousViolations(popup), [], 'the popup passes axe at 375 px');

  const href = await popup.$eval('a#open', (a) => (a as HTMLAnchorElement).href);
  const id = /#\/archives\/([0-9a-f-]{36})$/.exec(href)![1]!;
  const a = (await http(app.url, `/archives/${id}`, { headers: { Authorization: `Bearer ${key}` } })).body;
  assert.ok(['complete', 'partial'].includes(a.status), a.status);
  assert.equal(a.url, target);
});

test('CORS answers the extension origin and no other; the app serves the extension as a zip', async () => {
  const pre = (origin: string) =>
    fetch(`${app.url}/archive`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type',
      },
    });
  const ok = await pre(`chrome-extension://${EXT_ID}`);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get('access-control-allow-origin'), `chrome-extension://${EXT_ID}`);
  assert.match(ok.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  const other = await pre('chrome-extension://abcdefghijklmnopabcdefghijklmnop');
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  assert.equal(other.status, 403);
  const site2 = await pre('https://evil.example');
  assert.equal(site2.headers.get('access-control-allow-origin'), null);

  const zip = await http<Buffer>(app.url, '/extension.zip');
  assert.equal(zip.status, 200);
  assert.equal(zip.headers.get('content-type'), 'application/zip');
  assert.equal(zip.body.subarray(0, 4).toString('hex'), '504b0304');
  for (const name of ['manifest.json', 'popup.html', 'popup.js', 'background.js'])
    assert.ok(zip.body.includes(Buffer.from(name)), `${name} is in the zip`);
});

test('the app offers a bookmarklet that opens its share target with the current tab', { skip }, async () => {
  const page = await browser.newPage();
  await page.setViewport({ width: 375, height: 800 });
  await page.goto(app.url, { waitUntil: 'networkidle0' });
  const link = await page.waitForSelector('::-p-aria(Archive to HT Base)');
  const href = await link!.evaluate((a) => (a as HTMLAnchorElement).href);
  assert.ok(href.startsWith('javascript:'));
  // Run it as the browser would on another site's page, and see where it goes.
  const other = await browser.newPage();
  await other.goto(`${site.origin}/index.html`);
  const opened = new Promise<string>((resolve) => browser.once('targetcreated', (t) => resolve(t.url())));
  await other.evaluate(decodeURI(href.slice('javascript:'.length)));
  assert.equal(await opened, `${app.url}/?share-url=${encodeURIComponent(`${site.origin}/index.html`)}`);
  await other.close();
  await page.close();
});
