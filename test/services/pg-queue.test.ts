// The Postgres job queue bus (shared/adapters/pg-queue.ts) on a real PostgreSQL 15, in one process: the push
// envelope, fan-out (also from a process that only publishes), retry with backoff, dead-lettering to the
// dead-letter topic's handler, and jobs that outlive a restart of every bus. Each test has its own schema.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { CaptureJobV1, TOPICS, decodePush, type CaptureJob } from '../../shared/core/messages.ts';
import type { PushBody } from '../../shared/adapters/in-process-bus.ts';
import { createPgQueueBus, type PgQueueBus, type PgQueueBusOptions } from '../../shared/adapters/pg-queue.ts';

let pgh: PostgresHandle;
const buses: PgQueueBus[] = [];

before(async () => {
  pgh = await startPostgres();
});
after(async () => {
  for (const b of buses) await b.close();
  await pgh?.stop();
});

const job = (n = 0): CaptureJob => ({
  v: 1,
  articleId: randomUUID(),
  url: `https://example.com/${n}`,
  formats: ['pdf'],
  reason: 'submit',
  requestedAt: new Date().toISOString(),
});

async function bus(schema: string, o: Partial<PgQueueBusOptions> = {}): Promise<PgQueueBus> {
  const b = await createPgQueueBus({
    connectionString: pgh.databaseUrl,
    logger: silentLogger(),
    schema,
    pollingIntervalSeconds: 0.5,
    maintenanceIntervalSeconds: 1,
    ackDeadlineSeconds: 5,
    closeTimeoutMs: 2000,
    topology: { [TOPICS.captureBrowser]: { 'capture-browser-push': {} } },
    ...o,
  });
  buses.push(b);
  return b;
}

/** A push handler that records each body with its arrival time and answers what `answer` says. */
function recorder(answer: (b: PushBody, n: number) => number | Promise<number> = () => 204) {
  const seen: Array<{ body: PushBody; at: number }> = [];
  const handler = async (body: PushBody) => {
    seen.push({ body, at: Date.now() });
    return answer(body, seen.length);
  };
  return { seen, handler };
}

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('a published message reaches its subscription once, in the Pub/Sub push envelope', async () => {
  const b = await bus('q_envelope');
  const r = recorder();
  b.subscribe(TOPICS.captureBrowser, 'capture-browser-push', r.handler);
  const payload = job(1);
  const before = Date.now();
  const id = await b.publish(TOPICS.captureBrowser, payload, { origin: 'test' });
  await b.idle();
  assert.equal(r.seen.length, 1);
  const { body } = r.seen[0];
  assert.equal(body.message.messageId, id);
  assert.deepEqual(body.message.attributes, { origin: 'test' });
  assert.equal(body.subscription, 'projects/local/subscriptions/capture-browser-push');
  assert.equal(body.deliveryAttempt, 1);
  assert.ok(Date.parse(body.message.publishTime) >= before - 1000, body.message.publishTime);
  assert.deepEqual(JSON.parse(Buffer.from(body.message.data, 'base64').toString('utf8')), payload);
  // The handlers decode it exactly as they decode a Pub/Sub push.
  const decoded = decodePush(CaptureJobV1, body);
  assert.deepEqual(decoded.data, payload);
  assert.equal(decoded.messageId, id);
  await sleep(1500); // an acknowledged message is not delivered again
  assert.equal(r.seen.length, 1);
  assert.deepEqual(b.stats(), { published: 1, delivered: 1, redelivered: 0, deadLettered: 0 });
});

test('one topic fans out to every subscription, also from a process that only publishes', async () => {
  const topology = {
    [TOPICS.articleChanged]: { 'sync-a': {}, 'sync-b': {} },
  };
  const publisher = await bus('q_fanout', { topology });
  const ids = [
    await publisher.publish(TOPICS.articleChanged, { v: 1, articleId: randomUUID(), version: 1, deleted: false }),
    await publisher.publish(TOPICS.articleChanged, { v: 1, articleId: randomUUID(), version: 2, deleted: false }),
  ];
  // The consumers come up after the messages were published: the queues already hold them.
  const consumer = await bus('q_fanout', { topology });
  const a = recorder();
  const c = recorder();
  consumer.subscribe(TOPICS.articleChanged, 'sync-a', a.handler);
  consumer.subscribe(TOPICS.articleChanged, 'sync-b', c.handler, { concurrency: 2 });
  await consumer.idle();
  for (const r of [a, c]) assert.deepEqual(r.seen.map((s) => s.body.message.messageId).sort(), [...ids].sort());
  assert.deepEqual([...new Set(a.seen.map((s) => s.body.subscription))], ['projects/local/subscriptions/sync-a']);
  assert.deepEqual([...new Set(c.seen.map((s) => s.body.subscription))], ['projects/local/subscriptions/sync-b']);
  assert.equal(publisher.stats().published, 2);
  assert.equal(consumer.stats().delivered, 4);
});

