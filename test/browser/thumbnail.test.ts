// The thumbnail shot while the capture waits at the top for the network (issue 17) counts only for a page that was
// finished when it was shot: an image still on its way then is in the thumbnail all the same (it is shot again
// after the screenshot). Real Chromium; the WebP is decoded by Chromium itself and read by pixel.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage } from '../../containers/browser/capture.ts';
import { THUMBNAIL_SCALE } from '../../containers/browser/steps/thumbnail.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { pixelAt } from '../support/pixel.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';

const logger = silentLogger();
let site: StaticServer;
let pool: BrowserPool;

before(async () => {
  site = await serveDir(fileURLToPath(new URL('../fixtures/site/', import.meta.url)), {
    routes: {
      '/slow-red.svg': async (_req, res) => {
        await sleep(400);
        res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' });
        res.end(
          '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="400"><rect width="640" height="400" fill="rgb(255,0,0)"/></svg>',
        );
      },
    },
  });
  pool = new BrowserPool({ logger, executablePath: process.env.CHROME_PATH || undefined });
});
after(async () => {
  await pool?.close();
  await site?.close();
});

test('an image still loading when the capture is at the top is in the thumbnail', async () => {
  const r = await capturePage(pool, { url: `${site.origin}/late-image.html`, formats: ['screenshot'], logger });
  assert.ok(r.results.screenshot?.ok, 'screenshot taken');
  assert.ok(site.requests.includes('/slow-red.svg'), 'the page asked for the late image');
  assert.ok(r.thumbnail, 'a thumbnail was made');
  // The middle of the image (320, 200 on the page) in the thumbnail.
  const [red, green, blue] = await pixelAt(pool, r.thumbnail, 'webp', 320 * THUMBNAIL_SCALE, 200 * THUMBNAIL_SCALE);
  assert.ok(
    red > 200 && green < 60 && blue < 60,
    `the late image is in the thumbnail, got rgb(${red}, ${green}, ${blue})`,
  );
});
