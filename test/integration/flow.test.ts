// The whole Google Cloud flow on the emulated topology (every deployable its own process): POST /archive →
// Pub/Sub pushes → both workers → Cloud Storage → Eventarc CloudEvent → Cloud Tasks → summary → Firestore;
// summary regeneration through the API; signed URLs; the sweeper; API keys and the Redis-backed rate limit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { startTopology, type Topology } from '../support/topology.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { createArticle } from '../../shared/db/articles.ts';
import { revokeApiKey } from '../../shared/auth/api-keys.ts';
import { normalizeUrl } from '../../shared/core/url.ts';
import { migrations } from '../../shared/db/migrations/index.ts';
import { api, pgArticle, terminalStatus, until, waitForReplica } from './support.ts';
import { adminId } from '../support/owners.ts';

const FIXTURE = new URL('../fixtures/site/', import.meta.url).pathname;
const ALL = ['monolith', 'pdf', 'readable', 'screenshot', 'singlefile'];
let topo: Topology;
let site: StaticServer;
let key: string;
let fixtureId = '';

before(async () => {
  // One after the other, so a failed start cannot leave the site unassigned, open and the run hanging.
  site = await serveDir(FIXTURE);
  topo = await startTopology();
  key = await topo.createApiKey('integration');
});

after(async () => {
  await site?.close();
  await topo?.close();
});

test('POST /archive runs through every deployable and the replica ends equal to Postgres', async () => {
  const t0 = Date.now();
  const submit = await api(topo.apiUrl, key, '/archive', {
    method: 'POST',
    json: { url: `${site.origin}/index.html` },
  });
  assert.equal(submit.status, 202, JSON.stringify(submit.body));
  fixtureId = submit.body.id;

  const view = await until(
    'the archive to complete with a summary',
    async () => {
      const r = await api(topo.apiUrl, key, `/archives/${fixtureId}`);
      return terminalStatus(r.body.status) && r.body.summary ? r.body : undefined;
    },
    150_000,
  );
  const ms = Date.now() - t0;
  assert.equal(view.status, 'complete', JSON.stringify(view.artifacts));
  const by = Object.fromEntries(view.artifacts.map((a: any) => [a.format, a]));
  assert.deepEqual(Object.keys(by).sort(), ALL);
  for (const f of ALL) {
    assert.equal(by[f].status, 'succeeded', `${f}: ${by[f].errorCode} ${by[f].errorMessage}`);
    assert.equal(by[f].attempts, 1, `${f} captured once`);
  }
  assert.equal(view.title, 'The Lighthouse Keepers of Skerryvore');
  // The summary came from Gemini (the fake), through the Cloud Tasks fake's dispatch to summarizeTask.
  assert.equal(view.summary.provider, 'gemini');
  assert.match(view.summary.summary, /^Summary: /);
  assert.ok(
    topo.services.gemini!.requests.some((r) => /Skerryvore/.test(r.prompt)),
    'Gemini was asked about the article text',
  );

  // Every artifact is in the bucket under its key, with its metadata, and the bytes hash to what Postgres says.
  const { artifacts } = await pgArticle(topo.db, fixtureId);
  for (const a of artifacts) {
    const obj = topo.services.gcs.fake.list(topo.bucket).find((o) => o.name === a.storage_key);
    assert.ok(obj, `${a.format} object ${a.storage_key} exists`);
    assert.equal(obj.metadata?.articleId, fixtureId);
    assert.equal(obj.metadata?.format, a.format);
    assert.equal(obj.metadata?.sha256, a.sha256);
    const bytes = topo.services.gcs.fake.read(topo.bucket, obj.name)!;
    assert.equal(createHash('sha256').update(bytes).digest('hex'), a.sha256);
    assert.equal(bytes.length, Number(a.size_bytes));
  }
  assert.match(
    topo.services.gcs.fake.read(topo.bucket, `articles/${fixtureId}/monolith.html`)!.toString(),
    /monolith|<html/i,
  );

  // Eventarc delivered a CloudEvent per object, summarize acknowledged each, and one task was dispatched.
  // Five formats and the library's thumbnail: six objects.
  const events = topo.finalizeDeliveries.filter((e) => e.object.startsWith(`articles/${fixtureId}/`));
  assert.equal(events.length, 6);
  for (const e of events) assert.ok(e.status >= 200 && e.status < 300, `${e.object} event answered ${e.status}`);
  const tasks = topo.services.tasks.tasks.filter((t) => t.body.toString().includes(fixtureId));
  assert.equal(tasks.length, 1, 'one summary task');
  // The summary is stored before summarizeTask answers, so the queue may record the success a moment later.
  await until(
    'the summary task to be acknowledged',
    async () => (tasks[0]!.state === 'succeeded' ? true : undefined),
    10_000,
    50,
  );
  assert.equal(tasks[0]!.url, `${topo.procs.summarizeTask.url}/`);

  await waitForReplica(topo.db, topo.firestore, fixtureId);
  const doc = (await topo.firestore.collection('articles').doc(fixtureId).get()).data()!;
  assert.equal(doc.status, 'complete');
  assert.equal(doc.summary.provider, 'gemini');
  for (const f of ALL) assert.equal(doc.artifacts[f].status, 'succeeded');
  process.stdout.write(`# flow: POST /archive to complete with summary in ${ms} ms\n`);
});

