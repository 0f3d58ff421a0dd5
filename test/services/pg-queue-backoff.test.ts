// The Postgres job queue's retry backoff is capped (pg-boss 10 has no maximum of its own): once the doubling would
// pass maxBackoffMs, the job waits exactly maxBackoffMs between attempts; an uncapped subscription keeps doubling.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { TOPICS } from '../../shared/core/messages.ts';
import { createPgQueueBus, type PgQueueBus } from '../../shared/adapters/pg-queue.ts';

let pgh: PostgresHandle;
let bus: PgQueueBus;

before(async () => {
  pgh = await startPostgres();
});
after(async () => {
  await bus?.close();
  await pgh?.stop();
});

test('a message refused again and again is retried every maxBackoffMs, not after ever longer waits', async () => {
  bus = await createPgQueueBus({
    connectionString: pgh.databaseUrl,
    logger: silentLogger(),
    schema: 'backoff',
    pollingIntervalSeconds: 0.5,
    maintenanceIntervalSeconds: 1,
    minBackoffMs: 1000,
    closeTimeoutMs: 2000,
    // No dead-letter topic: retried forever, so only the cap bounds the wait.
    topology: {
      [TOPICS.captureMonolith]: { capped: { maxBackoffMs: 2000 } },
      [TOPICS.captureBrowser]: { uncapped: { maxBackoffMs: 600_000 } },
    },
  });
  const attempts = { capped: [] as number[], uncapped: [] as number[] };
  bus.subscribe(TOPICS.captureMonolith, 'capped', async () => (attempts.capped.push(Date.now()), 500));
  bus.subscribe(TOPICS.captureBrowser, 'uncapped', async () => (attempts.uncapped.push(Date.now()), 500));
  const data = {
    v: 1 as const,
    articleId: randomUUID(),
    url: 'https://example.com/',
    formats: ['pdf' as const],
    reason: 'submit' as const,
    requestedAt: new Date().toISOString(),
  };
  await bus.publish(TOPICS.captureMonolith, data);
  await bus.publish(TOPICS.captureBrowser, data);

  // Attempts 1..5 of the capped job: waits 1-2 s, 2-4 s (capped to 2), then 2 s each.
  const deadline = Date.now() + 60_000;
  while (attempts.capped.length < 5 && Date.now() < deadline) await sleep(100);
  assert.ok(attempts.capped.length >= 5, `five attempts, got ${attempts.capped.length}`);

  const c = new pg.Client({ connectionString: pgh.databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT name, retry_backoff, retry_delay, retry_count FROM backoff.job WHERE name IN ('capped', 'uncapped')`,
    );
    const by = Object.fromEntries(rows.map((r) => [r.name, r]));
    assert.equal(by.capped.retry_backoff, false, 'the capped job switched to a fixed delay');
    assert.equal(by.capped.retry_delay, 2, 'of maxBackoffMs');
    assert.ok(by.capped.retry_count >= 4);
    assert.equal(by.uncapped.retry_backoff, true, 'the uncapped job still doubles');
    assert.equal(by.uncapped.retry_delay, 1);
  } finally {
    await c.end();
  }
  // Attempts 2..4 of the uncapped one wait 1-2, 2-4, 4-8 s: by the time the capped one made 5, it made fewer.
  assert.ok(attempts.uncapped.length < attempts.capped.length, JSON.stringify(attempts));
});
