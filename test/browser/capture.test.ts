// The capture engine against real Chromium and the fixture site on loopback: one navigation, four
// formats, offline-complete SingleFile HTML, failure isolation, hostile pages, browser hygiene.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage, type CaptureResult, type FormatResult } from '../../containers/browser/capture.ts';
import { processGroup, processTree } from '../../containers/browser/proc.ts';
import { PermanentError } from '../../shared/core/errors.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { BROWSER_FORMATS } from '../../shared/core/formats.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { startEgressProxy } from '../../shared/net/egress-proxy.ts';

const SITE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
const logger = silentLogger();
const SLOW_PRINT_HTML = readFileSync(SITE + 'index.html', 'utf8').replace(
  '</head>',
  '<script>addEventListener("beforeprint", () => { const end = Date.now() + 4000; while (Date.now() < end); });</script></head>',
);
const b64 = (file: string) => readFileSync(SITE + file).toString('base64');

function body(r: FormatResult | undefined): Buffer {
  assert.ok(r, 'format missing from results');
  if (!r.ok) assert.fail(`expected success, got ${r.error.name}: ${r.error.message}`);
  return r.body;
}

describe('capturePage', () => {
  let site: StaticServer;
  let pool: BrowserPool;
  let full: CaptureResult;

  before(async () => {
    site = await serveDir(SITE, {
      routes: {
        // index.html whose beforeprint handler keeps the renderer busy for 4 s: printing cannot finish within
        // a 1 ms PDF timeout however the machine is loaded (a plain 1 ms timeout raced a fast print and lost).
        '/slow-print.html': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(SLOW_PRINT_HTML);
        },
        '/gone.html': (_req, res) => {
          res
            .writeHead(404, { 'content-type': 'text/html; charset=utf-8' })
            .end('<!doctype html><title>Gone</title><p>GONE-PAGE not here</p>');
        },
      },
    });
    pool = new BrowserPool({ logger });
    full = await capturePage(pool, { url: `${site.origin}/index.html`, formats: BROWSER_FORMATS, logger });
  });

  after(async () => {
    await pool?.close();
    await site?.close();
  });

  test('one call yields every format and the page metadata', () => {
    assert.deepEqual(Object.keys(full.results).sort(), [...BROWSER_FORMATS].sort());
    assert.equal(full.meta.httpStatus, 200);
    assert.equal(full.meta.finalUrl, `${site.origin}/index.html`);
    assert.equal(full.meta.title, 'The Lighthouse Keepers of Skerryvore');
    assert.equal(full.meta.lang, 'en');
    assert.equal(full.meta.canonicalUrl, `${site.origin}/articles/skerryvore`);
    assert.equal(full.meta.faviconUrl, `${site.origin}/img/hero.png`);
    assert.match(full.meta.contentType ?? '', /^text\/html/);
    // one navigation: the document itself was requested exactly once for all four formats
    assert.equal(site.requests.filter((p) => p === '/index.html').length, 1);
  });

  test('the SingleFile HTML is complete offline: zero requests, JS-built text, font and both lazy images inline', async () => {
    const html = body(full.results.singlefile).toString('utf8');
    assert.equal(full.results.singlefile?.ok && full.results.singlefile.contentType, 'text/html; charset=utf-8');
    assert.ok(html.includes(b64('img/lazy-native.png')), 'loading=lazy image is inline as a data URI');
    assert.ok(html.includes(b64('img/lazy-observer.png')), 'IntersectionObserver image is inline as a data URI');
    assert.match(html, /url\("?data:font\/woff2;base64,/, 'web font is inline');
    assert.ok(html.includes('IFRAME-CONTENT'), 'iframe content is kept');

    const browser = await pool.browser();
    const context = await browser.createBrowserContext();
    try {
      const page = await context.newPage();
      const attempted: string[] = [];
      await page.setRequestInterception(true);
      page.on('request', (req) => {
        if (req.url().startsWith('data:')) return void req.continue();
        attempted.push(req.url());
        void req.abort();
      });
      await page.setContent(html, { waitUntil: 'load', timeout: 15_000 });
      // Page-side code as source text: tsx would wrap named functions in a `__name` helper the page lacks.
      const seen = (await page.evaluate(`(async () => {
        await document.fonts.ready;
        const native = document.getElementById('lazy-native');
        const observer = document.getElementById('lazy-observer');
        // loading=lazy images only load near the viewport: bring each into view, then let it decode
        for (const img of [native, observer]) {
          if (!img) continue;
          img.scrollIntoView();
          await img.decode().catch(() => {});
        }
        return {
          text: document.body.innerText,
          font: document.fonts.check('16px FixtureSans'),
          native: native ? native.getAttribute('src') || '' : '',
          observer: observer ? observer.getAttribute('src') || '' : '',
          nativeLoaded: !!native && native.naturalWidth > 0,
          observerLoaded: !!observer && observer.naturalWidth > 0,
        };
      })()`)) as {
        text: string;
        font: boolean;
        native: string;
        observer: string;
        nativeLoaded: boolean;
        observerLoaded: boolean;
      };
      assert.deepEqual(attempted, [], 'the archive made network requests');
      assert.match(seen.text, /JS-BUILT first item from fetch/);
      assert.ok(seen.font, 'FixtureSans is usable offline');
      assert.match(seen.native, /^data:image\/png/);
      assert.match(seen.observer, /^data:image\/png/);
      assert.ok(seen.nativeLoaded && seen.observerLoaded, 'both lazy images decode offline');
    } finally {
      await context.close();
    }
  });

  test('the PDF is a PDF and the screenshot is 1280 wide and as tall as the page', async () => {
    assert.equal(body(full.results.pdf).subarray(0, 5).toString('latin1'), '%PDF-');
    const png = PNG.sync.read(body(full.results.screenshot));
    assert.equal(png.width, 1280);

    const browser = await pool.browser();
    const context = await browser.createBrowserContext();
    try {
      const page = await context.newPage();
      await page.setViewport({ width: 1280, height: 800 });
      await page.goto(`${site.origin}/index.html`, { waitUntil: 'networkidle0', timeout: 15_000 });
      // the IntersectionObserver image has no src (and so no box height) until scrolled into view
      await page.evaluate(() => document.getElementById('lazy-observer')?.scrollIntoView());
      await page.waitForFunction(() => (document.getElementById('lazy-observer') as HTMLImageElement).complete, {
        timeout: 5_000,
      });
      const scrollHeight = await page.evaluate(() => document.documentElement.scrollHeight);
      assert.equal(png.height, scrollHeight);
    } finally {
      await context.close();
    }
  });

  test('readable.json holds the article', () => {
    const doc = JSON.parse(body(full.results.readable).toString('utf8'));
    assert.equal(doc.title, 'The Lighthouse Keepers of Skerryvore');
    assert.equal(doc.lang, 'en');
    assert.match(doc.text, /^ARTICLE-SENTINEL Twelve miles off the coast of Tiree/);
    assert.match(doc.text, /read them for the patterns of storms they preserve\./);
    assert.doesNotMatch(doc.text, /Fixture footer/);
    assert.ok(doc.wordCount > 150 && doc.wordCount < 260, `wordCount ${doc.wordCount}`);
    assert.equal(doc.fallback, false);
  });

  test('contexts are closed after each job', async () => {
    const browser = await pool.browser();
    assert.equal(browser.browserContexts().length, 1); // only the default context remains
    await capturePage(pool, { url: `${site.origin}/frame.html`, formats: ['readable'], logger });
    assert.equal(browser.browserContexts().length, 1);
    assert.equal((await browser.pages()).length, 0);
  });

  test('a failing step fails only its own format', async () => {
    const r = await capturePage(pool, {
      url: `${site.origin}/slow-print.html`,
      formats: BROWSER_FORMATS,
      logger,
      timeouts: { pdf: 1 },
      limits: { maxBytesPerArtifact: 150_000 }, // the screenshot is bigger than this, the others are not
    });
    const pdf = r.results.pdf;
    assert.ok(pdf && !pdf.ok && pdf.error instanceof PermanentError);
    assert.equal(pdf.error.code, 'timeout');
    const shot = r.results.screenshot;
    assert.ok(shot && !shot.ok && shot.error instanceof PermanentError);
    assert.equal(shot.error.code, 'too_large');
    assert.match(body(r.results.singlefile).toString('utf8'), /JS-BUILT/);
    assert.match(JSON.parse(body(r.results.readable).toString('utf8')).text, /ARTICLE-SENTINEL/);
  });

  test('alert, confirm and beforeunload do not hang the capture', async () => {
    const started = Date.now();
    const r = await capturePage(pool, { url: `${site.origin}/dialog.html`, formats: BROWSER_FORMATS, logger });
    assert.ok(Date.now() - started < 20_000);
    for (const f of BROWSER_FORMATS) body(r.results[f]);
    assert.match(body(r.results.singlefile).toString('utf8'), /DIALOG-PAGE survived/);
  });

  test('a page that never goes network-idle is captured after the bounded wait', async () => {
    const started = Date.now();
    const r = await capturePage(pool, {
      url: `${site.origin}/never-idle.html`,
      formats: ['screenshot', 'singlefile'],
      logger,
      timeouts: { settle: 1_500, scroll: 1_500 },
    });
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    assert.match(body(r.results.singlefile).toString('utf8'), /NEVER-IDLE page/);
    body(r.results.screenshot);
  });

  test('a 404 page is captured with its status recorded, or fails with http_error on request', async () => {
    const r = await capturePage(pool, { url: `${site.origin}/gone.html`, formats: ['readable'], logger });
    assert.equal(r.meta.httpStatus, 404);
    assert.match(JSON.parse(body(r.results.readable).toString('utf8')).text, /GONE-PAGE/);
    await assert.rejects(
      capturePage(pool, { url: `${site.origin}/gone.html`, formats: ['readable'], logger, failOnHttpError: true }),
      (err: unknown) => err instanceof PermanentError && err.code === 'http_error',
    );
  });

  test('an unresolvable host fails every format with dns_not_found', async () => {
    await assert.rejects(
      capturePage(pool, { url: 'http://no-such-host.invalid/', formats: BROWSER_FORMATS, logger }),
      (err: unknown) => err instanceof PermanentError && err.code === 'dns_not_found',
    );
  });

  test('an aborted signal stops the job and still closes its context', async () => {
    const ac = new AbortController();
    const job = capturePage(pool, {
      url: `${site.origin}/never-idle.html`,
      formats: BROWSER_FORMATS,
      logger,
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(new Error('job cancelled')), 300);
    await assert.rejects(job, /job cancelled/);
    const browser = await pool.browser();
    assert.equal(browser.browserContexts().length, 1);
  });

  test('cross-origin resources without CORS headers are still inlined (SingleFile fetch fallback)', async () => {
    const other = await serveDir(SITE); // another port: another origin, and it sends no CORS headers
    try {
      const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>x</title>
        <style>.bg { width: 100px; height: 50px; background: url("${other.origin}/img/lazy-observer.png"); }</style></head>
        <body><p>XORIGIN-PAGE</p><img id="x" src="${other.origin}/img/hero.png" width="300" height="80"><div class="bg"></div></body></html>`;
      const host = await serveDir(SITE, {
        routes: { '/x.html': (_q, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end(page) },
      });
      try {
        const r = await capturePage(pool, { url: `${host.origin}/x.html`, formats: ['singlefile'], logger });
        const html = body(r.results.singlefile).toString('utf8');
        assert.ok(html.includes(b64('img/hero.png')), 'cross-origin <img> inlined');
        assert.ok(html.includes(b64('img/lazy-observer.png')), 'cross-origin CSS background inlined');
        assert.ok(other.requests.includes('/img/hero.png'));
      } finally {
        await host.close();
      }
    } finally {
      await other.close();
    }
  });

  test('a browser killed between jobs is relaunched for the next one', async () => {
    const browser = await pool.browser();
    const pid = pool.pid();
    assert.ok(pid);
    const launches = pool.launches;
    const gone = new Promise((r) => browser.once('disconnected', r));
    process.kill(pid, 'SIGKILL');
    await gone;
    const r = await capturePage(pool, { url: `${site.origin}/index.html`, formats: ['readable'], logger });
    body(r.results.readable);
    assert.equal(pool.launches, launches + 1);
    assert.notEqual(pool.pid(), pid);
    await waitFor(() => processGroup(pid).length === 0, 5_000);
  });
});

test('close() leaves no Chromium process behind', async () => {
  const pool = new BrowserPool({ logger });
  const site = await serveDir(SITE);
  try {
    await capturePage(pool, { url: `${site.origin}/index.html`, formats: ['screenshot'], logger });
    const pid = pool.pid();
    assert.ok(pid);
    assert.ok(processTree(pid).length > 1, 'the browser has child processes while running');
    await pool.close();
    await waitFor(() => processGroup(pid).length === 0 && processTree(pid).length === 0, 5_000);
    await assert.rejects(pool.browser(), /closed/);
  } finally {
    await pool.close();
    await site.close();
  }
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('through the SSRF egress proxy', () => {
  let site: StaticServer;
  before(async () => {
    site = await serveDir(SITE);
  });
  after(async () => {
    await site?.close();
  });

  test('with private networks allowed every request, loopback included, goes through the proxy', async () => {
    const proxy = await startEgressProxy({ allowPrivateNetworks: true, logger });
    const pool = new BrowserPool({ logger, proxyServer: proxy.url });
    try {
      const r = await capturePage(pool, { url: `${site.origin}/index.html`, formats: ['singlefile'], logger });
      assert.match(body(r.results.singlefile).toString('utf8'), /JS-BUILT/);
      assert.ok(proxy.stats().requests >= 8, `only ${proxy.stats().requests} requests went through the proxy`);
    } finally {
      await pool.close();
      await proxy.close();
    }
  });

  test('with private networks refused a loopback page fails with blocked_address', async () => {
    const proxy = await startEgressProxy({ allowPrivateNetworks: false, logger });
    const pool = new BrowserPool({ logger, proxyServer: proxy.url });
    const before = site.requests.length;
    try {
      await assert.rejects(
        capturePage(pool, { url: `${site.origin}/index.html`, formats: BROWSER_FORMATS, logger }),
        (err: unknown) => err instanceof PermanentError && err.code === 'blocked_address',
      );
      assert.equal(site.requests.length, before, 'the refused page was never fetched');
      assert.ok(proxy.stats().refused >= 1);
    } finally {
      await pool.close();
      await proxy.close();
    }
  });
});
