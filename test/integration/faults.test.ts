// Delivery faults on the emulated topology: duplicate pushes, a browser worker SIGKILLed mid-capture, a
// poison message that ends in the dead-letter topic, article-changed duplicated and out of order; and
// the push endpoint's OIDC verification (no token, forged signature, wrong audience or account).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { startTopology, type Topology } from '../support/topology.ts';
import { freePort } from '../support/services.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { TOPICS, encodeData } from '../../shared/core/messages.ts';
import {
  api,
  captureJob,
  finished,
  pendingArticle,
  pgArticle,
  syncOutcomes,
  until,
  waitForReplica,
} from './support.ts';

const FIXTURE = new URL('../fixtures/site/', import.meta.url).pathname;
// Enough deliveries to outlast a 10 s lease while the killed worker restarts; the poison message uses them all.
const MAX_DELIVERIES = 12;
let topo: Topology;
let site: StaticServer;
let key: string;
let slowHits = 0;
let doneId = '';

before(async () => {
  // One after the other, so a failed start cannot leave the site unassigned, open and the run hanging.
  site = await serveDir(FIXTURE, {
    routes: {
      // Answers after a delay, so the test can kill the worker while the capture waits for the page.
      '/slow.html': async (req, res) => {
        // Only the browser's loads count: the worker's content-type probe (user agent HTBase/…) comes first.
        if (!String(req.headers['user-agent']).includes('HTBase/')) slowHits++;
        await sleep(2500);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          '<!doctype html><html lang="en"><title>Slow page</title><body><article><h1>Slow</h1><p>SLOW-SENTINEL This page took its time to arrive, and the capture had to wait for it patiently.</p></article></body></html>',
        );
      },
    },
  });
  topo = await startTopology({
    leaseSeconds: 10,
    pubsub: { maxDeliveryAttempts: MAX_DELIVERIES, minBackoffSeconds: 1, maxBackoffSeconds: 2 },
    env: { sync: { LOG_LEVEL: 'debug' } },
  });
  key = await topo.createApiKey('faults');
});

after(async () => {
  await site?.close();
  await topo?.close();
});

test('the same capture message pushed twice does the work once', async () => {
  const url = `${site.origin}/index.html?dup`;
  const id = await pendingArticle(topo.db, url, ['readable', 'screenshot', 'monolith']);
  const browserJob = captureJob(id, url, ['readable', 'screenshot']);
  const monolithJob = captureJob(id, url, ['monolith']);
  // Two identical messages per topic, as an at-least-once delivery may hand them out, at the same moment.
  await Promise.all([
    topo.pubsub.topic(TOPICS.captureBrowser).publishMessage({ data: encodeData(browserJob) }),
    topo.pubsub.topic(TOPICS.captureBrowser).publishMessage({ data: encodeData(browserJob) }),
    topo.pubsub.topic(TOPICS.captureMonolith).publishMessage({ data: encodeData(monolithJob) }),
    topo.pubsub.topic(TOPICS.captureMonolith).publishMessage({ data: encodeData(monolithJob) }),
  ]);
  const v = await finished(topo.db, id);
  assert.equal(
    v.article.status,
    'complete',
    JSON.stringify(v.artifacts.map((a) => [a.format, a.status, a.error_code])),
  );
  for (const a of v.artifacts) assert.equal(a.attempts, 1, `${a.format} claimed once`);
  // The summary follows the readable text (and bumps the version once); wait for it before comparing.
  await until(
    'the summary to be stored',
    async () =>
      (await topo.db.selectFrom('summaries').select('article_id').where('article_id', '=', id).executeTakeFirst()) ??
      undefined,
    60_000,
  );
  const versionAfter = Number((await pgArticle(topo.db, id)).article.version);
  // Both duplicates have been answered once nothing is claimable any more; then nothing changed.
  await sleep(3000);
  const again = await pgArticle(topo.db, id);
  assert.equal(Number(again.article.version), versionAfter, 'the duplicates changed nothing');
  const uploads = topo.finalizeDeliveries
    .filter((e) => e.object.startsWith(`articles/${id}/`))
    .map((e) => e.object)
    .sort();
  assert.deepEqual(
    uploads,
    [
      `articles/${id}/monolith.html`,
      `articles/${id}/readable.json`,
      `articles/${id}/screenshot.png`,
      // The library's thumbnail, made by the same navigation as the screenshot: once too.
      `articles/${id}/thumbnail.webp`,
    ],
    'one upload per artifact',
  );
  doneId = id;
});

