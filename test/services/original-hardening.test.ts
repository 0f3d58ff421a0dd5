// The browser engine's non-HTML path against a real HTTP server (issue 16): a doubled Content-Type is stored as
// the parsed media type, a malformed percent-escape in the file name does not fail the capture, and 1 MB of
// plain text is captured with its text bounded while the event loop keeps running.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBrowserEngine, fileName, storedContentType } from '../../containers/browser/engine.ts';
import type { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { MAX_TEXT_CHARS, type ReadableDoc } from '../../containers/browser/readable.ts';
import { closeTextWorkers } from '../../containers/browser/text-pool.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import type { CaptureRequest } from '../../shared/capture/worker.ts';
import type { StoredObject } from '../../shared/core/ports.ts';
import type { Format } from '../../shared/core/formats.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const BIG_TEXT = 'keeper '.repeat(160_000); // 1.12 MB
let server: http.Server;
let origin: string;

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/doubled.png') {
      res.setHeader('content-type', ['image/png', 'text/html']);
      res.end(PNG);
    } else if (req.url?.startsWith('/files/')) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('Notes about the keepers of the light.');
    } else if (req.url === '/big.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(BIG_TEXT);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((r) => server.close(r));
  await closeTextWorkers();
});

// Originals never reach the browser: a pool that is used fails the test.
const noBrowser = new Proxy({} as BrowserPool, {
  get: () => {
    throw new Error('the browser pool was used for a non-HTML URL');
  },
});
const engine = createBrowserEngine({ pool: noBrowser, guard: { allowPrivateNetworks: true } });

async function capture(path: string, formats: Format[] = ['readable', 'pdf']) {
  const stored: Record<string, { body: Buffer; contentType?: string }> = {};
  const req: CaptureRequest = {
    articleId: '00000000-0000-4000-8000-000000000001',
    url: new URL(`${origin}${path}`),
    formats,
    signal: new AbortController().signal,
    logger: silentLogger(),
    async store(format, body, contentType): Promise<StoredObject> {
      const chunks: Buffer[] = [];
      if (typeof body === 'string' || Buffer.isBuffer(body)) chunks.push(Buffer.from(body));
      else for await (const c of body) chunks.push(c as Buffer);
      stored[format] = { body: Buffer.concat(chunks), contentType };
      return { key: format, size: stored[format].body.length, sha256: '', contentType: contentType ?? '' };
    },
  };
  return { result: await engine.capture(req), stored };
}

test('a doubled Content-Type is stored as the parsed media type, not the raw header', async () => {
  const { result, stored } = await capture('/doubled.png');
  assert.equal(stored.original?.contentType, 'image/png');
  assert.deepEqual(stored.original?.body, PNG);
  assert.ok(result.extra?.original);
  assert.equal(storedContentType('text/plain; charset=UTF-8, text/html'), 'text/plain; charset=utf-8');
  assert.equal(storedContentType(''), 'application/octet-stream');
});

test('a malformed percent-escape in the file name keeps the name as written and loses nothing', async () => {
  const { result, stored } = await capture('/files/notes%E0%A4%A.txt');
  assert.equal(result.meta?.title, 'notes%E0%A4%A.txt');
  assert.equal(result.outcomes.readable?.ok, true);
  assert.match(stored.original!.body.toString(), /keepers of the light/);
  assert.equal(fileName('http://x.test/a/r%C3%A9sum%C3%A9.txt'), 'résumé.txt');
});

test('1 MB of plain text is captured with its text cut at MAX_TEXT_CHARS, the event loop running meanwhile', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  let out;
  try {
    out = await capture('/big.txt', ['readable']);
  } finally {
    clearInterval(timer);
  }
  const { result, stored } = out;
  assert.equal(stored.original!.body.length, BIG_TEXT.length, 'the original is kept whole');
  const doc = JSON.parse(stored.readable!.body.toString()) as ReadableDoc;
  assert.equal(doc.text.length, MAX_TEXT_CHARS);
  assert.equal(doc.truncated, true);
  assert.equal(doc.wordCount, Math.ceil(MAX_TEXT_CHARS / 7)); // the cut leaves a partial last word
  assert.equal(result.meta?.text_content?.length, MAX_TEXT_CHARS);
  assert.equal(result.meta?.word_count, doc.wordCount);
  assert.ok(ticks > 0, 'the event loop was blocked while the text was processed');
});