test('a non-2xx answer or a throw is redelivered with backoff until the handler acknowledges', async () => {
  const b = await bus('q_retry', {
    topology: {
      [TOPICS.captureBrowser]: {
        'capture-browser-push': { deadLetterTopic: TOPICS.captureBrowserDead, maxDeliveryAttempts: 5 },
      },
      [TOPICS.captureBrowserDead]: { 'capture-browser-dead-letter': {} },
    },
  });
  const r = recorder((_b, n) => {
    if (n === 1) throw new Error('handler crashed');
    return n === 2 ? 503 : 200;
  });
  const dead = recorder();
  b.subscribe(TOPICS.captureBrowser, 'capture-browser-push', r.handler, {
    deadLetterTopic: TOPICS.captureBrowserDead,
  });
  b.subscribe(TOPICS.captureBrowserDead, 'capture-browser-dead-letter', dead.handler);
  const id = await b.publish(TOPICS.captureBrowser, job(2));
  await waitFor('the third delivery', () => r.seen.length >= 3);
  await b.idle();
  assert.equal(r.seen.length, 3);
  assert.deepEqual(
    r.seen.map((s) => s.body.deliveryAttempt),
    [1, 2, 3],
  );
  assert.ok(r.seen.every((s) => s.body.message.messageId === id));
  // minBackoff 1 s: the first retry waits 1-2 s, the second 2-4 s (pg-boss doubles it and adds jitter).
  const gap1 = r.seen[1].at - r.seen[0].at;
  const gap2 = r.seen[2].at - r.seen[1].at;
  assert.ok(gap1 >= 950, `first retry after ${gap1} ms`);
  assert.ok(gap2 >= 1950, `second retry after ${gap2} ms`);
  assert.equal(dead.seen.length, 0);
  assert.deepEqual(b.stats(), { published: 1, delivered: 3, redelivered: 2, deadLettered: 0 });
});

test('after maxDeliveryAttempts the message goes to the dead-letter topic, whose handler gets it', async () => {
  const b = await bus('q_dead', {
    topology: {
      [TOPICS.captureBrowser]: {
        'capture-browser-push': { deadLetterTopic: TOPICS.captureBrowserDead, maxDeliveryAttempts: 3 },
      },
      [TOPICS.captureBrowserDead]: { 'capture-browser-dead-letter': {} },
    },
  });
  const r = recorder(() => 500);
  const dead = recorder();
  b.subscribe(TOPICS.captureBrowser, 'capture-browser-push', r.handler);
  b.subscribe(TOPICS.captureBrowserDead, 'capture-browser-dead-letter', dead.handler);
  const payload = job(3);
  const id = await b.publish(TOPICS.captureBrowser, payload, { origin: 'test' });
  await waitFor('the dead letter', () => dead.seen.length >= 1);
  await b.idle();
  assert.equal(r.seen.length, 3, 'exactly maxDeliveryAttempts deliveries');
  assert.deepEqual(
    r.seen.map((s) => s.body.deliveryAttempt),
    [1, 2, 3],
  );
  assert.equal(dead.seen.length, 1);
  const dl = dead.seen[0].body;
  assert.deepEqual(decodePush(CaptureJobV1, dl).data, payload);
  assert.equal(dl.subscription, 'projects/local/subscriptions/capture-browser-dead-letter');
  assert.notEqual(dl.message.messageId, id, 'the dead-letter topic gives it a message id of its own');
  assert.deepEqual(dl.message.attributes, {
    origin: 'test',
    CloudPubSubDeadLetterSourceDeliveryCount: '3',
    CloudPubSubDeadLetterSourceSubscription: 'capture-browser-push',
  });
  assert.deepEqual(b.stats(), { published: 1, delivered: 4, redelivered: 2, deadLettered: 1 });
});

test('pending jobs survive every bus stopping and are delivered by a new one', async () => {
  const topology = {
    [TOPICS.captureMonolith]: { 'capture-monolith-push': {} },
  };
  const first = await bus('q_restart', { topology });
  const r1 = recorder();
  first.subscribe(TOPICS.captureMonolith, 'capture-monolith-push', r1.handler);
  await first.idle();
  const b2 = await bus('q_restart', { topology }); // a publisher-only process
  await first.close();
  const ids = new Set<string>();
  for (let i = 0; i < 5; i++) ids.add(await b2.publish(TOPICS.captureMonolith, job(i)));
  await b2.close();
  assert.equal(r1.seen.length, 0, 'nobody consumed while stopped');
  await assert.rejects(b2.publish(TOPICS.captureMonolith, job(9)), /closed/);

  const next = await bus('q_restart', { topology });
  const r2 = recorder();
  next.subscribe(TOPICS.captureMonolith, 'capture-monolith-push', r2.handler);
  await waitFor('the pending jobs', () => r2.seen.length >= 5);
  await next.idle();
  assert.deepEqual(new Set(r2.seen.map((s) => s.body.message.messageId)), ids);
  assert.equal(r2.seen.length, 5);
});