test('a browser worker killed with SIGKILL mid-capture: redelivered, completed, never running past its lease', async () => {
  const submit = await api(topo.apiUrl, key, '/archive', {
    method: 'POST',
    json: { url: `${site.origin}/slow.html`, formats: ['readable', 'screenshot'] },
  });
  assert.equal(submit.status, 202);
  const id = submit.body.id;
  await until('the slow page to be requested', async () => (slowHits > 0 ? true : undefined), 60_000, 20);
  const before = await pgArticle(topo.db, id);
  for (const a of before.artifacts) assert.equal(a.status, 'running', `${a.format} claimed before the kill`);
  const leaseAtKill = Math.max(...before.artifacts.map((a) => new Date(a.lease_until!).getTime()));
  const oldPid = topo.procs.browser.pid;
  await topo.procs.browser.kill(); // the worker and its Chromium, as when an instance dies
  const restarted = await topo.restart('browser');
  assert.notEqual(restarted.pid, oldPid);

  const v = await finished(topo.db, id);
  assert.equal(
    v.article.status,
    'complete',
    JSON.stringify(v.artifacts.map((a) => [a.format, a.status, a.error_code])),
  );
  // The thumbnail is recorded by the attempt that stores the screenshot: the redelivery, once.
  const thumbnail = v.artifacts.find((a) => a.format === 'thumbnail');
  assert.equal(thumbnail?.status, 'succeeded');
  assert.equal(thumbnail?.attempts, 1, 'one thumbnail, from the redelivery');
  for (const a of v.artifacts.filter((x) => x.format !== 'thumbnail')) {
    assert.equal(a.status, 'succeeded');
    assert.equal(a.attempts, 2, `${a.format}: the killed attempt and the redelivery`);
    // Claimed again soon after the dead worker's lease ran out: a redelivery (1-2 s backoff) picked it up.
    const reclaimedAt = new Date(a.started_at!).getTime();
    assert.ok(reclaimedAt >= leaseAtKill - 1000, `${a.format} not stolen while its lease was valid`);
    assert.ok(
      reclaimedAt <= leaseAtKill + 8000,
      `${a.format} reclaimed ${reclaimedAt - leaseAtKill} ms after its lease ended`,
    );
  }
  assert.ok(slowHits >= 2, 'the page was fetched again');
  const stale = await topo.db
    .selectFrom('artifacts')
    .select(['article_id', 'format'])
    .where('status', '=', 'running')
    .where('lease_until', '<', sql<Date>`now()`)
    .execute();
  assert.deepEqual(stale, [], 'no artifact is running past its lease');
});

test('SIGTERM mid-capture: the worker stops taking work, releases its lease within the grace period, and the redelivery completes', async () => {
  // A short grace period, shorter than the slow page: the job in flight cannot finish and must be released.
  await topo.restart('browser', { SHUTDOWN_GRACE_MS: '300' });
  const hitsBefore = slowHits;
  const submit = await api(topo.apiUrl, key, '/archive', {
    method: 'POST',
    json: { url: `${site.origin}/slow.html?sigterm`, formats: ['readable'] },
  });
  assert.equal(submit.status, 202);
  const id = submit.body.id;
  await until('the slow page to be requested', async () => (slowHits > hitsBefore ? true : undefined), 60_000, 20);
  const t0 = Date.now();
  await topo.procs.browser.stop(15_000);
  const stoppedIn = Date.now() - t0;
  assert.ok(stoppedIn < 5000, `exited ${stoppedIn} ms after SIGTERM (grace 300 ms + release)`);
  const released = await pgArticle(topo.db, id);
  assert.equal(released.artifacts[0]!.status, 'pending', 'the lease was released, not left running');
  assert.equal(released.artifacts[0]!.attempts, 1);
  await topo.restart('browser');
  const v = await finished(topo.db, id);
  assert.equal(v.article.status, 'complete');
  assert.equal(v.artifacts[0]!.attempts, 2, 'the aborted attempt and the redelivery');
});

