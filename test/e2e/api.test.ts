// The HTTP API on its own (PGlite, local store, the in-process bus with a recording subscriber; no
// browser): validation, problem responses, deduplication, idempotency, pagination, retry and delete.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createLocalBlobStore } from '../../shared/adapters/local-blob-store.ts';
import { createInProcessBus, type InProcessBus } from '../../shared/adapters/in-process-bus.ts';
import { createApp } from '../../functions/api/app.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { CaptureJobV1, TOPICS, decodePush, type CaptureJob } from '../../shared/core/messages.ts';
import { claimArtifact, markFailed, markSucceeded } from '../../shared/db/artifacts.ts';
import { http, tempDir } from '../support/embedded.ts';
import { sweepOnce } from '../../shared/jobs/sweeper.ts';
import { sql } from 'kysely';
import { createMemoryRateLimiter } from '../../shared/adapters/memory-coordination.ts';

let db: DatabaseHandle;
let bus: InProcessBus;
let server: Server;
let base = '';
let dir: { path: string; remove(): Promise<void> };
const jobs: Array<{ topic: string; job: CaptureJob }> = [];
const blobs = () => createLocalBlobStore({ root: join(dir.path, 'blobs') });

before(async () => {
  dir = await tempDir();
  db = await openDatabase({ memory: true });
  bus = createInProcessBus({ logger: silentLogger() });
  for (const topic of [TOPICS.captureBrowser, TOPICS.captureMonolith]) {
    bus.subscribe(topic, `${topic}-recorder`, async (body) => {
      jobs.push({ topic, job: decodePush(CaptureJobV1, body).data });
      return 204;
    });
  }
  const app = createApp({
    db: db.db,
    blobs: blobs(),
    publisher: bus,
    logger: silentLogger(),
    guard: {
      allowPrivateNetworks: false,
      resolve: async (h) =>
        h.endsWith('.test') ? ['93.184.215.14'] : h === 'internal.test.example' ? ['10.0.0.7'] : ['93.184.215.14'],
    },
    config: {
      DEDUP_WINDOW_SECONDS: 3600,
      MAX_BODY_BYTES: 4096,
      RATE_LIMIT_PER_MINUTE: 0,
      READ_RATE_LIMIT_PER_MINUTE: 0,
      SIGNED_URL_TTL_SECONDS: 60,
      LEASE_SECONDS: 60,
    },
  });
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((r) => server.close(r));
  await bus.close();
  await db.close();
  await dir.remove();
});

async function problem(res: Promise<{ status: number; headers: Headers; body: any }>, status: number, type: RegExp) {
  const r = await res;
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.match(r.body.type, type);
  assert.equal(r.body.status, status);
  assert.ok(typeof r.body.detail === 'string' && r.body.detail.length > 5, 'a clear message');
  return r.body;
}

