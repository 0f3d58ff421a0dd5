// The article repository (shared/db/articles.ts) on PGlite: creation with its pending artifacts, deduplication
// within the window, Idempotency-Key replays and conflicts, metadata and warnings, keyset listing, deletion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import {
  createArticle,
  deleteArticle,
  findArticle,
  listArticles,
  updateArticleMeta,
  type CreateArticleInput,
} from '../../shared/db/articles.ts';
import { claimArtifact, listArtifacts, markFailed } from '../../shared/db/artifacts.ts';
import { bumpArticle } from '../../shared/db/transition.ts';
import { adminId } from '../support/owners.ts';

let dbh: DatabaseHandle;

let owner: string;
before(async () => {
  dbh = await openDatabase({ memory: true });
  owner = await adminId(dbh.db);
});
after(async () => {
  await dbh?.close();
});

function input(url: string, over: Partial<CreateArticleInput> = {}): CreateArticleInput {
  return {
    id: randomUUID(),
    ownerId: owner,
    url,
    normalizedUrl: url,
    formats: ['pdf', 'screenshot'],
    dedupWindowSeconds: 3600,
    force: false,
    leaseSeconds: 300,
    ...over,
  };
}

const uniqueUrl = () => `https://example.com/${randomUUID()}`;

test('create writes a pending article at version 2 and one pending, leased artifact per format', async () => {
  const url = uniqueUrl();
  const r = await createArticle(dbh.db, input(url, { formats: ['pdf', 'monolith', 'readable'] }));
  assert.equal(r.kind, 'created');
  assert.ok(r.kind === 'created');
  assert.equal(r.article.status, 'pending');
  assert.equal(r.article.version, 2);
  assert.equal(r.article.url, url);
  assert.deepEqual(
    r.artifacts.map((a) => [a.format, a.status, a.attempts]),
    [
      ['monolith', 'pending', 0],
      ['pdf', 'pending', 0],
      ['readable', 'pending', 0],
    ],
  );
  for (const a of r.artifacts) assert.ok(a.lease_until!.getTime() > Date.now() + 250_000, 'leased for 300 s');
  assert.equal((await findArticle(dbh.db, r.article.id))?.version, 2);
});

test('a snapshot of the same URL in progress is returned; force, other formats or a failure make a new one', async () => {
  const url = uniqueUrl();
  const first = await createArticle(dbh.db, input(url));
  const again = await createArticle(dbh.db, input(url, { formats: ['pdf'] }));
  assert.equal(again.kind, 'deduplicated');
  assert.equal(again.article.id, first.article.id);
  assert.equal((await createArticle(dbh.db, input(url, { force: true }))).kind, 'created');
  const wider = await createArticle(dbh.db, input(uniqueUrl(), { formats: ['readable'] }));
  assert.equal((await createArticle(dbh.db, input(wider.article.url, { formats: ['pdf'] }))).kind, 'created');
  const failedUrl = uniqueUrl();
  const failed = await createArticle(dbh.db, input(failedUrl, { formats: ['pdf'] }));
  await claimArtifact(dbh.db, failed.article.id, 'pdf', 60);
  await markFailed(dbh.db, failed.article.id, 'pdf', 'timeout', 'slow');
  assert.equal((await findArticle(dbh.db, failed.article.id))?.status, 'failed');
  assert.equal((await createArticle(dbh.db, input(failedUrl, { formats: ['pdf'] }))).kind, 'created');
  const noWindow = uniqueUrl();
  await createArticle(dbh.db, input(noWindow));
  assert.equal((await createArticle(dbh.db, input(noWindow, { dedupWindowSeconds: 0 }))).kind, 'created');
});

