// The web app in real Chromium against a real single-process HT Base and the fixture site: add a URL and watch
// its artifacts, read it in the sandboxed SingleFile frame, search, retry a failed artifact, delete, axe-core
// and the 375 px layout. Elements are found by their accessible names, as a screen reader user would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { http, startTestEmbedded, tempDir, terminal, waitFor } from '../support/embedded.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import {
  SCREENSHOTS,
  launchBrowser,
  openApp,
  recordProgress,
  seenStates,
  seriousViolations,
  waitForText,
} from '../support/webapp-browser.ts';
import type { Embedded } from '../../containers/standalone/app.ts';

const SITE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
const TITLE = 'The Lighthouse Keepers of Skerryvore';
const RETRY_PAGE = '<!doctype html><html lang="en"><title>Second chance</title><p>RETRY-SENTINEL back online</p>';

type View = { status: string; artifacts: { status: string; attempts: number }[] };

const noOverflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

describe('web app', () => {
  let site: StaticServer;
  let retryReady = false;
  let dir: { path: string; remove(): Promise<void> };
  let app: Embedded;
  let browser: Browser;
  let articleId = '';

  before(async () => {
    site = await serveDir(SITE, {
      routes: {
        '/retry.html': (_req, res) => {
          if (retryReady) res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(RETRY_PAGE);
        },
      },
    });
    dir = await tempDir();
    app = await startTestEmbedded(dir.path, { MAX_DELIVERY_ATTEMPTS: '2', NAVIGATION_TIMEOUT_MS: '8000' });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await site?.close();
    await dir?.remove();
  });

  test('the shell is served at / under a strict CSP', async () => {
    const r = await http(app.url, '/');
    assert.equal(r.status, 200);
    const csp = r.headers.get('content-security-policy') ?? '';
    for (const d of [
      "default-src 'self'",
      "script-src 'self'",
      "object-src 'none'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ])
      assert.ok(csp.includes(d), `CSP lacks ${d}: ${csp}`);
    assert.doesNotMatch(String(r.body), /<script>|<style|style=/, 'no inline script or style');
    const m = await http(app.url, '/manifest.webmanifest');
    assert.equal(m.body.display, 'standalone');
    assert.equal(m.body.share_target.params.url, 'share-url');
  });

  test('add a URL and see each artifact go from pending to succeeded', async () => {
    const { page, errors } = await openApp(browser, app.url);
    assert.deepEqual(await seriousViolations(page), [], 'axe on the empty library and the add form');
    await recordProgress(page);
    await page.locator('::-p-aria(URL)').fill(`${site.origin}/index.html`);
    const expected = app.monolith.binary
      ? ['SingleFile', 'Monolith', 'PDF', 'Screenshot', 'Readable']
      : ['SingleFile', 'PDF', 'Screenshot', 'Readable'];
    if (!app.monolith.binary) {
      // No monolith binary on this machine: that artifact would be skipped, so do not ask for it.
      await page.locator('::-p-aria(Formats)').click();
      await page.locator('::-p-aria(Monolith)').click();
    }
    await page.locator('::-p-aria(Archive)').click();
    const link = await page.waitForSelector('::-p-aria(Progress) a');
    articleId = (await link!.evaluate((a) => (a as HTMLAnchorElement).hash)).replace('#/archives/', '');
    await waitFor(app.url, articleId, terminal);
    for (const f of expected) await waitForText(page, '::-p-aria(Progress)', `${f}: succeeded`, 30_000);
    const seen = await seenStates(page);
    assert.deepEqual(Object.keys(seen).sort(), [...expected].sort());
    for (const f of expected) {
      assert.equal(seen[f]![0], 'pending', `${f} starts pending: ${seen[f]}`);
      assert.equal(seen[f]!.at(-1), 'succeeded', `${f} ends succeeded: ${seen[f]}`);
    }
    // The library lists it with its thumbnail and tags once the summary is in.
    await app.idle();
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector(`::-p-aria(Archives) ::-p-aria(${TITLE})`);
    // The thumbnail: its own small WebP artifact, made during the same navigation as the screenshot.
    await page.waitForSelector('::-p-aria(Archives) img[src*="/artifacts/thumbnail"]');
    const thumb = await fetch(`${app.url}/archives/${articleId}/artifacts/thumbnail`);
    const bytes = Buffer.from(await thumb.arrayBuffer());
    assert.equal(thumb.headers.get('content-type'), 'image/webp');
    assert.equal(bytes.subarray(8, 12).toString('latin1'), 'WEBP', 'a WebP file');
    const shot = (await http(app.url, `/archives/${articleId}`)).body.artifacts.find(
      (x: { format: string }) => x.format === 'screenshot',
    );
    assert.ok(bytes.length < shot.sizeBytes / 4, `thumbnail ${bytes.length} B, screenshot ${shot.sizeBytes} B`);
    assert.deepEqual(await seriousViolations(page), [], 'axe on the library with an archive');
    await page.screenshot({ path: `${SCREENSHOTS}library.png` });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a refused URL gets a clear message', async () => {
    const { page } = await openApp(browser, app.url);
    await page.locator('::-p-aria(URL)').fill('ftp://example.com/file');
    await page.locator('::-p-aria(Archive)').click();
    await waitForText(page, '::-p-aria(Progress)', 'Only http and https addresses can be archived', 10_000);
    await page.close();
  });

  test("the reader shows the page's text inside the SingleFile tab's sandboxed iframe", async () => {
    const { page, errors } = await openApp(browser, `${app.url}/#/archives/${articleId}`);
    const tab = await page.waitForSelector('::-p-aria(SingleFile)[role="tab"]');
    assert.equal(await tab!.evaluate((t) => t.getAttribute('aria-selected')), 'true');
    const frame = await page.waitForSelector(`::-p-aria(SingleFile of ${TITLE})`);
    assert.equal(await frame!.evaluate((f) => f.getAttribute('sandbox')), '', 'sandbox="" (no allow-scripts)');
    const inner = (await frame!.contentFrame())!;
    await inner.waitForFunction(() => document.body?.innerText.includes('ARTICLE-SENTINEL'));
    const headers = (await http(app.url, `/archives/${articleId}/artifacts/singlefile`)).headers;
    assert.match(headers.get('content-security-policy') ?? '', /^sandbox/);
    await page.waitForSelector('::-p-aria(Summary)');
    assert.deepEqual(await seriousViolations(page), [], 'axe on the reader');
    await page.screenshot({ path: `${SCREENSHOTS}reader.png` });
    // The readable view is rebuilt from an allow-list: its text, and no script element.
    await page.locator('::-p-aria(Readable)[role="tab"]').click();
    await waitForText(page, '[role="tabpanel"]', 'ARTICLE-SENTINEL', 10_000);
    assert.equal(await page.$eval('[role="tabpanel"]', (p) => p.querySelectorAll('script, iframe, style').length), 0);
    // Keyboard: arrows move between tabs.
    await page.focus('[role="tab"][aria-selected="true"]');
    await page.keyboard.press('Home');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'SingleFile');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('search finds a word from the page', async () => {
    const { page } = await openApp(browser, app.url);
    await page.locator('::-p-aria(Search)').fill('Tiree');
    await page.waitForSelector('::-p-aria(Results for “Tiree”)');
    await page.waitForSelector(`::-p-aria(Archives) ::-p-aria(${TITLE})`);
    await page.locator('::-p-aria(Search)').fill('zzyzxnothinglikethis');
    await page.waitForSelector('::-p-aria(Results for “zzyzxnothinglikethis”)');
    await waitForText(page, 'main', 'Nothing matches.', 10_000);
    await page.close();
  });

  test('edit tags and a note in the reader, then filter the library by tag, site and date', async () => {
    const { page, errors } = await openApp(browser, `${app.url}/#/archives/${articleId}`);
    await page.locator('::-p-aria(Edit tags and note)').click();
    await page.locator('::-p-aria(Tags)').fill('lighthouses, Scotland,  lighthouses');
    await page.locator('::-p-aria(Note)').fill('Read it on the ferry to Tiree.');
    assert.deepEqual(await seriousViolations(page), [], 'axe on the tags and note form');
    await page.locator('::-p-aria(Save)').click();
    await waitForText(page, 'main', 'Tags and note saved.', 10_000);
    await waitForText(page, '::-p-aria(Tags and note)', 'Read it on the ferry to Tiree.', 10_000);
    const saved = (await http(app.url, `/archives/${articleId}`)).body;
    assert.deepEqual(saved.tags, ['lighthouses', 'Scotland'], 'trimmed, repeats dropped');
    assert.equal(saved.note, 'Read it on the ferry to Tiree.');
    // The note is searchable.
    const found = (await http(app.url, `/archives?q=ferry`)).body;
    assert.deepEqual(
      found.items.map((i: { id: string }) => i.id),
      [articleId],
    );

    // A tag in the reader opens the library filtered by it.
    await page.locator('::-p-aria(Tags and note) ::-p-aria(Scotland)').click();
    await page.waitForSelector(`::-p-aria(Archives) ::-p-aria(${TITLE})`);
    assert.equal(await page.$eval('#tag-filter', (i) => (i as HTMLInputElement).value), 'Scotland');
    assert.deepEqual(await seriousViolations(page), [], 'axe on the filtered library');
    const setFilter = async (label: string, value: string) => {
      await page.locator(`::-p-aria(${label})`).fill(value);
      await page.keyboard.press('Tab'); // inputs apply on change
    };
    await setFilter('Tag', 'no-such-tag');
    await waitForText(page, 'main', 'Nothing matches.', 10_000);
    await page.locator('::-p-aria(Clear filters)').click();
    await page.waitForSelector(`::-p-aria(Archives) ::-p-aria(${TITLE})`);
    await setFilter('Site', 'elsewhere.example');
    await waitForText(page, 'main', 'Nothing matches.', 10_000);
    await setFilter('Site', new URL(site.origin).hostname);
    await page.waitForSelector(`::-p-aria(Archives) ::-p-aria(${TITLE})`);
    await setFilter('Archived to', '2001-01-01');
    await waitForText(page, 'main', 'Nothing matches.', 10_000);
    assert.match(await page.evaluate(() => location.hash), /to=2001-01-01/, 'the filters are kept in the address');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('retry a failed artifact', async () => {
    // /retry.html never answers until `retryReady`: the first capture fails with a navigation timeout.
    const url = `${site.origin}/retry.html`;
    const r = await http(app.url, '/archive', { method: 'POST', json: { url, formats: ['singlefile'] } });
    assert.equal(r.status, 202);
    const failed = await waitFor<View>(app.url, r.body.id, terminal);
    assert.equal(failed.artifacts[0]!.status, 'failed', JSON.stringify(failed));
    retryReady = true;
    const { page } = await openApp(browser, `${app.url}/#/archives/${r.body.id}`);
    await page.locator('::-p-aria(Retry SingleFile)').click();
    const frame = await page.waitForSelector('::-p-aria(SingleFile of Second chance)', { timeout: 60_000 });
    const inner = (await frame!.contentFrame())!;
    await inner.waitForFunction(() => document.body?.innerText.includes('RETRY-SENTINEL'));
    const done = (await http<View>(app.url, `/archives/${r.body.id}`)).body;
    assert.equal(done.artifacts[0]!.status, 'succeeded');
    assert.ok(done.artifacts[0]!.attempts > failed.artifacts[0]!.attempts, 'captured again');
    await page.close();
  });

  test('delete an archive from the library', async () => {
    const { page } = await openApp(browser, app.url);
    await page.locator('::-p-aria(Select Second chance)').click();
    await page.locator('::-p-aria(Delete selected)').click();
    await page.locator('::-p-aria(Confirm delete)').click();
    await waitForText(page, 'main', 'Deleted 1 archive.', 10_000);
    assert.equal(await page.$('::-p-aria(Archives) ::-p-aria(Second chance)'), null);
    const list = (await http(app.url, '/archives')).body;
    assert.deepEqual(
      list.items.map((i: { id: string }) => i.id),
      [articleId],
    );
    await page.close();
  });

  test('at 375 px nothing overflows horizontally', async () => {
    for (const [name, path] of [
      ['library', '/'],
      ['reader', `/#/archives/${articleId}`],
    ] as const) {
      const { page } = await openApp(browser, app.url + path, 375);
      await page.waitForSelector(name === 'library' ? `::-p-aria(${TITLE})` : '::-p-aria(Files)');
      assert.ok((await noOverflow(page)) <= 375, `${name} scrollWidth ${await noOverflow(page)}`);
      await page.screenshot({ path: `${SCREENSHOTS}${name}-375.png`, fullPage: true });
      await page.close();
    }
  });
});
