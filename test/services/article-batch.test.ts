// Group commit of POST /archive's snapshots (shared/db/article-batch.ts) on PGlite: concurrent submissions share a
// transaction and get createArticle's outcomes (created, deduplicated, force, Idempotency-Key), and one bad
// submission in a batch fails alone while the others are written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import type { CreateArticleInput } from '../../shared/db/articles.ts';
import { createArticleBatcher } from '../../shared/db/article-batch.ts';
import { listArtifacts } from '../../shared/db/artifacts.ts';
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

const input = (url: string, over: Partial<CreateArticleInput> = {}): CreateArticleInput => ({
  id: randomUUID(),
  ownerId: owner,
  url,
  normalizedUrl: url,
  formats: ['singlefile', 'pdf', 'screenshot'],
  dedupWindowSeconds: 3600,
  force: false,
  leaseSeconds: 300,
  ...over,
});
const uniqueUrl = () => `https://example.com/${randomUUID()}`;

test('concurrent submissions share transactions and get the outcomes createArticle gives', async () => {
  const sizes: number[] = [];
  const create = createArticleBatcher(dbh.db, { maxInFlight: 1, onBatch: (n) => sizes.push(n) });
  const distinct = Array.from({ length: 12 }, uniqueUrl);
  const same = uniqueUrl();
  const inputs = [
    ...distinct.map((u) => input(u)),
    ...Array.from({ length: 4 }, () => input(same)),
    input(same, { force: true }),
  ];
  const results = await Promise.all(inputs.map((i) => create(i)));
  assert.ok(Math.max(...sizes) > 1, `several submissions in one transaction (batches ${sizes.join(',')})`);
  for (let i = 0; i < 12; i++) {
    const r = results[i]!;
    assert.equal(r.kind, 'created');
    assert.equal(r.article.id, inputs[i]!.id);
    assert.equal(r.article.version, 2);
    assert.equal(r.article.status, 'pending');
    assert.deepEqual(
      r.artifacts.map((a) => [a.format, a.status, a.attempts]),
      [
        ['pdf', 'pending', 0],
        ['screenshot', 'pending', 0],
        ['singlefile', 'pending', 0],
      ],
    );
    assert.ok(r.artifacts.every((a) => a.lease_until instanceof Date && a.lease_until.getTime() > Date.now()));
    assert.deepEqual(
      (await listArtifacts(dbh.db, r.article.id)).map((a) => a.id),
      r.artifacts.map((a) => a.id),
    );
  }
  const ofSame = results.slice(12, 16);
  assert.deepEqual(ofSame.map((r) => r.kind).sort(), ['created', 'deduplicated', 'deduplicated', 'deduplicated']);
  const first = ofSame.find((r) => r.kind === 'created')!;
  for (const r of ofSame) assert.equal(r.article.id, first.article.id);
  assert.equal(results[16]!.kind, 'created', 'force makes a new snapshot');
  const rows = await dbh.db.selectFrom('articles').select('id').where('normalized_url', '=', same).execute();
  assert.equal(rows.length, 2);
  // An Idempotency-Key goes the single way and still replays.
  const keyed = input(uniqueUrl(), { idempotencyKey: 'batch-key' });
  assert.equal((await create(keyed)).kind, 'created');
  const replay = await create({ ...keyed, id: randomUUID() });
  assert.equal(replay.kind, 'idempotent');
  assert.equal(replay.article.id, keyed.id);
});

test('one bad submission in a batch fails alone; the others are written', async () => {
  const sizes: number[] = [];
  const create = createArticleBatcher(dbh.db, { maxInFlight: 1, onBatch: (n) => sizes.push(n) });
  const good = Array.from({ length: 6 }, () => input(uniqueUrl()));
  const bad = input(uniqueUrl(), { ownerId: randomUUID() }); // no such user: the foreign key refuses it
  const settled = await Promise.allSettled([...good.slice(0, 3), bad, ...good.slice(3)].map((i) => create(i)));
  assert.ok(Math.max(...sizes) > 1, 'the bad one shared a batch');
  assert.equal(settled[3]!.status, 'rejected');
  for (const [i, s] of settled.entries()) if (i !== 3) assert.equal(s.status, 'fulfilled', `submission ${i}`);
  const ids = good.map((g) => g.id);
  const written = await dbh.db
    .selectFrom('articles')
    .select('id')
    .where('id', 'in', [...ids, bad.id])
    .execute();
  assert.deepEqual(written.map((w) => w.id).sort(), [...ids].sort());
});