test('POST /archives/{id}/summary on the cloud API: 202, a task on Cloud Tasks, a new summary in Postgres and Firestore', async () => {
  assert.ok(fixtureId, 'depends on the first test');
  const before = await pgArticle(topo.db, fixtureId);
  assert.ok(before.summary, 'the first summary is stored');
  const modelCalls = topo.services.gemini!.requests.length;
  const queued = topo.services.tasks.tasks.length;
  const r = await api(topo.apiUrl, key, `/archives/${fixtureId}/summary`, { method: 'POST', json: { force: true } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.deepEqual(r.body, { id: fixtureId, summary: 'dispatched' });
  // The API enqueued on the summaries queue, for the summarizeTask function, as the dispatcher does.
  const task = topo.services.tasks.tasks.slice(queued).find((t) => t.body.toString().includes(fixtureId));
  assert.ok(task, 'a task for the article');
  assert.equal(task.queue, 'summaries');
  assert.equal(task.url, `${topo.procs.summarizeTask.url}/`);
  const after = await until(
    'the regenerated summary',
    async () => {
      const v = await pgArticle(topo.db, fixtureId);
      // The row is written first, then the version bumped: wait for both.
      const regenerated = v.summary && new Date(v.summary.created_at) > new Date(before.summary!.created_at);
      return regenerated && Number(v.article.version) > Number(before.article.version) ? v : undefined;
    },
    60_000,
  );
  assert.ok(topo.services.gemini!.requests.length > modelCalls, 'Gemini was asked again');
  assert.equal(after.summary!.provider, 'gemini');
  await waitForReplica(topo.db, topo.firestore, fixtureId);
  const view = await api(topo.apiUrl, key, `/archives/${fixtureId}`);
  assert.equal(view.body.summary.summary, after.summary!.summary);
  // Without force, the same text is not summarized again.
  const again = await api(topo.apiUrl, key, `/archives/${fixtureId}/summary`, { method: 'POST', json: {} });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.summary, 'unchanged');
});

test('every deployable migrated the one database at start-up, concurrently, each migration applied once', async () => {
  const rows = await topo.db
    .selectFrom('kysely_migration' as never)
    .select(['name' as never])
    .execute();
  const names = rows.map((r) => (r as { name: string }).name).sort();
  assert.deepEqual(names, Object.keys(migrations).sort());
});

test('GET /archives/{id}/artifacts/singlefile answers 302 to a v4 signed URL the storage verifies', async () => {
  assert.ok(fixtureId, 'depends on the first test');
  const r = await fetch(`${topo.apiUrl}/archives/${fixtureId}/artifacts/singlefile`, {
    headers: { authorization: `Bearer ${key}` },
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(r.status, 302);
  const loc = new URL(r.headers.get('location')!);
  assert.equal(loc.origin, new URL(topo.services.gcs.apiEndpoint).origin);
  assert.equal(loc.pathname, `/${topo.bucket}/articles/${fixtureId}/singlefile.html`);
  assert.equal(loc.searchParams.get('X-Goog-Algorithm'), 'GOOG4-RSA-SHA256');
  assert.match(loc.searchParams.get('X-Goog-Credential')!, new RegExp(`^${topo.signer.clientEmail}/`));
  const dl = await fetch(loc, { signal: AbortSignal.timeout(10_000) });
  assert.equal(dl.status, 200);
  const bytes = Buffer.from(await dl.arrayBuffer());
  const { artifacts } = await pgArticle(topo.db, fixtureId);
  assert.equal(
    createHash('sha256').update(bytes).digest('hex'),
    artifacts.find((a) => a.format === 'singlefile')!.sha256,
  );
  assert.match(dl.headers.get('content-disposition') ?? '', /attachment; filename="[^"]*singlefile\.html"/);
  // A tampered URL is refused by the storage.
  const forged = new URL(loc);
  forged.searchParams.set('X-Goog-Expires', '604800');
  assert.equal((await fetch(forged, { signal: AbortSignal.timeout(10_000) })).status, 403);
});

test('the scheduler-driven sweep republishes a pending artifact whose publish was lost, and it completes', async () => {
  // The API's transaction committed but its publish never happened: the rows exist, no message does.
  const id = randomUUID();
  const url = `${site.origin}/index.html?lost-publish`;
  const created = await createArticle(topo.db, {
    id,
    ownerId: await adminId(topo.db),
    url,
    normalizedUrl: normalizeUrl(new URL(url)),
    formats: ['readable', 'monolith'],
    dedupWindowSeconds: 0,
    force: true,
    leaseSeconds: 0,
  });
  assert.equal(created.kind, 'created');

  // Only the scheduler's service account may run it.
  const anonymous = await fetch(`${topo.procs.sweep.url}/`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  assert.equal(anonymous.status, 401);
  const stranger = await topo.services.issuer.mint({
    aud: `${topo.procs.sweep.url}/`,
    email: 'someone@example.iam.gserviceaccount.com',
  });
  const refused = await fetch(`${topo.procs.sweep.url}/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stranger}` },
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(refused.status, 403);
  assert.equal((await pgArticle(topo.db, id)).article.status, 'pending', 'a refused sweep did nothing');

  const swept = await topo.invokeSweep();
  assert.equal(swept.status, 200, JSON.stringify(swept.body));
  assert.ok((swept.body as { republished: number }).republished >= 2, JSON.stringify(swept.body));
  const done = await until('the swept article to finish', async () => {
    const v = await pgArticle(topo.db, id);
    return terminalStatus(v.article.status) ? v : undefined;
  });
  assert.equal(
    done.article.status,
    'complete',
    JSON.stringify(done.artifacts.map((a) => [a.format, a.status, a.error_code])),
  );
  for (const a of done.artifacts) assert.equal(a.status, 'succeeded');
  // A second sweep finds nothing stuck.
  const again = await topo.invokeSweep();
  assert.deepEqual(again.body, {
    republished: 0,
    failed: 0,
    imports: { settled: 0, queued: 0, duplicates: 0, failed: 0 },
  });
  // Its readable text is summarized too, which bumps the version once more: compare the replica after that.
  await until('the swept article to be summarized', async () => (await pgArticle(topo.db, id)).summary);
  await waitForReplica(topo.db, topo.firestore, id);
});

test('an import on the cloud API is handed to the workers by the scheduled sweep, and its line ends archived', async () => {
  const form = new FormData();
  form.set('file', new Blob([`${site.origin}/index.html?imported=1\nftp://example.com/nope\n`]), 'urls.txt');
  const posted = await fetch(`${topo.apiUrl}/imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
    signal: AbortSignal.timeout(30_000),
  });
  const accepted = (await posted.json()) as { id: string };
  assert.equal(posted.status, 202, JSON.stringify(accepted));
  // Nothing in the cloud drains imports but the sweep that Cloud Scheduler runs.
  const swept = await topo.invokeSweep();
  assert.equal(swept.status, 200, JSON.stringify(swept.body));
  assert.equal((swept.body as { imports: { queued: number } }).imports.queued, 1, JSON.stringify(swept.body));
  const progress = await until(
    'the imported line to be archived',
    async () => {
      await topo.invokeSweep(); // settles finished lines
      const r = await api(topo.apiUrl, key, `/imports/${accepted.id}`);
      return r.body.archived === 1 ? r.body : undefined;
    },
    150_000,
  );
  assert.equal(progress.total, 2, JSON.stringify(progress));
  assert.equal(progress.failed, 1, JSON.stringify(progress));
});

test('the API refuses requests without a valid key with 401 problem+json', async () => {
  const cases: Array<[string, Record<string, string>]> = [
    ['no Authorization', {}],
    ['not a Bearer token', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ['an unknown key', { authorization: `Bearer htb_${'A'.repeat(43)}` }],
  ];
  for (const [what, headers] of cases) {
    const r = await api(topo.apiUrl, null, '/archives?limit=1', { headers });
    assert.equal(r.status, 401, what);
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
    assert.equal(r.body.type, 'urn:htbase:problem:unauthorized', what);
  }
  const post = await api(topo.apiUrl, null, '/archive', { method: 'POST', json: { url: `${site.origin}/index.html` } });
  assert.equal(post.status, 401, 'no archive without a key');
  // Under the Functions Framework too, bodies are bounded and malformed JSON is refused.
  const big = await api(topo.apiUrl, key, '/archive', {
    method: 'POST',
    json: { url: `${site.origin}/index.html`, pad: 'x'.repeat(20 * 1024) },
  });
  assert.equal(big.status, 400);
  assert.equal(big.body.type, 'urn:htbase:problem:body-too-large');
  const bad = await api(topo.apiUrl, key, '/archive', {
    method: 'POST',
    body: '{"url":',
    headers: { 'content-type': 'application/json' },
  });
  // 400, but from the Functions Framework's own body parser (an HTML page), before the function runs.
  assert.equal(bad.status, 400);
  // A revoked key stops working at once.
  const doomed = await topo.createApiKey('revoked');
  assert.equal((await api(topo.apiUrl, doomed, '/archives?limit=1')).status, 200);
  assert.ok(await revokeApiKey(topo.db, doomed));
  assert.equal((await api(topo.apiUrl, doomed, '/archives?limit=1')).status, 401);
});

test('over RATE_LIMIT_PER_MINUTE the API answers 429 with Retry-After, counted in Redis across instances', async () => {
  // Two more API instances with a low limit, sharing the topology's Redis.
  const [a, b] = await Promise.all([
    topo.spawn('api-limited-a', 'api', { env: { RATE_LIMIT_PER_MINUTE: '4', READ_RATE_LIMIT_PER_MINUTE: '4' } }),
    topo.spawn('api-limited-b', 'api', { env: { RATE_LIMIT_PER_MINUTE: '4', READ_RATE_LIMIT_PER_MINUTE: '4' } }),
  ]);
  const limited = await topo.createApiKey('rate-limited', { user: 'rate-limited' });
  const statuses: number[] = [];
  for (const base of [a.url, b.url, a.url, b.url])
    statuses.push((await api(base, limited, '/archives?limit=1')).status);
  assert.deepEqual(statuses, [200, 200, 200, 200]);
  const over = await api(b.url, limited, '/archives?limit=1');
  assert.equal(over.status, 429, 'the fifth request, whichever instance takes it');
  assert.equal(over.body.type, 'urn:htbase:problem:rate-limited');
  const retryAfter = Number(over.headers.get('retry-after'));
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
    `Retry-After ${over.headers.get('retry-after')}`,
  );
  assert.equal((await api(a.url, limited, '/archives?limit=1')).status, 429, 'the other instance agrees');
  // Another client is not affected.
  assert.equal(
    (await api(a.url, await topo.createApiKey('another-client', { user: 'another-client' }), '/archives?limit=1'))
      .status,
    200,
  );
});
