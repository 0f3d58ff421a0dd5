// The HTTP API on its own, continued: retry, delete, the sweeper's republishing, health and the document,
// and the separate write and read rate limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DatabaseHandle } from '../../shared/db/connect.ts';
import type { InProcessBus } from '../../shared/adapters/in-process-bus.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import type { CaptureJob } from '../../shared/core/messages.ts';
import { claimArtifact, markFailed, markSucceeded } from '../../shared/db/artifacts.ts';
import { sweepOnce } from '../../shared/jobs/sweeper.ts';
import { createMemoryRateLimiter } from '../../shared/adapters/memory-coordination.ts';
import { http } from '../support/embedded.ts';
import { problem, startApiHarness, type ApiHarness } from '../support/api-harness.ts';

let harness: ApiHarness;
let db: DatabaseHandle;
let bus: InProcessBus;
let base = '';
let jobs: Array<{ topic: string; job: CaptureJob }>;
const blobs = () => harness.blobs();

before(async () => {
  harness = await startApiHarness();
  ({ db, bus, base, jobs } = harness);
});

after(() => harness.close());

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
  const lbase = await harness.serve({
    guard: { allowPrivateNetworks: false, resolve: async () => ['93.184.215.14'] },
    rateLimiter: createMemoryRateLimiter(),
    config: { DEDUP_WINDOW_SECONDS: 0, RATE_LIMIT_PER_MINUTE: 2, READ_RATE_LIMIT_PER_MINUTE: 5 },
  });
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
});

test('a shared archive has a read budget of its own: over it a 429, and neither the owner nor other links pay', async () => {
  const sbase = await harness.serve({
    guard: { allowPrivateNetworks: false, resolve: async () => ['93.184.215.14'] },
    rateLimiter: createMemoryRateLimiter(),
    config: { DEDUP_WINDOW_SECONDS: 0, RATE_LIMIT_PER_MINUTE: 10, READ_RATE_LIMIT_PER_MINUTE: 3 },
  });
  const link = async (i: number) => {
    const made = await http(sbase, '/archive', { method: 'POST', json: { url: `https://shared-limits.test/${i}` } });
    assert.equal(made.status, 202);
    const shared = await http(sbase, `/archives/${made.body.id}/share`, { method: 'POST' });
    assert.equal(shared.status, 201);
    return shared.body.url as string;
  };
  const [one, two] = [await link(1), await link(2)];
  for (let i = 0; i < 3; i++) assert.equal((await http(sbase, one)).status, 200, `read ${i + 1} of 3`);
  const over = await problem(http(sbase, one), 429, /rate-limited/);
  assert.match(over.detail, /3 reads of a shared archive per minute/);
  const again = await http(sbase, `${one}/artifacts/readable`);
  assert.equal(again.status, 429, 'its files count against the same budget');
  const retryAfter = Number(again.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.equal((await http(sbase, two)).status, 200, 'another archive has its own budget');
  assert.equal((await http(sbase, '/archives?limit=1')).status, 200, "the visitors did not spend the owner's");
  assert.equal((await http(sbase, '/shared/not-a-token')).status, 404);
});
