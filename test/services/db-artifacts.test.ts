// The artifact state machine (shared/db/artifacts.ts) on PGlite: the claim compare-and-set and its lease,
// release, retry reset, markSucceeded and markFailed, each checked on the rows it leaves and the version bump.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createArticle, findArticle } from '../../shared/db/articles.ts';
import {
  claimArtifact,
  claimArtifacts,
  findArtifact,
  markFailed,
  markSucceeded,
  releaseArtifact,
  resetForRetry,
} from '../../shared/db/artifacts.ts';
import type { Format } from '../../shared/core/formats.ts';
import { adminId } from '../support/owners.ts';

let dbh: DatabaseHandle;

before(async () => {
  dbh = await openDatabase({ memory: true });
});
after(async () => {
  await dbh?.close();
});

/** A fresh article with pending artifacts; its version is 2 (the row's default 1, bumped once at creation). */
async function newArticle(formats: Format[] = ['pdf']): Promise<string> {
  const id = randomUUID();
  const url = `https://example.com/${id}`;
  const r = await createArticle(dbh.db, {
    id,
    ownerId: await adminId(dbh.db),
    url,
    normalizedUrl: url,
    formats,
    dedupWindowSeconds: 0,
    force: true,
    leaseSeconds: 300,
  });
  assert.equal(r.kind, 'created');
  return id;
}

/** Moves the artifact's lease a minute into the past, as if its holder had died. */
async function expireLease(articleId: string, format: Format): Promise<void> {
  await dbh.db
    .updateTable('artifacts')
    .set({ lease_until: sql<Date>`now() - interval '1 minute'` })
    .where('article_id', '=', articleId)
    .where('format', '=', format)
    .execute();
}

const artifact = async (articleId: string, format: Format) => (await findArtifact(dbh.db, articleId, format))!;
const article = async (articleId: string) => (await findArticle(dbh.db, articleId))!;

test('claim: pending becomes running with a lease, one attempt, and the article bumped to running', async () => {
  const id = await newArticle(['pdf', 'screenshot']);
  assert.equal((await article(id)).version, 2);
  const before = Date.now();
  const c = await claimArtifact(dbh.db, id, 'pdf', 120);
  assert.equal(c.kind, 'claimed');
  assert.ok(c.kind === 'claimed');
  assert.deepEqual(c.transition, { version: 3, status: 'running' });
  assert.equal(c.artifact.status, 'running');
  assert.equal(c.artifact.attempts, 1);
  assert.ok(c.artifact.started_at instanceof Date);
  const leaseMs = c.artifact.lease_until!.getTime() - before;
  assert.ok(leaseMs > 110_000 && leaseMs < 130_000, `lease of ${leaseMs} ms for 120 s`);
  const a = await article(id);
  assert.equal(a.status, 'running');
  assert.equal(a.version, 3);
  assert.equal((await artifact(id, 'screenshot')).status, 'pending', 'the other format is untouched');
});

test('claim: a live lease refuses a second claim (busy) and changes nothing', async () => {
  const id = await newArticle();
  assert.equal((await claimArtifact(dbh.db, id, 'pdf', 300)).kind, 'claimed');
  const second = await claimArtifact(dbh.db, id, 'pdf', 300);
  assert.equal(second.kind, 'busy');
  assert.equal((await artifact(id, 'pdf')).attempts, 1);
  assert.equal((await article(id)).version, 3, 'a refused claim does not bump the version');
});

test('claim: concurrent claims of one artifact let exactly one through', async () => {
  const id = await newArticle();
  const results = await Promise.all(Array.from({ length: 4 }, () => claimArtifact(dbh.db, id, 'pdf', 300)));
  assert.deepEqual(results.map((r) => r.kind).sort(), ['busy', 'busy', 'busy', 'claimed']);
  assert.equal((await artifact(id, 'pdf')).attempts, 1);
});

test('claim: an expired lease can be claimed again, counting a second attempt', async () => {
  const id = await newArticle();
  await claimArtifact(dbh.db, id, 'pdf', 300);
  await expireLease(id, 'pdf');
  const again = await claimArtifact(dbh.db, id, 'pdf', 300);
  assert.equal(again.kind, 'claimed');
  assert.ok(again.kind === 'claimed');
  assert.equal(again.artifact.attempts, 2);
  assert.ok(again.artifact.lease_until!.getTime() > Date.now() + 250_000, 'a fresh lease');
  assert.equal(again.transition.version, 4);
});

