// Consent banners that appear late (issue 17): the capture no longer waits a fixed 1.5 s for autoconsent's early
// detection passes but exactly until its second pass has ended, so a banner an SDK adds after the first is still
// found and dismissed; the screenshot is taken while that pass runs and taken again when it found a banner, so it
// shows the page after the choice like every other format. Real Chromium on loopback fixtures.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage, type FormatResult } from '../../containers/browser/capture.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';

const logger = silentLogger();
let site: StaticServer;
let pool: BrowserPool;

function html(r: FormatResult | undefined): string {
  assert.ok(r?.ok, `singlefile failed: ${r && !r.ok ? r.error.message : 'missing'}`);
  return r.body.toString('utf8');
}

before(async () => {
  site = await serveDir(fileURLToPath(new URL('../fixtures/site/', import.meta.url)));
  pool = new BrowserPool({ logger, executablePath: process.env.CHROME_PATH || undefined, warmContext: true });
});
after(async () => {
  await pool.close();
  await site.close();
});

test('a banner added 350 ms after DOMContentLoaded (after the first detection pass) is dismissed', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await capturePage(pool, { url: `${site.origin}/consent-late.html`, formats: ['singlefile'], logger });
    // Found means the capture waited for the pass that saw it: without the wait it is over before the banner comes.
    assert.deepEqual(r.consent?.cmps, ['Onetrust'], `round ${i + 1}: the late banner was not found`);
    assert.equal(r.consent?.handled, true);
    const page = html(r.results.singlefile);
    assert.match(page, /CONSENT-CONTENT/);
    assert.doesNotMatch(page, /CONSENT-BANNER-TEXT/, `round ${i + 1}: the late banner is in the archive`);
  }
});

test('the screenshot shows the page after a late banner was dismissed', async () => {
  // The page is short, so its screenshot is taken before autoconsent's second pass finds the banner; that pass
  // ends while it is taken, and the capture takes it again after the click (with the retake removed, this fails:
  // the block is still green).
  const r = await capturePage(pool, {
    url: `${site.origin}/consent-late.html`,
    formats: ['screenshot', 'singlefile'],
    logger,
  });
  assert.deepEqual(r.consent?.cmps, ['Onetrust']);
  assert.ok(r.results.screenshot?.ok, 'screenshot taken');
  const png = PNG.sync.read(r.results.screenshot.body);
  const at = (png.width * 250 + 640) * 4; // inside the content block
  const [red, green, blue] = [png.data[at]!, png.data[at + 1]!, png.data[at + 2]!];
  assert.ok(
    blue > 150 && green < 60 && red < 60,
    `the block as it is after the choice, got rgb(${red}, ${green}, ${blue})`,
  );
  assert.match(html(r.results.singlefile), /CONSENT-CHOSEN/);
});

test('a warm pool leaves no context behind when it closes', async () => {
  const p = new BrowserPool({ logger, executablePath: process.env.CHROME_PATH || undefined, warmContext: true });
  const r = await capturePage(p, { url: `${site.origin}/index.html`, formats: ['screenshot'], logger });
  assert.ok(r.results.screenshot?.ok);
  const browser = await p.browser();
  // The job's context is closed; one spare (never used) waits for the next job.
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(browser.browserContexts().length, 2);
  await p.close();
  assert.equal(browser.connected, false);
});
