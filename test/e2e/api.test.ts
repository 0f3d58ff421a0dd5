// The HTTP API on its own (PGlite, local store, the in-process bus with a recording subscriber; no
// browser): validation, problem responses, deduplication, idempotency and pagination. Every answer is also
// checked against the served /openapi.json by the http() helper.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { DatabaseHandle } from '../../shared/db/connect.ts';
import type { InProcessBus } from '../../shared/adapters/in-process-bus.ts';
import { TOPICS, type CaptureJob } from '../../shared/core/messages.ts';
import { http } from '../support/embedded.ts';
import { problem, startApiHarness, type ApiHarness } from '../support/api-harness.ts';

let harness: ApiHarness;
let db: DatabaseHandle;
let bus: InProcessBus;
let base = '';
let jobs: Array<{ topic: string; job: CaptureJob }>;

before(async () => {
  harness = await startApiHarness();
  ({ db, bus, base, jobs } = harness);
});

after(() => harness.close());

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
