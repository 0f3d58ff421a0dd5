// Capture behaviour on hostile and awkward pages, real Chromium and loopback fixtures: consent banners,
// endless feeds, downloads, bot challenges and blank pages, tracker blocking, resource limits, the rendered
// DOM, renderer crashes and leak-free repetition.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage, type FormatResult } from '../../containers/browser/capture.ts';
import { processTree } from '../../containers/browser/proc.ts';
import { PermanentError } from '../../shared/core/errors.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';

const SITE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
const logger = silentLogger();

function body(r: FormatResult | undefined): Buffer {
  assert.ok(r, 'format missing from results');
  if (!r.ok) assert.fail(`expected success, got ${r.error.name}: ${r.error.message}`);
  return r.body;
}

function pixel(png: PNG, x: number, y: number): [number, number, number] {
  const i = (png.width * y + x) * 4;
  return [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
}

const HUGE = 3 * 1024 * 1024;

describe('capture behaviour', () => {
  let site: StaticServer;
  let trackers: StaticServer; // stands in for the tracker hosts, which the browser resolves to loopback
  let pool: BrowserPool;

  before(async () => {
    site = await serveDir(SITE, {
      routes: {
        '/attachment.bin': (_req, res) => {
          res.writeHead(200, {
            'content-type': 'application/octet-stream',
            'content-disposition': 'attachment; filename="data.bin"',
            'content-length': 1_000_000,
          });
          res.end(Buffer.alloc(1_000_000, 7));
        },
        '/huge.png': (_req, res) => {
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': HUGE });
          res.end(Buffer.alloc(HUGE, 1));
        },
        '/heavy.html': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(
            '<!doctype html><title>Heavy</title><p>HEAVY-PAGE with one oversized image</p><img src="/huge.png" width="200" height="100"><img src="/img/hero.png">',
          );
        },
      },
    });
    trackers = await serveDir(SITE, {
      routes: {
        '/analytics.js': (_req, res) =>
          void res.writeHead(200, { 'content-type': 'text/javascript' }).end('window.ga = function () {};'),
        '/pagead/pixel.gif': (_req, res) =>
          void res.writeHead(200, { 'content-type': 'image/gif' }).end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64')),
      },
    });
    const port = new URL(trackers.origin).port;
    pool = new BrowserPool({
      logger,
      extraArgs: [
        `--host-resolver-rules=MAP www.google-analytics.com 127.0.0.1:${port}, MAP securepubads.g.doubleclick.net 127.0.0.1:${port}`,
      ],
    });
  });

  after(async () => {
    await pool?.close();
    await site?.close();
    await trackers?.close();
  });

  test('a OneTrust consent wall is dismissed: content in the screenshot, no banner in the SingleFile HTML', async () => {
    const url = `${site.origin}/consent-onetrust.html`;
    const r = await capturePage(pool, { url, formats: ['screenshot', 'singlefile'], logger });
    assert.deepEqual(r.consent?.cmps, ['Onetrust']);
    assert.equal(r.consent?.handled, true);
    assert.ok(!r.warnings.includes('consent_not_dismissed'));
    const html = body(r.results.singlefile).toString('utf8');
    assert.match(html, /CONSENT-CONTENT/);
    assert.doesNotMatch(html, /CONSENT-BANNER-TEXT/, 'the banner is in the archive');
    const png = PNG.sync.read(body(r.results.screenshot));
    const [cr, cg, cb] = pixel(png, 640, 250); // inside the green content block
    assert.ok(cg > 100 && cr < 40 && cb < 40, `content not visible: rgb(${cr},${cg},${cb})`);
    const [br, bg] = pixel(png, 640, 780); // where the red banner sat
    assert.ok(!(br > 150 && bg < 60), 'the banner is in the screenshot');

    // The control: with consent handling off the same page is captured behind its wall.
    const off = await capturePage(pool, { url, formats: ['screenshot', 'singlefile'], logger, consent: 'off' });
    assert.equal(off.consent, null);
    assert.match(body(off.results.singlefile).toString('utf8'), /CONSENT-BANNER-TEXT/);
    const [or, og] = pixel(PNG.sync.read(body(off.results.screenshot)), 640, 250);
    assert.ok(og < 60 && or < 60, 'without autoconsent the content is covered by the dark filter');
  });

  test('an endless feed is scrolled within its bounds: many items, no hang', async () => {
    const started = Date.now();
    const r = await capturePage(pool, {
      url: `${site.origin}/infinite.html`,
      formats: ['screenshot', 'singlefile'],
      logger,
      timeouts: { scroll: 4_000 },
      limits: { maxScrollSteps: 40 },
    });
    const took = Date.now() - started;
    assert.ok(took < 25_000, `took ${took} ms`);
    const items =
      body(r.results.singlefile)
        .toString('utf8')
        .match(/FEED-ITEM \d+/g) ?? [];
    assert.ok(items.length >= 60, `only ${items.length} feed items captured`);
    body(r.results.screenshot);
  });

  test('downloads started by the page do not hang or replace it; an attachment URL fails at once', async () => {
    const started = Date.now();
    const r = await capturePage(pool, {
      url: `${site.origin}/download.html`,
      formats: ['screenshot', 'readable', 'singlefile', 'pdf'],
      logger,
    });
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    assert.match(body(r.results.singlefile).toString('utf8'), /DOWNLOAD-PAGE/);
    assert.equal(r.meta.finalUrl, `${site.origin}/download.html`);
    assert.ok(
      site.requests.some((p) => p.startsWith('/attachment.bin')),
      'the page did start its download',
    );
    const t0 = Date.now();
    await assert.rejects(
      capturePage(pool, { url: `${site.origin}/attachment.bin`, formats: ['screenshot'], logger }),
      (err: unknown) => err instanceof PermanentError && err.code === 'navigation_failed',
    );
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal((await pool.browser()).browserContexts().length, 1);
  });

  test('a bot challenge and a blank page are captured with a warning; an ordinary page has none', async () => {
    const ch = await capturePage(pool, { url: `${site.origin}/challenge.html`, formats: ['screenshot'], logger });
    assert.deepEqual(ch.warnings, ['bot_challenge']);
    body(ch.results.screenshot);
    const blank = await capturePage(pool, { url: `${site.origin}/blank.html`, formats: ['screenshot'], logger });
    assert.deepEqual(blank.warnings, ['blank_page']);
    const ok = await capturePage(pool, { url: `${site.origin}/index.html`, formats: ['screenshot'], logger });
    assert.deepEqual(ok.warnings, []);
  });

  test('tracker blocking (opt-in) keeps analytics and ad requests from being made', async () => {
    const url = `${site.origin}/tracker.html`;
    const blocked = await capturePage(pool, { url, formats: ['singlefile'], logger, blockTrackers: true });
    assert.match(body(blocked.results.singlefile).toString('utf8'), /TRACKED-PAGE/);
    assert.equal(trackers.requests.length, 0, `tracker requests reached the network: ${trackers.requests.join(', ')}`);
    assert.ok(site.requests.includes('/img/hero.png'), 'first-party resources still load');
    // The control: off by default, the same page does call both (proving the mapping works).
    await capturePage(pool, { url, formats: ['singlefile'], logger });
    assert.ok(trackers.requests.includes('/analytics.js'), `requests: ${trackers.requests.join(', ')}`);
    assert.ok(trackers.requests.includes('/pagead/pixel.gif'));
  });

  test('a resource over the per-resource limit is aborted and the page still captured', async () => {
    const r = await capturePage(pool, {
      url: `${site.origin}/heavy.html`,
      formats: ['singlefile', 'screenshot'],
      logger,
      limits: { maxResourceBytes: 1024 * 1024 },
    });
    assert.ok(r.warnings.includes('resource_too_large'));
    const html = body(r.results.singlefile).toString('utf8');
    assert.match(html, /HEAVY-PAGE/);
    assert.ok(html.length < HUGE, 'the oversized image is not in the archive');
    body(r.results.screenshot);
  });

  test('the rendered DOM is returned on request, after the scroll and the page scripts', async () => {
    const r = await capturePage(pool, { url: `${site.origin}/index.html`, formats: ['screenshot'], logger, dom: true });
    assert.ok(r.dom, 'no dom');
    assert.match(r.dom, /JS-BUILT first item from fetch/);
    assert.match(
      r.dom,
      /id="lazy-observer"[^>]*src="[^"]*lazy-observer\.png/,
      'the lazy image got its src from the scroll',
    );
    const none = await capturePage(pool, { url: `${site.origin}/index.html`, formats: ['screenshot'], logger });
    assert.equal(none.dom, undefined);
  });

  test("a page whose markup hangs Chromium's printToPDF (corpus la-nacion) still gets its PDF", async () => {
    const started = Date.now();
    const r = await capturePage(pool, {
      url: `${site.origin}/print-hang.html`,
      formats: ['pdf', 'singlefile'],
      logger,
      timeouts: { pdf: 8_000 },
    });
    assert.equal(body(r.results.pdf).subarray(0, 5).toString('latin1'), '%PDF-');
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    assert.match(body(r.results.singlefile).toString('utf8'), /PRINT-HANG/);
  });

  test('a renderer crash fails only its job, fast and retryable; the browser keeps serving', async () => {
    const browser = await pool.browser();
    const pid = pool.pid();
    const started = Date.now();
    const job = capturePage(pool, {
      url: `${site.origin}/never-idle.html`,
      formats: ['screenshot', 'singlefile'],
      logger,
      timeouts: { settle: 20_000 },
    });
    const target = await browser.waitForTarget((t) => t.url().includes('never-idle'), { timeout: 10_000 });
    const session = await target.createCDPSession();
    await session.send('Page.crash').catch(() => undefined); // the reply never comes: the renderer is gone
    await assert.rejects(
      job,
      (err: unknown) => err instanceof Error && !(err instanceof PermanentError) && /crash/.test(err.message),
    );
    assert.ok(Date.now() - started < 15_000, `crash noticed after ${Date.now() - started} ms`);
    assert.equal(pool.pid(), pid, 'the browser process survived the renderer');
    const next = await capturePage(pool, { url: `${site.origin}/index.html`, formats: ['readable'], logger });
    body(next.results.readable);
    assert.equal(browser.browserContexts().length, 1);
  });

  test('20 captures in a row leak no context, page or process', async () => {
    const url = `${site.origin}/index.html`;
    await capturePage(pool, { url, formats: ['screenshot', 'readable'], logger });
    const pid = pool.pid()!;
    const first = processTree(pid).length;
    for (let i = 0; i < 20; i++) {
      const r = await capturePage(pool, { url, formats: ['screenshot', 'readable'], logger });
      body(r.results.readable);
    }
    const browser = await pool.browser();
    assert.equal(pool.pid(), pid);
    assert.equal(browser.browserContexts().length, 1);
    assert.equal((await browser.pages()).length, 0);
    // A renderer may still be exiting, and Chromium keeps one spare: allow that much.
    let last = processTree(pid).length;
    for (let i = 0; i < 40 && last > first + 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      last = processTree(pid).length;
    }
    assert.ok(last <= first + 1, `processes: ${first} after the first capture, ${last} after 20 more`);
  });
});
