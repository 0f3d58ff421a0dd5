// Issue 17: scroll steps are paced for throttled scroll handlers only on pages that have a scroll handler; other
// pages are scrolled a step every two frames. Both halves are shown here: which pages count as listening, and that a
// page whose lazy images come from a throttled handler still gets every image (the pacing is kept where it matters).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage } from '../../containers/browser/capture.ts';
import { listensToScroll } from '../../containers/browser/steps/scroll.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';

const SITE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
const logger = silentLogger();

describe('scroll pacing follows the page’s own scroll handlers', () => {
  let site: StaticServer;
  let pool: BrowserPool;
  before(async () => {
    site = await serveDir(SITE);
    pool = new BrowserPool({ logger });
  });
  after(async () => {
    await pool?.close();
    await site?.close();
  });

  /** listensToScroll on `path` of the fixture site, after `script` (if any) has run in the page. */
  const listens = (path: string, script?: string) =>
    pool.withContext(async (context) => {
      const page = await context.newPage();
      await page.goto(site.origin + path, { waitUntil: 'load' });
      if (script) await page.evaluate(script);
      return listensToScroll(await page.createCDPSession());
    });

  test('a page with no scroll handler is not paced; window, document and onscroll handlers are', async () => {
    assert.equal(await listens('/index.html'), false, 'the fixture article (IntersectionObserver, loading=lazy)');
    assert.equal(await listens('/scroll/debounced.html'), true, 'window.addEventListener("scroll")');
    assert.equal(await listens('/index.html', `document.addEventListener('scroll', () => {})`), true, 'document');
    assert.equal(
      await listens('/index.html', `document.body.setAttribute('onscroll', 'void 0')`),
      true,
      'body onscroll',
    );
    assert.equal(await listens('/index.html', `window.onscroll = () => {}`), true, 'window.onscroll');
    assert.equal(
      await listens('/index.html', `document.body.addEventListener('scroll', () => {})`),
      false,
      'an element’s own scroll handler does not see the page scroll',
    );
  });

  test('every image a throttled scroll handler loads is in the archive', async () => {
    const url = `${site.origin}/scroll/throttled-lazy.html`;
    const captured = await capturePage(pool, { url, formats: ['singlefile'], logger });
    assert.ok(captured.results.singlefile?.ok, 'SingleFile captured');
    const slots = new Set(site.requests.filter((r) => r.startsWith('/img/hero.png?slot=')).map((r) => r.split('=')[1]));
    assert.deepEqual([...slots].sort(), ['0', '1', '2', '3', '4', '5', '6', '7', '8'], 'every slot was requested');
    const html = captured.results.singlefile.body.toString();
    assert.equal((html.match(/data-src=/g) ?? []).length, 0, 'no image was left unloaded');
  });
});
