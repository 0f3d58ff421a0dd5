// Issue 19: the archive shows the page as it stands at the top, not as the lazy-content scroll left it. Each
// fixture (a navigation bar whose class follows scrollY, a shrinking sticky header with a back-to-top button,
// reveal-on-scroll with a scroll-spy menu, a debounced handler) is captured by the engine and compared with the
// live page rendered at the top, with the fidelity benchmark's own renderer and pixel metric.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage } from '../../containers/browser/capture.ts';
import { AT_TOP_QUIET_MS } from '../../containers/browser/steps/scroll.ts';
import { AT_TOP_SCRIPT } from '../../containers/browser/page-scripts.ts';
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

  // 95 ms: the handler's timer restarts with the browser's own scroll event for the jump, up to a frame after it,
  // so its change comes about 95-111 ms after the jump; a settle that counted its 100 ms from the jump alone would
  // mostly end before it. The header is read in the page the moment the settle ends.
  for (const delay of [60, 95]) {
    test(`the settle at the top waits out a handler debounced ${delay} ms: its change is in place when it ends`, async () => {
      await pool.withContext(async (context) => {
        const page = await context.newPage();
        await page.goto(`${site.origin}/scroll/debounced.html?delay=${delay}`, { waitUntil: 'load' });
        const solid = `document.getElementById('bar').classList.contains('solid')`;
        await page.evaluate('scrollTo(0, 2000)');
        await page.waitForFunction(solid);
        const quietMs = AT_TOP_QUIET_MS.handler;
        const atEnd = await page.evaluate(`(${AT_TOP_SCRIPT})(${quietMs}, 600).then((r) => [r.scrollY, ${solid}])`);
        assert.deepEqual(atEnd, [0, false], 'at the top, and the header no longer has the look it had scrolled down');
      });
    });
  }
});