test('claim: succeeded, failed and skipped are final for a capture message; an unknown format is missing', async () => {
  const id = await newArticle(['pdf', 'screenshot', 'monolith']);
  await claimArtifact(dbh.db, id, 'pdf', 300);
  await markSucceeded(dbh.db, id, 'pdf', {
    storageKey: 'k',
    contentType: 'application/pdf',
    sizeBytes: 1,
    sha256: 's',
  });
  await markFailed(dbh.db, id, 'screenshot', 'timeout', 'too slow');
  await markFailed(dbh.db, id, 'monolith', 'monolith_unavailable', 'no binary', 'skipped');
  for (const f of ['pdf', 'screenshot', 'monolith'] as const) {
    const c = await claimArtifact(dbh.db, id, f, 300);
    assert.equal(c.kind, 'done', f);
    assert.ok(c.kind === 'done');
    assert.equal(c.artifact.attempts, f === 'pdf' ? 1 : 0, `${f} attempts unchanged`);
  }
  assert.deepEqual(await claimArtifact(dbh.db, id, 'readable', 300), { kind: 'missing' });
});

test('claimArtifacts: the claimable formats in one bump, busy ones named, final and unknown ones left out', async () => {
  const id = await newArticle(['pdf', 'screenshot', 'singlefile', 'monolith']);
  assert.equal((await claimArtifact(dbh.db, id, 'screenshot', 300)).kind, 'claimed'); // a live lease elsewhere
  await markFailed(dbh.db, id, 'monolith', 'monolith_unavailable', 'no binary', 'skipped');
  const v = (await article(id)).version;
  const c = await claimArtifacts(dbh.db, id, ['singlefile', 'screenshot', 'pdf', 'monolith', 'readable'], 120);
  assert.deepEqual(c.claimed, ['singlefile', 'pdf'], 'claimed, in the order asked');
  assert.deepEqual(c.busy, ['screenshot']);
  assert.deepEqual(c.transition, { version: v + 1, status: 'running' }, 'one version bump for both claims');
  for (const f of ['singlefile', 'pdf'] as const) {
    const a = await artifact(id, f);
    assert.equal(a.status, 'running', f);
    assert.equal(a.attempts, 1, f);
    assert.ok(a.lease_until!.getTime() > Date.now() + 100_000, `${f} leased`);
  }
  assert.equal((await artifact(id, 'screenshot')).attempts, 1, 'the busy one is untouched');
  assert.equal((await artifact(id, 'monolith')).status, 'skipped', 'a final one is untouched');
  const again = await claimArtifacts(dbh.db, id, ['singlefile', 'pdf'], 120);
  assert.deepEqual(again, { claimed: [], busy: ['singlefile', 'pdf'], transition: null });
  assert.equal((await article(id)).version, v + 1, 'claiming nothing bumps nothing');
});

test('markSucceeded records the object and finishes the artifact; the article completes', async () => {
  const id = await newArticle();
  await claimArtifact(dbh.db, id, 'pdf', 300);
  const t = await markSucceeded(dbh.db, id, 'pdf', {
    storageKey: `articles/${id}/page.pdf`,
    contentType: 'application/pdf',
    sizeBytes: 4096,
    sha256: 'ab'.repeat(32),
    engineVersion: 'chromium 147',
  });
  assert.deepEqual(t, { version: 4, status: 'complete' });
  const a = await artifact(id, 'pdf');
  assert.equal(a.status, 'succeeded');
  assert.equal(a.storage_key, `articles/${id}/page.pdf`);
  assert.equal(a.content_type, 'application/pdf');
  assert.equal(Number(a.size_bytes), 4096);
  assert.equal(a.sha256, 'ab'.repeat(32));
  assert.equal(a.engine_version, 'chromium 147');
  assert.equal(a.lease_until, null);
  assert.ok(a.finished_at instanceof Date);
  assert.equal(
    await markSucceeded(dbh.db, id, 'pdf', { storageKey: 'x', contentType: 'x', sizeBytes: 1, sha256: 'x' }),
    null,
    'a second success (a redelivery) changes nothing',
  );
  assert.equal((await artifact(id, 'pdf')).storage_key, `articles/${id}/page.pdf`);
  assert.equal((await article(id)).version, 4);
});

