// Issue 17: scroll steps are paced for throttled scroll handlers only on pages that have a scroll handler; other
// pages are scrolled a step every frame. Shown here: which pages count as listening; what the capture itself
// reports doing (its 'page captured' log: steps and paced steps) on a page without a handler and on one with; that
// every position of an unpaced scroll is laid out and observed (no band of a page loaded by a threshold-1 observer
// is missed); that a page whose lazy images come from a throttled handler still gets every image; and that a
// handler the page adds only while it is being scrolled gets paced steps from the next look on.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage } from '../../containers/browser/capture.ts';
import { listensToScroll, type ScrollStats } from '../../containers/browser/steps/scroll.ts';
import { createLogger, silentLogger } from '../../shared/core/logger.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';

const SITE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
const logger = silentLogger();
const SLOTS = ['0', '1', '2', '3', '4', '5', '6', '7', '8'];

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

  /** Captures `path` as SingleFile; its HTML, the scroll stats it logged, and the slots the page requested. */
  const capture = async (path: string) => {
    const logged: Array<{ message: string; scroll?: ScrollStats }> = [];
    const recording = createLogger({
      component: 'test',
      destination: { write: (line: string) => void logged.push(JSON.parse(line)) },
    });
    const from = site.requests.length;
    const captured = await capturePage(pool, { url: site.origin + path, formats: ['singlefile'], logger: recording });
    assert.ok(captured.results.singlefile?.ok, 'SingleFile captured');
    const scroll = logged.find((r) => r.message === 'page captured')?.scroll;
    assert.ok(scroll, 'the capture logged what its scroll did');
    const asked = (key: string) =>
      new Set(
        site.requests
          .slice(from)
          .filter((r) => r.startsWith(`/img/hero.png?${key}=`))
          .map((r) => r.split('=')[1]!),
      );
    return { html: captured.results.singlefile.body.toString(), scroll, slots: asked('slot'), bands: asked('band') };
  };

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
    assert.equal(
      await listens('/index.html', `window.getEventListeners = () => ({ scroll: [] }); window.scroll = undefined`),
      false,
      'a page’s own globals do not change the answer',
    );
  });

  test('the capture scrolls a page without a handler unpaced, and one with a handler paced', async () => {
    const plain = await capture('/index.html');
    assert.ok(plain.scroll.steps > 0, 'the article was scrolled');
    assert.equal(plain.scroll.pacedSteps, 0, 'no step of the article was paced');
    assert.ok(plain.html.includes('lazy-observer'), 'the IntersectionObserver image is in the archive');
    const handled = await capture('/scroll/throttled-lazy.html');
    assert.ok(handled.scroll.steps > 0, 'the page was scrolled');
    assert.equal(handled.scroll.pacedSteps, handled.scroll.steps, 'every step of the page with a handler was paced');
  });

  test('an unpaced scroll lays out and observes every step: each band a threshold-1 observer loads is loaded', async () => {
    const { html, scroll, bands } = await capture('/scroll/observed-bands.html');
    assert.equal(scroll.pacedSteps, 0, 'the page has no scroll handler');
    assert.ok(scroll.steps >= 7, `scrolled in steps: ${JSON.stringify(scroll)}`);
    const missed = Array.from({ length: 60 }, (_, i) => String(i)).filter((b) => !bands.has(b));
    assert.deepEqual(missed, [], 'every band was wholly in view at a rendered step');
    assert.equal((html.match(/data-src=/g) ?? []).length, 0, 'no image was left unloaded');
  });

  test('every image a throttled scroll handler loads is in the archive', async () => {
    const { html, slots } = await capture('/scroll/throttled-lazy.html');
    assert.deepEqual([...slots].sort(), SLOTS, 'every slot was requested');
    assert.equal((html.match(/data-src=/g) ?? []).length, 0, 'no image was left unloaded');
  });

  test('a handler added while the page is scrolled is paced from the next look on', async () => {
    const { scroll, slots } = await capture('/scroll/throttled-lazy.html?late');
    assert.ok(scroll.pacedSteps > 0 && scroll.pacedSteps < scroll.steps, `some steps paced: ${JSON.stringify(scroll)}`);
    // The handler comes with the third slot, during the first unpaced steps; from the next look on every screen is
    // handled, so each slot from the sixth on is loaded (slots before that were passed before it existed).
    const late = SLOTS.slice(5).filter((s) => !slots.has(s));
    assert.deepEqual(late, [], 'every slot after the look that found the handler was requested');
  });
});