test('a poison message (every capture fails transiently) ends in the dead-letter topic: failed / dead_lettered', async () => {
  // A browser instance whose Chromium cannot start: every delivery fails with a transient error (5xx).
  await topo.restart('browser', { CHROME_PATH: '/nonexistent/chromium' });
  try {
    const t0 = Date.now();
    const submit = await api(topo.apiUrl, key, '/archive', {
      method: 'POST',
      json: { url: `${site.origin}/index.html?poison`, formats: ['readable', 'pdf'] },
    });
    assert.equal(submit.status, 202);
    const v = await finished(topo.db, submit.body.id, 150_000);
    process.stdout.write(`# faults: poison message dead-lettered after ${Date.now() - t0} ms\n`);
    assert.equal(v.article.status, 'failed');
    for (const a of v.artifacts) {
      assert.equal(a.status, 'failed');
      assert.equal(a.error_code, 'dead_lettered');
      assert.match(a.error_message ?? '', new RegExp(`gave up after ${MAX_DELIVERIES} delivery attempts`));
      assert.equal(a.attempts, MAX_DELIVERIES, `${a.format}: claimed on every delivery`);
      assert.equal(a.lease_until, null);
    }
    await waitForReplica(topo.db, topo.firestore, submit.body.id);
    const doc = (await topo.firestore.collection('articles').doc(submit.body.id).get()).data()!;
    assert.equal(doc.artifacts.readable.errorCode, 'dead_lettered');
  } finally {
    await topo.restart('browser');
  }
});

test('article-changed delivered twice and out of order leaves Firestore equal to Postgres, deletes included', async () => {
  assert.ok(doneId, 'depends on the duplicate test');
  const { article } = await pgArticle(topo.db, doneId);
  const current = Number(article.version);
  await waitForReplica(topo.db, topo.firestore, doneId);
  // The replica is lost (e.g. restored from an old backup): old and current events, duplicated and shuffled.
  await topo.firestore.collection('articles').doc(doneId).delete();
  const before = syncOutcomes(topo.procs.sync.logFile, doneId).length;
  const versions = [1, current, 2, current, 1, current - 1];
  const topic = topo.pubsub.topic(TOPICS.articleChanged);
  await Promise.all(
    versions.map((version) =>
      topic.publishMessage({ data: encodeData({ v: 1, articleId: doneId, version, deleted: false }) }),
    ),
  );
  await until(
    'every event to be applied',
    async () => (syncOutcomes(topo.procs.sync.logFile, doneId).length - before >= versions.length ? true : undefined),
    60_000,
  );
  await waitForReplica(topo.db, topo.firestore, doneId);
  const outcomes = syncOutcomes(topo.procs.sync.logFile, doneId).slice(before);
  assert.equal(outcomes.filter((o) => o === 'written').length, 1, `one write, the rest stale: ${outcomes}`);

  // Deleted through the API; events older than the delete, arriving late and twice, do not bring it back.
  const beforeDelete = syncOutcomes(topo.procs.sync.logFile, doneId).length;
  assert.equal((await api(topo.apiUrl, key, `/archives/${doneId}`, { method: 'DELETE' })).status, 204);
  const tomb = await until('the tombstone', async () => {
    const d = (await topo.firestore.collection('articles').doc(doneId).get()).data();
    return d?.deleted ? d : undefined;
  });
  assert.equal(tomb.version, current + 1);
  await until(
    'the delete to be logged',
    async () => (syncOutcomes(topo.procs.sync.logFile, doneId).length > beforeDelete ? true : undefined),
    10_000,
  );
  const mark = syncOutcomes(topo.procs.sync.logFile, doneId).length;
  const late = [current, current - 1, current, current + 1];
  await Promise.all(
    late.map((version) =>
      topic.publishMessage({ data: encodeData({ v: 1, articleId: doneId, version, deleted: false }) }),
    ),
  );
  await until(
    'the late events to be applied',
    async () => (syncOutcomes(topo.procs.sync.logFile, doneId).length - mark >= late.length ? true : undefined),
    60_000,
  );
  assert.deepEqual(syncOutcomes(topo.procs.sync.logFile, doneId).slice(mark), ['stale', 'stale', 'stale', 'stale']);
  const after = (await topo.firestore.collection('articles').doc(doneId).get()).data()!;
  assert.equal(after.deleted, true);
  assert.equal(after.version, current + 1);
  assert.equal(
    await topo.db.selectFrom('articles').select('id').where('id', '=', doneId).executeTakeFirst(),
    undefined,
  );
});