test('markFailed records the code and a bounded message; a final artifact is left alone', async () => {
  const id = await newArticle(['pdf', 'screenshot']);
  await claimArtifact(dbh.db, id, 'pdf', 300);
  const t = await markFailed(dbh.db, id, 'pdf', 'too_large', 'x'.repeat(5000));
  assert.deepEqual(t, { version: 4, status: 'running' }, 'screenshot is still pending');
  const a = await artifact(id, 'pdf');
  assert.equal(a.status, 'failed');
  assert.equal(a.error_code, 'too_large');
  assert.equal(a.error_message!.length, 2000);
  assert.equal(a.lease_until, null);
  assert.equal(await markFailed(dbh.db, id, 'pdf', 'timeout', 'again'), null);
  assert.equal((await artifact(id, 'pdf')).error_code, 'too_large');
  await markSucceeded(dbh.db, id, 'screenshot', {
    storageKey: 'k',
    contentType: 'image/png',
    sizeBytes: 1,
    sha256: 's',
  });
  assert.equal((await article(id)).status, 'partial');
  assert.equal(await markFailed(dbh.db, id, 'screenshot', 'timeout', 'late'), null, 'succeeded is final');
});

test('markFailed onlyIfUnleased (dead letter) spares a live lease and takes an expired one', async () => {
  const id = await newArticle();
  await claimArtifact(dbh.db, id, 'pdf', 300);
  const dead = () => markFailed(dbh.db, id, 'pdf', 'dead_lettered', 'gave up', 'failed', { onlyIfUnleased: true });
  assert.equal(await dead(), null);
  assert.equal((await artifact(id, 'pdf')).status, 'running');
  await expireLease(id, 'pdf');
  assert.deepEqual(await dead(), { version: 4, status: 'failed' });
  assert.equal((await artifact(id, 'pdf')).error_code, 'dead_lettered');
});

test('release: running goes back to pending with the code and a new lease; nothing else is released', async () => {
  const id = await newArticle();
  assert.equal(await releaseArtifact(dbh.db, id, 'pdf', 'transient', 'not running', 60), null);
  await claimArtifact(dbh.db, id, 'pdf', 300);
  const before = Date.now();
  const t = await releaseArtifact(dbh.db, id, 'pdf', 'transient', 'socket hang up', 60);
  assert.deepEqual(t, { version: 4, status: 'pending' });
  const a = await artifact(id, 'pdf');
  assert.equal(a.status, 'pending');
  assert.equal(a.error_code, 'transient');
  assert.equal(a.error_message, 'socket hang up');
  assert.equal(a.attempts, 1);
  const leaseMs = a.lease_until!.getTime() - before;
  assert.ok(leaseMs > 50_000 && leaseMs < 70_000, `lease of ${leaseMs} ms for 60 s`);
  const c = await claimArtifact(dbh.db, id, 'pdf', 300);
  assert.equal(c.kind, 'claimed', 'the redelivered message claims it again');
  assert.ok(c.kind === 'claimed');
  assert.equal(c.artifact.attempts, 2);
  assert.equal(c.artifact.error_code, null, 'a claim clears the previous error');
});

test('retry reset: failed and skipped become pending without their error; succeeded and running stay', async () => {
  const id = await newArticle(['pdf', 'screenshot', 'monolith', 'readable']);
  await claimArtifact(dbh.db, id, 'pdf', 300);
  await markFailed(dbh.db, id, 'pdf', 'timeout', 'slow');
  await markFailed(dbh.db, id, 'monolith', 'monolith_unavailable', 'none', 'skipped');
  await markSucceeded(dbh.db, id, 'screenshot', {
    storageKey: 'k',
    contentType: 'image/png',
    sizeBytes: 1,
    sha256: 's',
  });
  await claimArtifact(dbh.db, id, 'readable', 300);
  const v = (await article(id)).version;

  const only = await resetForRetry(dbh.db, id, ['pdf'], 300);
  assert.deepEqual(only.formats, ['pdf']);
  assert.deepEqual(only.transition, { version: v + 1, status: 'running' });
  const pdf = await artifact(id, 'pdf');
  assert.equal(pdf.status, 'pending');
  assert.equal(pdf.error_code, null);
  assert.equal(pdf.error_message, null);
  assert.equal(pdf.finished_at, null);
  assert.ok(pdf.lease_until!.getTime() > Date.now());
  assert.equal((await artifact(id, 'monolith')).status, 'skipped', 'not in the list: untouched');

  const all = await resetForRetry(dbh.db, id, null, 300);
  assert.deepEqual(all.formats, ['monolith']);
  assert.equal((await artifact(id, 'monolith')).status, 'pending');
  assert.equal((await artifact(id, 'screenshot')).status, 'succeeded');
  assert.equal((await artifact(id, 'readable')).status, 'running');

  assert.deepEqual(await resetForRetry(dbh.db, id, null, 300), { formats: [], transition: null });
  assert.equal((await article(id)).version, v + 2, 'an empty reset does not bump');
  assert.equal((await claimArtifact(dbh.db, id, 'pdf', 300)).kind, 'claimed', 'a reset artifact is claimable');
});
