// The browser engine writes during the capture what it can (issue 17): each format but the last is stored and
// recorded as its step ends, the article's metadata (with the readable document's columns) and the thumbnail as
// soon as they exist, and the last format is stored at once but recorded by the worker's final pass, after the
// metadata, so an archive never looks complete without its title. When an early write fails, the result carries
// what it would have written. Real Chromium on the fixture site; the worker's callbacks are recorded in order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { createBrowserEngine } from '../../containers/browser/engine.ts';
import type { CaptureRequest } from '../../shared/capture/worker.ts';
import type { Format } from '../../shared/core/formats.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';

const logger = silentLogger();
let site: StaticServer;
let pool: BrowserPool;

before(async () => {
  site = await serveDir(fileURLToPath(new URL('../fixtures/site/', import.meta.url)));
  pool = new BrowserPool({ logger, executablePath: process.env.CHROME_PATH || undefined });
});
after(async () => {
  await pool?.close();
  await site?.close();
});

/** A capture request whose callbacks log what they were given, in order; `fail` makes those callbacks throw. */
function request(formats: Format[], fail: Array<'meta' | 'extra'> = [], metaDelayMs = 0) {
  const events: Array<{ what: string; meta?: Record<string, unknown> }> = [];
  const req: CaptureRequest = {
    articleId: '00000000-0000-4000-8000-000000000017',
    url: new URL(`${site.origin}/index.html`),
    formats,
    signal: new AbortController().signal,
    logger,
    async store(format, body) {
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body as string);
      events.push({ what: `store ${format}` });
      return {
        key: `a/${format}`,
        contentType: 'application/octet-stream',
        size: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
    },
    async record(format) {
      events.push({ what: `record ${format}` });
    },
    async recordMeta(meta) {
      if (fail.includes('meta')) throw new Error('the database is away');
      events.push({ what: 'meta', meta: { ...meta } });
      await sleep(metaDelayMs);
      events.push({ what: 'meta written' });
    },
    async recordExtra(name) {
      if (fail.includes('extra')) throw new Error('the database is away');
      events.push({ what: `extra ${name}` });
    },
  };
  return { req, events };
}

test('metadata, thumbnail and every format but the last are written during the capture; the last only stored', async () => {
  const { req, events } = request(['screenshot', 'readable', 'singlefile', 'pdf']);
  const result = await createBrowserEngine({ pool }).capture(req);
  const whats = events.map((e) => e.what);
  for (const f of ['screenshot', 'readable', 'singlefile', 'pdf']) assert.ok(result.outcomes[f as Format]?.ok, f);
  assert.deepEqual(
    whats.filter((w) => w.startsWith('record')).sort(),
    ['record readable', 'record screenshot', 'record singlefile'],
    'the last format (pdf) is left to the final pass',
  );
  assert.ok(whats.includes('store pdf'), 'the last format is stored by the engine');
  assert.equal(whats.filter((w) => w === 'meta').length, 1, 'the metadata is written once');
  const meta = events.find((e) => e.what === 'meta')!.meta!;
  assert.equal(meta.title, 'The Lighthouse Keepers of Skerryvore');
  assert.match(String(meta.text_content), /ARTICLE-SENTINEL/, "the readable document's text is in it");
  assert.ok(Number(meta.word_count) > 50);
  assert.ok(whats.indexOf('extra thumbnail') > whats.indexOf('record screenshot'), 'thumbnail after its screenshot');
  assert.equal(result.meta, undefined, 'nothing left for the final pass to write');
  assert.equal(result.extra?.thumbnail, undefined, 'the thumbnail is not recorded twice');
});

test('without readable, the page metadata is written before the screenshot step ends', async () => {
  const { req, events } = request(['screenshot', 'pdf']);
  const result = await createBrowserEngine({ pool }).capture(req);
  const whats = events.map((e) => e.what);
  assert.ok(whats.indexOf('meta') >= 0 && whats.indexOf('meta') < whats.indexOf('store screenshot'));
  assert.equal(events.find((e) => e.what === 'meta')!.meta!.title, 'The Lighthouse Keepers of Skerryvore');
  assert.equal(result.meta, undefined);
});

test('the engine returns (and the final pass records the last format) only after the metadata is written', async () => {
  // Slower than everything after it: an engine that did not wait would return before the write ended.
  const { req, events } = request(['screenshot', 'readable', 'singlefile'], [], 3_000);
  const result = await createBrowserEngine({ pool }).capture(req);
  assert.ok(
    events.some((e) => e.what === 'meta written'),
    'the write ended before the engine returned',
  );
  assert.equal(result.meta, undefined);
});

test('the thumbnail is recorded at once only beside a recorded screenshot; else the final pass records it', async () => {
  // The screenshot alone is the last format: recorded by the final pass, which may yet fail it.
  const { req, events } = request(['screenshot']);
  const result = await createBrowserEngine({ pool }).capture(req);
  const whats = events.map((e) => e.what);
  assert.ok(!whats.includes('record screenshot') && !whats.includes('extra thumbnail'), whats.join(', '));
  assert.ok(result.extra?.thumbnail?.stored.size, 'stored, and handed to the final pass');
  assert.equal(whats.filter((w) => w === 'store thumbnail').length, 1);
});

test('an early write that fails leaves the metadata and the thumbnail to the final pass', async () => {
  const { req, events } = request(['screenshot', 'readable', 'pdf'], ['meta', 'extra']);
  const result = await createBrowserEngine({ pool }).capture(req);
  assert.ok(!events.some((e) => e.what === 'meta' || e.what === 'extra thumbnail'));
  assert.equal(result.meta?.title, 'The Lighthouse Keepers of Skerryvore');
  assert.match(String(result.meta?.text_content), /ARTICLE-SENTINEL/);
  assert.ok(result.extra?.thumbnail?.stored.size, 'the stored thumbnail is handed to the final pass');
  assert.equal(events.filter((e) => e.what === 'store thumbnail').length, 1, 'stored once');
});