test('undeclared topics and subscriptions, and options that contradict the topology, are refused', async () => {
  const b = await bus('q_declared');
  await assert.rejects(
    b.publish(TOPICS.articleChanged, { v: 1, articleId: randomUUID(), version: 1, deleted: false }),
    /not declared/,
  );
  assert.throws(() => b.subscribe(TOPICS.captureBrowser, 'other', async () => 204), /not declared/);
  assert.throws(
    () => b.subscribe(TOPICS.captureBrowser, 'capture-browser-push', async () => 204, { maxDeliveryAttempts: 9 }),
    /differ from the declared topology/,
  );
  await assert.rejects(
    bus('q_declared_dl', {
      topology: { [TOPICS.captureBrowser]: { x: { deadLetterTopic: TOPICS.captureBrowserDead } } },
    }),
    /no declared subscription/,
  );
});

test('processes starting together on a fresh schema all come up and share the queues', async () => {
  const [a, b, c] = await Promise.all([bus('q_race'), bus('q_race'), bus('q_race')]);
  const r = recorder();
  b.subscribe(TOPICS.captureBrowser, 'capture-browser-push', r.handler);
  const ids = [await a.publish(TOPICS.captureBrowser, job(1)), await c.publish(TOPICS.captureBrowser, job(2))];
  await waitFor('both messages', () => r.seen.length >= 2);
  await b.idle();
  assert.deepEqual(r.seen.map((s) => s.body.message.messageId).sort(), ids.sort());
});

test('a subscription runs at most `concurrency` deliveries at once in a process', async () => {
  const b = await bus('q_concurrency');
  let active = 0;
  let peak = 0;
  let handled = 0;
  b.subscribe(
    TOPICS.captureBrowser,
    'capture-browser-push',
    async () => {
      peak = Math.max(peak, ++active);
      await sleep(400);
      active--;
      handled++;
      return 204;
    },
    { concurrency: 3 },
  );
  for (let i = 0; i < 9; i++) await b.publish(TOPICS.captureBrowser, job(i));
  await waitFor('nine deliveries', () => handled === 9);
  await b.idle();
  assert.equal(peak, 3);
});

test('publishes made together share one INSERT, across topics, and each message is delivered once', async () => {
  const topology = {
    [TOPICS.captureBrowser]: { 'capture-browser-push': {} },
    [TOPICS.articleChanged]: { 'sync-a': {}, 'sync-b': {} },
  };
  const b = await bus('q_grouped', { topology });
  const published = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      i % 3
        ? b.publish(TOPICS.captureBrowser, job(i))
        : b.publish(TOPICS.articleChanged, { v: 1, articleId: randomUUID(), version: i, deleted: false }),
    ),
  );
  assert.equal(new Set(published).size, 60, 'every publish has its own message id');
  // created_on is the inserting transaction's now(): one value per INSERT statement.
  const pool = new (await import('pg')).default.Pool({ connectionString: pgh.databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query<{ n: number; inserts: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT created_on)::int AS inserts FROM q_grouped.job`,
    );
    assert.equal(rows[0]!.n, 80, '40 capture jobs and 20 article-changed messages fanned out to two queues');
    assert.ok(rows[0]!.inserts <= 3, `60 concurrent publishes took ${rows[0]!.inserts} INSERTs`);
  } finally {
    await pool.end();
  }
  const [browser, syncA, syncB] = [recorder(), recorder(), recorder()];
  b.subscribe(TOPICS.captureBrowser, 'capture-browser-push', browser.handler, { concurrency: 4 });
  b.subscribe(TOPICS.articleChanged, 'sync-a', syncA.handler, { concurrency: 4 });
  b.subscribe(TOPICS.articleChanged, 'sync-b', syncB.handler, { concurrency: 4 });
  await b.idle();
  const ids = (r: ReturnType<typeof recorder>) => r.seen.map((s) => s.body.message.messageId).sort();
  assert.deepEqual(ids(browser), published.filter((_, i) => i % 3).sort());
  assert.deepEqual(ids(syncA), published.filter((_, i) => !(i % 3)).sort());
  assert.deepEqual(ids(syncB), ids(syncA));
});
