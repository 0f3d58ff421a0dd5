// The capture workers' database role (migration 0006, issue 16) on real PostgreSQL 15: a login in the
// htbase_capture role cannot read or change api_keys, users or share_links, and the capture worker still
// claims, stores and finishes artifacts (and records a dead letter) through it. On PGlite the migration is a no-op.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createArticle, findArticle } from '../../shared/db/articles.ts';
import { findArtifact } from '../../shared/db/artifacts.ts';
import { createCaptureWorker, type CaptureEngine } from '../../shared/capture/worker.ts';
import { createInProcessBus } from '../../shared/adapters/in-process-bus.ts';
import { createLocalBlobStore } from '../../shared/adapters/local-blob-store.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { CAPTURE_ROLE } from '../../shared/db/migrations/0006_capture_role.ts';
import { adminId, keyFor } from '../support/owners.ts';

let pgh: PostgresHandle;
let owner: DatabaseHandle; // the migrations' owner, as the API connects
let capture: DatabaseHandle; // the worker's login, a member of htbase_capture only
let blobDir: string;

before(async () => {
  pgh = await startPostgres();
  owner = await openDatabase({ databaseUrl: pgh.databaseUrl });
  await keyFor(owner.db, 'a key the worker must not see');
  await sql`create role capture_worker login password 'pw' in role ${sql.id(CAPTURE_ROLE)}`.execute(owner.db);
  const url = new URL(pgh.databaseUrl);
  url.username = 'capture_worker';
  url.password = 'pw';
  // The worker opens the database as it does in production: the start-up migration check included.
  capture = await openDatabase({ databaseUrl: url.href, maxConnections: 2 });
  blobDir = await mkdtemp(join(tmpdir(), 'htbase-role-'));
});

after(async () => {
  await capture?.close();
  await owner?.close();
  await pgh?.stop();
  if (blobDir) await rm(blobDir, { recursive: true, force: true });
});

test('the capture role cannot read or write api_keys, users or share_links', async () => {
  assert.ok(Number((await sql<{ n: string }>`select count(*) as n from api_keys`.execute(owner.db)).rows[0]!.n) > 0);
  for (const table of ['api_keys', 'users', 'share_links']) {
    await assert.rejects(sql`select * from ${sql.table(table)}`.execute(capture.db), /permission denied/, table);
    await assert.rejects(sql`delete from ${sql.table(table)}`.execute(capture.db), /permission denied/, table);
  }
  await assert.rejects(sql`delete from articles`.execute(capture.db), /permission denied/);
  await assert.rejects(sql`create table stolen (x text)`.execute(capture.db), /permission denied/);
});

test('the capture worker claims, stores and finishes artifacts through the capture role', async () => {
  const id = randomUUID();
  const target = `http://127.0.0.1:9/${id}`;
  const created = await createArticle(owner.db, {
    id,
    ownerId: await adminId(owner.db),
    url: target,
    normalizedUrl: target,
    formats: ['readable', 'pdf'],
    dedupWindowSeconds: 0,
    force: true,
    leaseSeconds: 300,
  });
  assert.equal(created.kind, 'created');
  // An engine that makes its bytes without the network: the database side is what this test is about.
  const engine: CaptureEngine = {
    name: 'browser',
    formats: ['readable', 'pdf'],
    async capture(req) {
      const stored = await req.store('readable', JSON.stringify({ title: 'Role test', text: 'role words' }));
      const original = await req.store('original', 'plain bytes', 'text/plain');
      return {
        meta: { title: 'Role test', word_count: 2, text_content: 'role words', lang: 'en' },
        outcomes: { readable: { ok: true, stored }, pdf: { ok: false, skip: true, error: new Error('x') } },
        extra: { original: { stored: original } },
      };
    },
  };
  const bus = createInProcessBus({ logger: silentLogger() });
  const worker = createCaptureWorker({
    db: capture.db,
    blobs: createLocalBlobStore({ root: blobDir }),
    publisher: bus,
    engine,
    logger: silentLogger(),
    guard: { allowPrivateNetworks: true },
    leaseSeconds: 60,
    captureTimeoutMs: 30_000,
    maxArtifactBytes: 1024 * 1024,
  });
  const push = (formats: string[]) => ({
    message: {
      data: Buffer.from(
        JSON.stringify({ v: 1, articleId: id, url: target, formats, requestedAt: new Date().toISOString() }),
      ).toString('base64'),
      attributes: { CloudPubSubDeadLetterSourceDeliveryCount: '5' },
      messageId: randomUUID(),
    },
    subscription: 'test',
  });
  const r = await worker.handlePush(push(['readable', 'pdf']));
  assert.equal(r.status, 500, r.detail); // pdf's error is not permanent: it is released for a retry
  assert.equal((await findArtifact(owner.db, id, 'readable'))?.status, 'succeeded');
  assert.equal((await findArtifact(owner.db, id, 'original'))?.status, 'succeeded');
  assert.equal((await findArtifact(owner.db, id, 'pdf'))?.error_code, 'transient');
  const dead = await worker.handleDeadLetter(push(['pdf']));
  assert.equal(dead.status, 200);
  const article = await findArticle(owner.db, id);
  assert.equal(article?.title, 'Role test');
  assert.equal(article?.word_count, 2);
  // The search trigger ran under the worker's role, reading summaries and search_languages.
  const hit = await sql<{ n: string }>`select count(*) as n from articles
      where id = ${id} and search @@ websearch_to_tsquery('english', 'role words')`.execute(owner.db);
  assert.equal(Number(hit.rows[0]!.n), 1);
  await bus.close();
});

test('on PGlite the migration grants nothing and still migrates', async () => {
  const lite = await openDatabase({ memory: true });
  try {
    const { rows } = await sql<{
      n: string;
    }>`select count(*) as n from pg_roles where rolname = ${CAPTURE_ROLE}`.execute(lite.db);
    assert.equal(Number(rows[0]!.n), 0);
  } finally {
    await lite.close();
  }
});