test('with OIDC verification on, push requests need a valid token from the push service account', async () => {
  const port = await freePort();
  const audience = `http://127.0.0.1:${port}/pubsub/push`;
  const pusher = `htbase-pubsub-invoker@${topo.projectId}.iam.gserviceaccount.com`;
  const worker = await topo.spawn('browser-oidc', 'browser', {
    port,
    env: {
      PUBSUB_VERIFY_OIDC: 'true',
      PUBSUB_AUDIENCE: audience,
      PUBSUB_INVOKER_SA: pusher,
      OIDC_JWKS_URL: topo.services.issuer.jwksUrl,
    },
  });
  const completed = await topo.db
    .selectFrom('articles')
    .select(['id', 'url'])
    .where('status', '=', 'complete')
    .executeTakeFirstOrThrow();
  const body = JSON.stringify({
    message: {
      data: encodeData(captureJob(completed.id, completed.url, ['readable'])).toString('base64'),
      messageId: 'oidc-1',
      attributes: {},
    },
    subscription: `projects/${topo.projectId}/subscriptions/capture-browser-push`,
  });
  const push = async (authorization?: string, path = '/pubsub/push') => {
    const res = await fetch(`${worker.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  const issuer = topo.services.issuer;
  const cases: Array<[string, string | undefined, number, string]> = [
    ['no token', undefined, 401, 'missing_token'],
    ['not a bearer token', 'Basic Zm9vOmJhcg==', 401, 'malformed_authorization'],
    ['a forged signature', `Bearer ${await issuer.mintForged({ aud: audience, email: pusher })}`, 401, 'invalid_token'],
    [
      'an expired token',
      `Bearer ${await issuer.mint({ aud: audience, email: pusher, expiresInSeconds: -600 })}`,
      401,
      'token_expired',
    ],
    [
      'another issuer',
      `Bearer ${await issuer.mint({ aud: audience, email: pusher, iss: 'https://evil.example' })}`,
      401,
      'invalid_iss',
    ],
    [
      'the wrong audience',
      `Bearer ${await issuer.mint({ aud: 'https://other-service.run.app/pubsub/push', email: pusher })}`,
      403,
      'wrong_audience',
    ],
    [
      'another service account',
      `Bearer ${await issuer.mint({ aud: audience, email: `intruder@${topo.projectId}.iam.gserviceaccount.com` })}`,
      403,
      'wrong_service_account',
    ],
  ];
  for (const [what, authorization, status, code] of cases) {
    const r = await push(authorization);
    assert.equal(r.status, status, what);
    assert.equal(r.body.error, code, what);
  }
  const valid = `Bearer ${await issuer.mint({ aud: audience, email: pusher })}`;
  const ok = await push(valid);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.detail, 'nothing to do', 'the message reached the worker (an already archived article)');
  // The dead-letter endpoint is guarded the same way.
  assert.equal((await push(undefined, '/pubsub/dead-letter')).status, 401);
  await worker.stop();
});