test('bad input gets a 400 problem with a clear message, and nothing is written', async () => {
  const count = async () =>
    Number((await sql<{ n: string }>`select count(*) as n from articles`.execute(db.db)).rows[0]!.n);
  const n0 = await count();
  await problem(
    http(base, '/archive', { method: 'POST', body: '{"url": ', headers: { 'content-type': 'application/json' } }),
    400,
    /malformed-json/,
  );
  await problem(http(base, '/archive', { method: 'POST', json: {} }), 400, /invalid-request/);
  await problem(http(base, '/archive', { method: 'POST', json: { url: 42 } }), 400, /invalid-request/);
  await problem(http(base, '/archive', { method: 'POST', json: { url: 'not a url' } }), 400, /invalid-url/);
  const scheme = await problem(
    http(base, '/archive', { method: 'POST', json: { url: 'ftp://example.com/file' } }),
    400,
    /unsupported-scheme/,
  );
  assert.match(scheme.detail, /http and https/);
  await problem(
    http(base, '/archive', { method: 'POST', json: { url: 'file:///etc/passwd' } }),
    400,
    /unsupported-scheme/,
  );
  await problem(
    http(base, '/archive', { method: 'POST', json: { url: 'http://127.0.0.1:8080/' } }),
    400,
    /blocked-address/,
  );
  await problem(
    http(base, '/archive', { method: 'POST', json: { url: 'http://169.254.169.254/computeMetadata/v1/' } }),
    400,
    /blocked-address/,
  );
  await problem(
    http(base, '/archive', { method: 'POST', json: { url: 'http://metadata.google.internal/' } }),
    400,
    /blocked-address/,
  );
  await problem(
    http(base, '/archive', { method: 'POST', json: { url: 'http://[::ffff:127.0.0.1]/' } }),
    400,
    /blocked-address/,
  );
  await problem(
    http(base, '/archive', { method: 'POST', json: { url: 'http://internal.test.example/' } }),
    400,
    /blocked-address/,
  );
  const fmt = await problem(
    http(base, '/archive', { method: 'POST', json: { url: 'https://example.test/', formats: ['pdf', 'gif'] } }),
    400,
    /unknown-format/,
  );
  assert.match(fmt.detail, /"gif"/);
  await problem(
    http(base, '/archive', { method: 'POST', json: { url: 'https://example.test/', extra: 1 } }),
    400,
    /invalid-request/,
  );
  await problem(
    http(base, '/archive', { method: 'POST', json: { url: `https://example.test/${'a'.repeat(5000)}` } }),
    400,
    /body-too-large/,
  );
  assert.equal(await count(), n0, 'no row written for bad input');
  assert.equal(jobs.length, 0, 'no job published for bad input');
});

test('unknown ids and routes answer 404 problems', async () => {
  await problem(http(base, '/archives/6b0f3a5e-8a4c-4c0e-9a55-3f1f1b2c3d4e'), 404, /not-found/);
  await problem(http(base, '/archives/not-a-uuid'), 404, /not-found/);
  await problem(http(base, '/archives/6b0f3a5e-8a4c-4c0e-9a55-3f1f1b2c3d4e/artifacts/pdf'), 404, /not-found/);
  await problem(http(base, '/nope'), 404, /not-found/);
});

test('a submission writes the pending article and its artifacts, and publishes one job per worker', async () => {
  jobs.length = 0;
  const r = await http(base, '/archive', {
    method: 'POST',
    json: { url: 'https://news.test/story?utm_source=x&b=2&a=1#frag' },
  });
  assert.equal(r.status, 202);
  assert.equal(r.headers.get('location'), `/archives/${r.body.id}`);
  assert.equal(r.body.status, 'pending');
  assert.deepEqual(Object.keys(r.body.links.artifacts).sort(), [
    'monolith',
    'pdf',
    'readable',
    'screenshot',
    'singlefile',
  ]);
  await bus.idle();
  assert.equal(jobs.length, 2);
  const browser = jobs.find((j) => j.topic === TOPICS.captureBrowser)!.job;
  assert.deepEqual([...browser.formats].sort(), ['pdf', 'readable', 'screenshot', 'singlefile']);
  assert.deepEqual(jobs.find((j) => j.topic === TOPICS.captureMonolith)!.job.formats, ['monolith']);
  const view = await http(base, `/archives/${r.body.id}`);
  assert.equal(view.body.artifacts.length, 5);
  assert.ok(view.body.artifacts.every((a: any) => a.status === 'pending' && a.attempts === 0));
  assert.equal(view.body.summary, null);
  const notReady = await problem(http(base, `/archives/${r.body.id}/artifacts/pdf`), 409, /artifact-not-ready/);
  assert.equal(notReady.artifactStatus, 'pending');
});

test('the same URL again is deduplicated (tracking params and fragments ignored) unless forced', async () => {
  const a = await http(base, '/archive', { method: 'POST', json: { url: 'https://dedup.test/page?x=1' } });
  const b = await http(base, '/archive', {
    method: 'POST',
    json: { url: 'https://DEDUP.test/page?x=1&utm_medium=mail#top' },
  });
  assert.equal(b.status, 200);
  assert.equal(b.body.deduplicated, true);
  assert.equal(b.body.id, a.body.id);
  const c = await http(base, '/archive', { method: 'POST', json: { url: 'https://dedup.test/page?x=1', force: true } });
  assert.equal(c.status, 202);
  assert.notEqual(c.body.id, a.body.id);
  // Concurrent submissions of one new URL give one snapshot.
  const many = await Promise.all(
    Array.from({ length: 5 }, () => http(base, '/archive', { method: 'POST', json: { url: 'https://race.test/' } })),
  );
  assert.equal(new Set(many.map((m) => m.body.id)).size, 1);
  assert.equal(many.filter((m) => m.status === 202).length, 1);
});

