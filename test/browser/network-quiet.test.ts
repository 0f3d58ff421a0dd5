// The wait at the bottom of the scroll (issue 17): what the last screens fetch, and what that fetches in turn, is in
// the archive. A script's request keeps the whole network-idle wait (250 ms), so a follow-up it starts 120 ms after
// its answer is waited for; an image keeps only the shorter one (mediaIdle) but is waited for until its body has been
// read, which puppeteer's own idle wait does not do (it counts a request until its headers). Real Chromium against
// the fixture site; the screenshot is read by pixel.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage } from '../../containers/browser/capture.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { pixelAt } from '../support/pixel.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';

const logger = silentLogger();
let site: StaticServer;
let pool: BrowserPool;

const json = (res: ServerResponse, body: unknown) => {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};
before(async () => {
  site = await serveDir(fileURLToPath(new URL('../fixtures/site/', import.meta.url)), {
    routes: {
      '/chain/data.json': async (_req, res) => json(res, { next: 'more.json' }),
      // Slow enough that a capture which stopped waiting before the request began is long gone when it is answered.
      '/chain/more.json': async (_req, res) => {
        await sleep(1500);
        json(res, { text: 'SCRIPT-CHAIN-DONE' });
      },
      // The headers and 4 kB at once (Chromium reports the response: for puppeteer it is no longer in flight), the
      // rest of the image 700 ms later.
      // With its length declared, so that the network guard lets the body stream instead of reading it whole first.
      '/chain/slow-bg.svg': async (_req, res) => {
        const head = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="120"><!-- ${'x'.repeat(4096)} -->`;
        const tail = '<rect width="200" height="120" fill="rgb(0,160,0)"/></svg>';
        res.writeHead(200, {
          'content-type': 'image/svg+xml',
          'content-length': Buffer.byteLength(head + tail),
          'cache-control': 'no-store',
        });
        res.write(head);
        await sleep(700);
        res.end(tail);
      },
    },
  });
  pool = new BrowserPool({ logger, executablePath: process.env.CHROME_PATH || undefined });
});
after(async () => {
  await pool?.close();
  await site?.close();
});

test('what a script fetches 120 ms after its own request at the bottom is in the archive', async () => {
  const r = await capturePage(pool, {
    url: `${site.origin}/scroll/bottom-chain.html?script`,
    formats: ['singlefile'],
    // No consent handling: its first detection passes would be waited for after the scroll, and hide the wait's own end.
    consent: 'off',
    logger,
  });
  assert.ok(r.results.singlefile?.ok, 'SingleFile HTML made');
  assert.ok(site.requests.includes('/chain/more.json'), 'the page asked for the follow-up');
  const html = r.results.singlefile.body.toString('utf8');
  assert.ok(html.includes('SCRIPT-CHAIN-DONE'), 'the follow-up answer is in the archived page');
  assert.ok(!html.includes('chain not started'), 'the placeholder was replaced before the capture');
});

test('a background image the bottom asks for, whose body ends 700 ms after its headers, is in the screenshot', async () => {
  const r = await capturePage(pool, {
    url: `${site.origin}/scroll/bottom-chain.html?images`,
    formats: ['screenshot'],
    consent: 'off',
    logger,
  });
  assert.ok(r.results.screenshot?.ok, 'screenshot taken');
  assert.ok(site.requests.includes('/chain/slow-bg.svg'), 'the page asked for the background image');
  // The middle of the box (300 + 100, 100 + 60 on the page).
  const [red, green, blue] = await pixelAt(pool, r.results.screenshot.body, 'png', 400, 160);
  assert.ok(
    red < 60 && green > 120 && blue < 60,
    `the background image is in the screenshot, got rgb(${red}, ${green}, ${blue})`,
  );
});
