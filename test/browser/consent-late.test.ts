// Consent banners that appear late (issue 17): the capture no longer waits a fixed 1.5 s for autoconsent's early
// detection passes but exactly until its second pass has ended, so a banner an SDK adds after the first is still
// found and dismissed; real Chromium on loopback fixtures.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
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
