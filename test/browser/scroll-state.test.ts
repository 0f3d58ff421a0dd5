// Issue 19: the archive shows the page as it stands at the top, not as the lazy-content scroll left it. Each
// fixture (a navigation bar whose class follows scrollY, a shrinking sticky header with a back-to-top button,
// reveal-on-scroll with a scroll-spy menu, a debounced handler) is captured by the engine and compared with the
// live page rendered at the top, with the fidelity benchmark's own renderer and pixel metric.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage } from '../../containers/browser/capture.ts';
import { settleAtTop } from '../../containers/browser/steps/scroll.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { render } from '../bench/fidelity/render.ts';
import { GOOD_MAX_FULL_DIFF, decodePng, pixelDiff } from '../bench/fidelity/metrics.ts';

const SITE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
const PAGES = ['navbar', 'sticky', 'reveal', 'debounced'];
const logger = silentLogger();

describe('scroll-derived state matches the top of the page', () => {
  let site: StaticServer;
  let pool: BrowserPool;
  let renderPool: BrowserPool;
  before(async () => {
    site = await serveDir(SITE);
    pool = new BrowserPool({ logger });
    renderPool = new BrowserPool({ logger });
  });
  after(async () => {
    await pool?.close();
    await renderPool?.close();
    await site?.close();
  });

  for (const name of PAGES) {
    test(`${name}: the SingleFile archive and the screenshot match the live page at the top`, async () => {
      const url = `${site.origin}/scroll/${name}.html`;
      const live = await render(renderPool, { url });
      assert.ok(live.ok && live.full, `the live page rendered: ${live.error}`);
      const captured = await capturePage(pool, { url, formats: ['singlefile', 'screenshot'], logger });
      const sf = captured.results.singlefile;
      const shot = captured.results.screenshot;
      assert.ok(sf?.ok && shot?.ok, 'both formats were captured');
      const archived = await render(renderPool, { html: sf.body });
      assert.ok(archived.ok && archived.full, `the archive rendered: ${archived.error}`);
      assert.equal(archived.leaks, 0);
      const archiveDiff = pixelDiff(decodePng(live.full), decodePng(archived.full)).fraction;
      assert.ok(
        archiveDiff <= GOOD_MAX_FULL_DIFF,
        `SingleFile archive differs from the live page at the top by ${(archiveDiff * 100).toFixed(2)}%`,
      );
      // The full-page screenshot against the live full page (both shot the same way: 100vh follows the shot's
      // height), on the first screen, where scroll-derived state shows.
      const top = decodePng(shot.body);
      const liveTop = decodePng(live.full);
      const h = Math.min(top.height, liveTop.height, 800);
      const crop = (img: typeof top) => ({
        width: img.width,
        height: h,
        data: img.data.subarray(0, img.width * h * 4),
      });
      const shotDiff = pixelDiff(crop(liveTop), crop(top)).fraction;
      assert.ok(
        shotDiff <= GOOD_MAX_FULL_DIFF,
        `screenshot's first screen differs from the live page at the top by ${(shotDiff * 100).toFixed(2)}%`,
      );
    });
  }

  test('the settle at the top waits out a debounced handler: its change is in place when the settle ends', async () => {
    await pool.withContext(async (context) => {
      const page = await context.newPage();
      await page.goto(`${site.origin}/scroll/debounced.html`, { waitUntil: 'load' });
      const solid = () => page.evaluate(`document.getElementById('bar').classList.contains('solid')`);
      await page.evaluate('scrollTo(0, 2000)');
      await page.waitForFunction(`document.getElementById('bar').classList.contains('solid')`);
      // The handler acts 60 ms after the last scroll event: the settle must not end within that (its two frames).
      await settleAtTop(page, logger, true);
      assert.equal(await page.evaluate('scrollY'), 0);
      assert.equal(await solid(), false, 'the header still has the look it had scrolled down');
    });
  });
});