test('Idempotency-Key replays the first answer and refuses reuse for another URL', async () => {
  const h = { 'Idempotency-Key': 'key-123' };
  const a = await http(base, '/archive', {
    method: 'POST',
    json: { url: 'https://idem.test/a', force: true },
    headers: h,
  });
  const b = await http(base, '/archive', {
    method: 'POST',
    json: { url: 'https://idem.test/a', force: true },
    headers: h,
  });
  assert.equal(a.status, 202);
  assert.equal(b.status, 200);
  assert.equal(b.body.id, a.body.id);
  assert.equal(b.body.idempotentReplay, true);
  await problem(
    http(base, '/archive', { method: 'POST', json: { url: 'https://idem.test/other' }, headers: h }),
    422,
    /idempotency-key-reused/,
  );
});

test('listing is newest first with a working cursor, and filters by status and URL', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++)
    ids.push((await http(base, '/archive', { method: 'POST', json: { url: `https://page.test/${i}` } })).body.id);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const r: any = await http(base, `/archives?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200);
    assert.ok(r.body.items.length <= 2);
    seen.push(...r.body.items.map((i: any) => i.id));
    cursor = r.body.nextCursor;
  } while (cursor);
  assert.equal(new Set(seen).size, seen.length, 'no item twice');
  assert.deepEqual(seen.slice(0, 5), [...ids].reverse(), 'newest first');
  const byUrl = await http(base, `/archives?url=${encodeURIComponent('https://page.test/3')}`);
  assert.deepEqual(
    byUrl.body.items.map((i: any) => i.id),
    [ids[3]],
  );
  await problem(http(base, '/archives?cursor=garbage'), 400, /invalid-cursor/);
  await problem(http(base, '/archives?limit=1000'), 400, /invalid-request/);
  await problem(http(base, '/archives?status=weird'), 400, /invalid-request/);
});

test('retry republishes only failed artifacts; delete removes the archive and its files', async () => {
  const r = await http(base, '/archive', {
    method: 'POST',
    json: { url: 'https://retry.test/', formats: ['pdf', 'screenshot'] },
  });
  const id = r.body.id;
  await problem(http(base, `/archives/${id}/retry`, { method: 'POST' }), 409, /nothing-to-retry/);
  await claimArtifact(db.db, id, 'pdf', 60);
  await markFailed(db.db, id, 'pdf', 'timeout', 'capture exceeded 1 ms');
  await claimArtifact(db.db, id, 'screenshot', 60);
  const stored = await blobs().put(`articles/${id}/screenshot.png`, Buffer.from('png-bytes'), {
    contentType: 'image/png',
    metadata: {},
  });
  await markSucceeded(db.db, id, 'screenshot', {
    storageKey: stored.key,
    contentType: 'image/png',
    sizeBytes: stored.size,
    sha256: stored.sha256,
  });
  assert.equal((await http(base, `/archives/${id}`)).body.status, 'partial');
  jobs.length = 0;
  const retry = await http(base, `/archives/${id}/retry`, { method: 'POST' });
  assert.equal(retry.status, 202);
  assert.deepEqual(retry.body.retried, ['pdf']);
  await bus.idle();
  assert.deepEqual(
    jobs.map((j) => j.job.formats),
    [['pdf']],
  );
  assert.equal(jobs[0]!.job.reason, 'retry');
  const dl = await http<Buffer>(base, `/archives/${id}/artifacts/screenshot`);
  assert.equal(dl.status, 200);
  assert.equal(dl.headers.get('content-type'), 'image/png');
  assert.equal(dl.headers.get('etag'), `"${stored.sha256}"`);
  assert.equal(dl.body.toString(), 'png-bytes');
  const del = await fetch(`${base}/archives/${id}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  await problem(http(base, `/archives/${id}`), 404, /not-found/);
  assert.equal(await blobs().stat(`articles/${id}/screenshot.png`), null);
});