test('an Idempotency-Key replays its article, and conflicts for another URL', async () => {
  const key = `key-${randomUUID()}`;
  const url = uniqueUrl();
  const first = await createArticle(dbh.db, input(url, { idempotencyKey: key, force: true }));
  assert.equal(first.kind, 'created');
  const replay = await createArticle(dbh.db, input(url, { idempotencyKey: key, force: true }));
  assert.equal(replay.kind, 'idempotent');
  assert.equal(replay.article.id, first.article.id);
  assert.ok(replay.kind === 'idempotent');
  assert.equal(replay.artifacts.length, 2);
  const other = await createArticle(dbh.db, input(uniqueUrl(), { idempotencyKey: key }));
  assert.equal(other.kind, 'idempotency_conflict');
  assert.equal(other.article.id, first.article.id);
});

test('metadata and warnings are written with a version bump; warnings merge without duplicates', async () => {
  const r = await createArticle(dbh.db, input(uniqueUrl()));
  const id = r.article.id;
  const t = await updateArticleMeta(dbh.db, id, { title: 'A title', lang: 'en', word_count: 420 }, ['w1', 'w2']);
  assert.deepEqual(t, { version: 3, status: 'pending' });
  await updateArticleMeta(dbh.db, id, {}, ['w2', 'w3']);
  const a = (await findArticle(dbh.db, id))!;
  assert.equal(a.title, 'A title');
  assert.equal(a.lang, 'en');
  assert.equal(a.word_count, 420);
  assert.deepEqual([...a.warnings].sort(), ['w1', 'w2', 'w3']);
  assert.equal(a.version, 4);
  const bump = (articleId: string) => dbh.db.transaction().execute((trx) => bumpArticle(trx, articleId));
  assert.deepEqual(await bump(id), { version: 5, status: 'pending' });
  assert.equal(await bump(randomUUID()), null, 'an unknown article');
});

test('listing is newest first with a keyset cursor, and filters by URL and status', async () => {
  const url = uniqueUrl();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await createArticle(dbh.db, input(url, { force: true }))).article.id);
  const page1 = await listArticles(dbh.db, { url, limit: 2 });
  assert.deepEqual(
    page1.map((a) => a.id),
    [ids[2], ids[1]],
  );
  const last = page1[1];
  const page2 = await listArticles(dbh.db, { url, limit: 2, cursor: { createdAt: last.created_at, id: last.id } });
  assert.deepEqual(
    page2.map((a) => a.id),
    [ids[0]],
  );
  assert.equal((await listArticles(dbh.db, { url, status: 'complete', limit: 10 })).length, 0);
  assert.equal((await listArticles(dbh.db, { url, status: 'pending', limit: 10 })).length, 3);
});

test('delete removes the article and its artifacts', async () => {
  const r = await createArticle(dbh.db, input(uniqueUrl()));
  assert.equal((await deleteArticle(dbh.db, r.article.id))?.id, r.article.id);
  assert.equal(await findArticle(dbh.db, r.article.id), undefined);
  assert.deepEqual(await listArtifacts(dbh.db, r.article.id), []);
  assert.equal(await deleteArticle(dbh.db, r.article.id), undefined);
});

test('concurrent submissions of one URL make one snapshot; a failed creation rolls back and frees its lock', async () => {
  const url = uniqueUrl();
  const results = await Promise.all(Array.from({ length: 8 }, () => createArticle(dbh.db, input(url))));
  assert.deepEqual(results.map((r) => r.kind).sort(), ['created', ...Array(7).fill('deduplicated')]);
  const created = results.find((r) => r.kind === 'created')!;
  for (const r of results) assert.equal(r.article.id, created.article.id);
  const rows = await dbh.db.selectFrom('articles').select('id').where('normalized_url', '=', url).execute();
  assert.equal(rows.length, 1);
  // The same id twice: the second insert fails; its transaction leaves nothing behind and the lock is released.
  const other = uniqueUrl();
  await assert.rejects(createArticle(dbh.db, input(other, { id: created.article.id, force: true })));
  assert.equal(
    (await dbh.db.selectFrom('articles').select('id').where('normalized_url', '=', other).execute()).length,
    0,
  );
  assert.equal((await createArticle(dbh.db, input(other))).kind, 'created', 'the lock was released');
});
