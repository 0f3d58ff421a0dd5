// The all-in-one server (containers/standalone, what containers/standalone/Dockerfile runs) against a real
// PostgreSQL 15 with QUEUE=postgres: it archives through the job queue, and capture jobs queued while it was
// down (as the API of another instance would leave them) are done once it starts again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir, terminal, waitFor } from '../support/embedded.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { TOPICS } from '../../shared/core/messages.ts';
import { loadConfig, BaseConfig } from '../../shared/core/config.ts';
import { createHtbaseQueue } from '../../shared/adapters/pg-queue-wiring.ts';
import { openDatabase } from '../../shared/db/connect.ts';
import { createArticle } from '../../shared/db/articles.ts';
import { firstAdmin } from '../../shared/db/users.ts';
import { normalizeUrl } from '../../shared/core/url.ts';
import { sql } from 'kysely';

const FIXTURE = new URL('../fixtures/site/', import.meta.url).pathname;
let pgh: PostgresHandle;
let site: StaticServer;
let dir: Awaited<ReturnType<typeof tempDir>>;

before(async () => {
  pgh = await startPostgres();
  site = await serveDir(FIXTURE);
  dir = await tempDir('htbase-aio-');
});
after(async () => {
  await site?.close();
  await pgh?.stop();
  await dir?.remove();
});

const env = () => ({
  DATABASE_URL: pgh.databaseUrl,
  QUEUE: 'postgres',
  QUEUE_POLL_SECONDS: '0.5',
  QUEUE_MAINTENANCE_SECONDS: '1',
  QUEUE_MIN_BACKOFF_MS: '1000',
  LEASE_SECONDS: '15',
});

test('the single process on PostgreSQL: archives through the job queue, and jobs queued while it was down survive', async () => {
  const one = await startTestEmbedded(dir.path, env());
  try {
    const r = await http(one.url, '/archive', {
      method: 'POST',
      json: { url: `${site.origin}/index.html`, formats: ['readable', 'screenshot'] },
    });
    assert.equal(r.status, 202);
    const v = await waitFor<any>(one.url, r.body.id, terminal);
    assert.equal(v.status, 'complete', JSON.stringify(v.artifacts));
    assert.equal(one.db.kind, 'postgres');
  } finally {
    await one.close();
  }
  // Closed means closed: no connection of the server's is left open on the database (the pool, the job queue and
  // the API key cache's LISTEN connection alike).
  const probe = await openDatabase({ databaseUrl: pgh.databaseUrl, maxConnections: 1 });
  try {
    const left = await sql<{ n: number; queries: string[] }>`SELECT count(*)::int AS n, array_agg(query) AS queries
      FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
        AND backend_type = 'client backend'`.execute(probe.db);
    assert.equal(left.rows[0]!.n, 0, `connections left open: ${JSON.stringify(left.rows[0]!.queries)}`);
  } finally {
    await probe.close();
  }

  // While the server is down: an archive row and its capture job, written as the API writes them.
  const h = await openDatabase({ databaseUrl: pgh.databaseUrl, maxConnections: 2 });
  const queue = await createHtbaseQueue(loadConfig(BaseConfig, env()), silentLogger());
  const id = randomUUID();
  const url = `${site.origin}/index.html?while-down`;
  try {
    await createArticle(h.db, {
      id,
      ownerId: (await firstAdmin(h.db)).id,
      url,
      normalizedUrl: normalizeUrl(url),
      formats: ['readable'],
      dedupWindowSeconds: 0,
      force: true,
      leaseSeconds: 15,
    });
    await queue.publish(TOPICS.captureBrowser, {
      v: 1,
      articleId: id,
      url,
      formats: ['readable'],
      reason: 'submit',
      requestedAt: new Date().toISOString(),
    });
    const pending = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job
      WHERE name = 'capture-browser-push' AND state = 'created'`.execute(h.db);
    assert.equal(pending.rows[0]!.n, 1, 'the job waits in PostgreSQL');
  } finally {
    await queue.close();
    await h.close();
  }

  const two = await startTestEmbedded(dir.path, env());
  try {
    const v = await waitFor<any>(two.url, id, terminal);
    assert.equal(v.status, 'complete', JSON.stringify(v.artifacts));
  } finally {
    await two.close();
  }
});