test('the sweeper republishes work whose publish was lost, and fails what keeps getting stuck', async () => {
  const r = await http(base, '/archive', {
    method: 'POST',
    json: { url: 'https://lost.test/', formats: ['readable'] },
  });
  await bus.idle();
  jobs.length = 0;
  // Simulate a publish lost after the commit: the lease passes with nobody working on it.
  await db.db
    .updateTable('artifacts')
    .set({ lease_until: new Date(Date.now() - 1000) })
    .where('article_id', '=', r.body.id)
    .execute();
  const first = await sweepOnce({
    db: db.db,
    publisher: bus,
    logger: silentLogger(),
    leaseSeconds: 60,
    maxAttempts: 3,
  });
  assert.ok(first.republished >= 1);
  await bus.idle();
  assert.deepEqual(
    jobs.filter((j) => j.job.articleId === r.body.id).map((j) => [j.job.reason, j.job.formats]),
    [['sweep', ['readable']]],
  );
  const again = await sweepOnce({
    db: db.db,
    publisher: bus,
    logger: silentLogger(),
    leaseSeconds: 60,
    maxAttempts: 3,
  });
  assert.equal(again.republished, 0, 'the lease was extended: no double publish');
  await db.db
    .updateTable('artifacts')
    .set({ lease_until: new Date(Date.now() - 1000), attempts: 3, status: 'running' })
    .where('article_id', '=', r.body.id)
    .execute();
  const last = await sweepOnce({ db: db.db, publisher: bus, logger: silentLogger(), leaseSeconds: 60, maxAttempts: 3 });
  assert.equal(last.failed, 1);
  const view = await http(base, `/archives/${r.body.id}`);
  assert.equal(view.body.artifacts[0].errorCode, 'stuck');
  assert.equal(view.body.status, 'failed');
});

test('healthz and openapi.json answer', async () => {
  const h = await http(base, '/healthz');
  assert.equal(h.status, 200);
  assert.equal(h.body.status, 'ok');
  const o = await http(base, '/openapi.json');
  assert.equal(o.body.openapi, '3.1.0');
  assert.ok(o.body.paths['/archive'].post);
});

test('writes and reads have separate rate limits; over the limit is a 429 with Retry-After', async () => {
  const limited = createServer(
    createApp({
      db: db.db,
      blobs: blobs(),
      publisher: bus,
      logger: silentLogger(),
      guard: { allowPrivateNetworks: false, resolve: async () => ['93.184.215.14'] },
      rateLimiter: createMemoryRateLimiter(),
      config: {
        DEDUP_WINDOW_SECONDS: 0,
        MAX_BODY_BYTES: 4096,
        RATE_LIMIT_PER_MINUTE: 2,
        READ_RATE_LIMIT_PER_MINUTE: 5,
        SIGNED_URL_TTL_SECONDS: 60,
        LEASE_SECONDS: 60,
      },
    }),
  );
  await new Promise<void>((r) => limited.listen(0, '127.0.0.1', r));
  const lbase = `http://127.0.0.1:${(limited.address() as AddressInfo).port}`;
  try {
    for (let i = 0; i < 2; i++)
      assert.equal(
        (await http(lbase, '/archive', { method: 'POST', json: { url: `https://limits.test/${i}` } })).status,
        202,
      );
    const over = await problem(
      http(lbase, '/archive', { method: 'POST', json: { url: 'https://limits.test/x' } }),
      429,
      /rate-limited/,
    );
    assert.match(over.detail, /2 writes per minute/);
    const again = await http(lbase, '/archive', { method: 'POST', json: { url: 'https://limits.test/y' } });
    const retryAfter = Number(again.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    // Reads still have their own budget: a client polling status is not locked out by its submissions.
    for (let i = 0; i < 5; i++) assert.equal((await http(lbase, '/archives?limit=1')).status, 200);
    await problem(http(lbase, '/archives?limit=1'), 429, /rate-limited/);
  } finally {
    await new Promise((r) => limited.close(r));
  }
});
