// The per-resource byte limit on responses that do not declare their length (issue 16), in real Chromium:
// a chunked image and a gzip bomb are cut at MAX_RESOURCE_BYTES, while small chunked and gzip-encoded
// resources still reach the page intact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage, type FormatResult } from '../../containers/browser/capture.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';

const SITE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
const logger = silentLogger();
const HUGE = 3 * 1024 * 1024;
const LIMIT = 1024 * 1024;
const BOMB = gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20), { level: 9 }); // 200 MB of spaces in about 200 kB
let site: StaticServer;
let pool: BrowserPool;

function body(r: FormatResult | undefined): Buffer {
  assert.ok(r, 'format missing from results');
  if (!r.ok) assert.fail(`expected success, got ${r.error.name}: ${r.error.message}`);
  return r.body;
}

/** Writes `data` in pieces without a Content-Length (chunked transfer encoding). */
function chunked(data: Buffer, headers: Record<string, string>) {
  return async (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, headers);
    for (let i = 0; i < data.length; i += 64 * 1024) {
      if (!res.write(data.subarray(i, i + 64 * 1024))) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  };
}

before(async () => {
  site = await serveDir(SITE, {
    routes: {
      '/limits.html': (_req, res) =>
        void res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(
            '<!doctype html><title>Limits</title><link rel="stylesheet" href="/small.css"><p>LIMITS-PAGE</p>' +
              '<img src="/chunked-huge.png" width="200" height="100"><script src="/small.js"></script>' +
              '<script src="/bomb.js"></script>',
          ),
      '/chunked-huge.png': chunked(Buffer.alloc(HUGE, 1), { 'content-type': 'image/png' }),
      '/small.css': chunked(Buffer.from('p { color: rgb(1, 2, 3); } /* SMALL-CSS */'), { 'content-type': 'text/css' }),
      '/small.js': chunked(gzipSync("document.body.insertAdjacentHTML('beforeend', '<p>SMALL-JS-RAN</p>');"), {
        'content-type': 'text/javascript',
        'content-encoding': 'gzip',
      }),
      '/bomb.js': chunked(BOMB, { 'content-type': 'text/javascript', 'content-encoding': 'gzip' }),
    },
  });
  pool = new BrowserPool({ logger });
});

after(async () => {
  await pool?.close();
  await site?.close();
});

test('responses without a Content-Length are cut at the limit; small ones reach the page', async () => {
  const r = await capturePage(pool, {
    url: `${site.origin}/limits.html`,
    formats: ['singlefile', 'screenshot'],
    logger,
    limits: { maxResourceBytes: LIMIT },
  });
  assert.ok(r.warnings.includes('resource_too_large'), `warnings: ${r.warnings.join(', ')}`);
  const html = body(r.results.singlefile).toString('utf8');
  assert.match(html, /LIMITS-PAGE/);
  assert.match(html, /SMALL-JS-RAN/, 'a gzip-encoded chunked script ran, decoded');
  assert.match(html, /rgb\(1, ?2, ?3\)|#010203/, 'a chunked stylesheet was applied and embedded');
  assert.ok(html.length < HUGE, `the archive holds the cut image (${html.length} chars)`);
  body(r.results.screenshot);
});
