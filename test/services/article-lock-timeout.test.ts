// A submission whose per-URL lock cannot be had in time (statement_timeout while another session holds it), on a
// real PostgreSQL 15 with a pool of one connection: the submission fails alone, and the pooled connection is left
// usable (no aborted transaction handed back to the pool), for createArticle and for the group-commit batcher.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createArticle, submissionLockKey, type CreateArticleInput } from '../../shared/db/articles.ts';
import { createArticleBatcher } from '../../shared/db/article-batch.ts';
import { adminId } from '../support/owners.ts';

let pgh: PostgresHandle;
let dbh: DatabaseHandle;
let holder: pg.Client;
let owner: string;

before(async () => {
  pgh = await startPostgres();
  dbh = await openDatabase({ databaseUrl: pgh.databaseUrl, maxConnections: 1 });
  owner = await adminId(dbh.db);
  // The pool's only connection gives up on a lock after 300 ms, as the 30 s default does under a long wait.
  await sql`set statement_timeout = 300`.execute(dbh.db);
  holder = new pg.Client({ connectionString: pgh.databaseUrl });
  await holder.connect();
});
after(async () => {
  await holder?.end();
  await dbh?.close();
  await pgh?.stop();
});

const input = (url: string): CreateArticleInput => ({
  id: randomUUID(),
  ownerId: owner,
  url,
  normalizedUrl: url,
  formats: ['pdf'],
  dedupWindowSeconds: 3600,
  force: false,
  leaseSeconds: 300,
});
const uniqueUrl = () => `https://example.com/${randomUUID()}`;

/** Holds the submission lock of `url` in another session while `run` goes. */
async function whileLocked<T>(url: string, run: () => Promise<T>): Promise<T> {
  const key = submissionLockKey(owner, url);
  await holder.query(`select pg_advisory_lock(${key})`);
  try {
    return await run();
  } finally {
    await holder.query(`select pg_advisory_unlock(${key})`);
  }
}

async function assertPoolUsable(): Promise<void> {
  const { rows } = await sql<{ one: number }>`select 1 as one`.execute(dbh.db);
  assert.equal(rows[0]!.one, 1, 'the pooled connection answers after the failed submission');
  // Outside a transaction each statement is its own, so now() (the transaction's start) is the statement's time.
  const { rows: tx } = await sql<{ fresh: boolean }>`select now() = statement_timestamp() as fresh`.execute(dbh.db);
  assert.equal(tx[0]!.fresh, true, 'no transaction left open on it');
}

test('createArticle: a lock wait that times out fails that submission and leaves the connection usable', async () => {
  const url = uniqueUrl();
  await whileLocked(url, () => assert.rejects(createArticle(dbh.db, input(url)), /statement timeout/));
  await assertPoolUsable();
  assert.equal((await createArticle(dbh.db, input(uniqueUrl()))).kind, 'created');
  assert.equal((await createArticle(dbh.db, input(url))).kind, 'created', 'the URL itself can be submitted again');
});

test('the batcher: a batch whose locks time out fails only the blocked submission', async () => {
  const create = createArticleBatcher(dbh.db, { maxInFlight: 1 });
  const blocked = uniqueUrl();
  const free = [uniqueUrl(), uniqueUrl()];
  const results = await whileLocked(blocked, () =>
    Promise.allSettled([create(input(blocked)), ...free.map((u) => create(input(u)))]),
  );
  assert.equal(results[0]!.status, 'rejected', 'the submission whose lock was held fails');
  for (const r of results.slice(1)) {
    assert.equal(r.status, 'fulfilled', `a free submission is written: ${r.status === 'rejected' && r.reason}`);
    assert.equal(r.status === 'fulfilled' && r.value.kind, 'created');
  }
  await assertPoolUsable();
  assert.equal((await create(input(blocked))).kind, 'created');
});
