// The message bus on one VPS: a Postgres job queue (pg-boss 10) with the in-process bus's interface and
// Pub/Sub push semantics. Each subscription is a pg-boss queue; publish fans a message out to every declared
// subscription in one INSERT; non-2xx is retried with backoff, then relayed to the dead-letter topic.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { Logger } from '../core/logger.ts';
import type { TopicName } from '../core/messages.ts';
import { withTimeout } from '../core/timeout.ts';
import { groupCommit } from '../core/group-commit.ts';
import type { InProcessBus, PushBody, PushHandler, SubscriptionOptions } from './in-process-bus.ts';
import {
  declareQueues,
  resolveTopology,
  type PgQueueTopology,
  type ResolvedSubscription,
} from './pg-queue-topology.ts';

export type { PgQueueTopology, DeclaredSubscription } from './pg-queue-topology.ts';

/** The same interface as the in-process bus, so the same handlers run on it unchanged. */
export type PgQueueBus = InProcessBus;

export interface PgQueueBusOptions {
  connectionString: string;
  logger: Logger;
  /** Every topic's subscriptions, the same in every process (see pg-queue-topology.ts). */
  topology: PgQueueTopology;
  /** Postgres schema of pg-boss's tables. Default `pgboss`. */
  schema?: string;
  /** Defaults for subscriptions that do not set their own, as createInProcessBus takes them. */
  maxDeliveryAttempts?: number;
  minBackoffMs?: number;
  /** Longest wait before a redelivery. Default 600 s (Pub/Sub's maximum backoff). */
  maxBackoffMs?: number;
  /** Default ack deadline in seconds (wire LEASE_SECONDS here): a job held longer is redelivered. Default 600. */
  ackDeadlineSeconds?: number;
  /** How often an idle consumer looks for jobs (pg-boss minimum 0.5). Default 2. */
  pollingIntervalSeconds?: number;
  /** How often expired jobs (their worker died) are found and released, by one process at a time. Default 30. */
  maintenanceIntervalSeconds?: number;
  /** How long close() lets running deliveries finish before failing them back to the queue. Default 10 s. */
  closeTimeoutMs?: number;
  maxConnections?: number;
  /** Bound on one publish (ms). Default 30 s. */
  publishTimeoutMs?: number;
}

/** What a job carries: the push message minus its id (the job id is the message id). */
interface JobData {
  data: string;
  attributes: Record<string, string>;
  publishTime: string;
}

/** Distinct pg-boss statement texts kept as prepared statements per connection (it has about twenty). */
const MAX_PREPARED = 64;
/** Publish inserts running at once (each holds a pooled connection); the rest wait and go together. */
const MAX_INSERTS_IN_FLIGHT = 2;
/** Publishes in one INSERT at most (each is one job per subscription of its topic). */
const MAX_PUBLISHES_PER_INSERT = 256;

/** Thrown to pg-boss so that it records the delivery as failed and schedules the retry (or dead-letters it). */
class DeliveryRefused extends Error {
  override name = 'DeliveryRefused';
}

type Job = PgBoss.JobWithMetadata<JobData>;

/**
 * Runs `fn` while holding a session advisory lock on its own connection. Processes starting together
 * otherwise race pg-boss's schema creation and deadlock in create_queue (partition DDL on one parent table).
 */
async function oneAtATime(pool: pg.Pool, key: string, fn: () => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(`SELECT set_config('lock_timeout', '60s', false)`);
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
    try {
      await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
    }
  } finally {
    client.release(true); // not reused: it carries the lock_timeout setting
  }
}

export async function createPgQueueBus(opts: PgQueueBusOptions): Promise<PgQueueBus> {
  const log = opts.logger.child({ component: 'pg-queue' });
  const schema = opts.schema ?? 'pgboss';
  const subs = resolveTopology(opts.topology, {
    maxDeliveryAttempts: opts.maxDeliveryAttempts ?? 5,
    minBackoffMs: opts.minBackoffMs ?? 1000,
    maxBackoffMs: opts.maxBackoffMs ?? 600_000,
    ackDeadlineSeconds: opts.ackDeadlineSeconds ?? 600,
  });
  const byName = new Map(subs.map((s) => [s.name, s]));
  const pollingIntervalSeconds = opts.pollingIntervalSeconds ?? 2;
  const counters = { published: 0, delivered: 0, redelivered: 0, deadLettered: 0 };

  // Our own pool behind pg-boss's `db` seam: close() can then wait for the completions pg-boss fires
  // without awaiting them, before the pool ends.
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: 10_000, // a publish or a poll never waits forever for a connection
  });
  pool.on('error', (err) => log.error({ err }, 'idle postgres connection failed'));
  // pg-boss's statements are a few fixed texts (its schema is fixed at start): with parameters, each is a named
  // prepared statement, parsed once per connection instead of at every call (PostgreSQL also reuses its plan where
  // a generic plan is as good). Only parameterised texts, and a bounded number, so a text built per call cannot
  // grow every connection's statement cache.
  const names = new Map<string, string>();
  const prepared = (text: string, values?: unknown[]): pg.QueryConfig => {
    if (!values?.length) return { text };
    let name = names.get(text);
    if (!name && names.size < MAX_PREPARED) names.set(text, (name = `htbase_q${names.size + 1}`));
    return name ? { name, text, values } : { text, values };
  };
  const queries = new Set<Promise<unknown>>();
  // pg-boss sends `BEGIN; ...; COMMIT;` in one string (schema creation, maintenance): when a statement in it
  // fails (two processes creating the schema at once), the connection stays in an aborted transaction and
  // would fail every later query handed to it. Roll back on error before the connection goes back to the pool.
  const run = async (text: string, values?: unknown[]) => {
    const client = await pool.connect();
    try {
      return await client.query(prepared(text, values));
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
  const db: PgBoss.Db = {
    executeSql(text, values) {
      const q = run(text, values);
      queries.add(q);
      void q.then(
        () => queries.delete(q),
        () => queries.delete(q),
      );
      return q;
    },
  };
  const boss = new PgBoss({
    db,
    schema,
    schedule: false, // no cron: the sweeper has its own timer
    supervise: true,
    maintenanceIntervalSeconds: opts.maintenanceIntervalSeconds ?? 30,
  });
  boss.on('error', (err) => log.error({ err }, 'pg-boss error'));
  try {
    await oneAtATime(pool, `htbase-pg-queue:${schema}`, async () => {
      await boss.start();
      await declareQueues(boss, subs);
    });
  } catch (err) {
    await boss.stop({ graceful: false, close: false }).catch(() => undefined);
    await pool.end();
    throw err;
  }

  let closed = false;
  /** Queues this process consumes (its subscriptions and their dead-letter relays): what idle() watches. */
  const consumed = new Set<string>();
  /** pg-boss worker ids per queue: a local publish wakes them instead of waiting for their next poll. */
  const workerIds = new Map<string, string[]>();
  const registrations = new Set<Promise<void>>();
  const inFlight = new Set<Promise<unknown>>();

  const wake = (queue: string) => {
    for (const id of workerIds.get(queue) ?? []) boss.notifyWorker(id);
  };

  /**
   * Publishes go in grouped (shared/core/group-commit.ts): the messages published while an insert is running go
   * together in the next one, so under load (POST /archive publishes three messages a submission) one INSERT
   * carries many of them. A failed insert fails every publish in it; each caller takes its own failure path.
   */
  const insertJobs = groupCommit<PgBoss.JobInsert<JobData>[], void>(
    async (groups) => {
      const jobs = groups.flat();
      await boss.insert(jobs);
      for (const queue of new Set(jobs.map((j) => j.name))) wake(queue);
      return groups.map(() => undefined);
    },
    { maxBatch: MAX_PUBLISHES_PER_INSERT, maxInFlight: MAX_INSERTS_IN_FLIGHT },
  );

  /** Inserts one job per subscription of `topic`, all with the message's id (grouped with concurrent publishes). */
  async function fanOut(topic: TopicName, id: string, data: JobData): Promise<void> {
    const declared = opts.topology[topic];
    if (!declared) throw new Error(`topic ${topic} is not declared in the pg queue topology`);
    const targets = Object.keys(declared).map((n) => byName.get(n)!);
    if (targets.length === 0) return;
    await insertJobs(targets.map((s) => ({ id, name: s.queue, data })));
  }

  /** Runs `body` through the handler; anything but 2xx (or a throw) becomes a failed job for pg-boss. */
  async function deliver(s: ResolvedSubscription, handler: PushHandler, job: Job): Promise<void> {
    const attempt = job.retryCount + 1;
    const body: PushBody = {
      message: {
        data: job.data.data,
        attributes: job.data.attributes,
        messageId: job.id,
        publishTime: job.data.publishTime,
      },
      subscription: `projects/local/subscriptions/${s.name}`,
      deliveryAttempt: attempt,
    };
    let status: number;
    const run = handler(body);
    inFlight.add(run);
    try {
      status = await run;
    } catch (err) {
      log.error({ err, subscription: s.name, messageId: job.id }, 'push handler threw');
      status = 500;
    } finally {
      inFlight.delete(run);
    }
    counters.delivered++;
    if (status >= 200 && status < 300) return;
    if (s.deadLetterTopic && attempt >= s.maxDeliveryAttempts) {
      log.warn({ subscription: s.name, messageId: job.id, attempts: attempt }, 'delivery attempts used up');
    } else {
      counters.redelivered++;
      await capBackoff(s, job);
    }
    throw new DeliveryRefused(`push endpoint answered ${status}`);
  }

  /**
   * pg-boss 10 waits up to retryDelay * 2^(retries+1) before the next attempt, with no maximum. Once that could
   * pass maxBackoffMs, the job's own row is switched to a fixed delay of maxBackoffMs, which pg-boss's failure
   * step then applies: a message retried forever (no dead-letter topic) is retried every maxBackoffMs.
   */
  async function capBackoff(s: ResolvedSubscription, job: Job): Promise<void> {
    const maxSeconds = Math.max(1, Math.floor(s.maxBackoffMs / 1000));
    const worst = job.retryDelay * 2 ** Math.min(16, job.retryCount + 1);
    if (!job.retryBackoff || worst <= maxSeconds) return;
    await db
      .executeSql(`UPDATE ${schema}.job SET retry_backoff = false, retry_delay = $3 WHERE name = $1 AND id = $2`, [
        s.queue,
        job.id,
        maxSeconds,
      ])
      .catch((err) => log.warn({ err, subscription: s.name, messageId: job.id }, 'capping the backoff failed'));
  }

  /** pg-boss moved jobs that used up their attempts to the dead-letter queue: publish them to the topic. */
  async function relayDeadLetters(s: ResolvedSubscription, jobs: PgBoss.Job<JobData>[]): Promise<void> {
    for (const job of jobs) {
      // The dead-letter job's id is the new message id: a relay retried after a crash inserts nothing twice.
      await fanOut(s.deadLetterTopic!, job.id, {
        data: job.data.data,
        attributes: {
          ...job.data.attributes,
          CloudPubSubDeadLetterSourceDeliveryCount: String(s.maxDeliveryAttempts),
          CloudPubSubDeadLetterSourceSubscription: s.name,
        },
        publishTime: new Date().toISOString(),
      });
      counters.deadLettered++;
      log.warn({ subscription: s.name, messageId: job.id, topic: s.deadLetterTopic }, 'message dead-lettered');
    }
  }

  /** Starts `n` pg-boss workers on `queue`, each fetching one job at a time and draining without pause. */
  async function startWorkers(queue: string, n: number, run: (jobs: Job[]) => Promise<void>): Promise<void> {
    consumed.add(queue);
    const ids = workerIds.get(queue) ?? [];
    workerIds.set(queue, ids);
    for (let i = 0; i < n; i++) {
      let self: string | undefined;
      const id = await boss.work<JobData>(
        queue,
        { batchSize: 1, includeMetadata: true, pollingIntervalSeconds },
        async (jobs) => {
          try {
            await run(jobs);
          } finally {
            // A worker that just handled a job asks again at once; only an empty fetch waits for the next poll.
            if (self && !closed) boss.notifyWorker(self);
          }
        },
      );
      self = id;
      ids.push(id);
    }
  }

  function checkDeclared(topic: TopicName, name: string, so: SubscriptionOptions): ResolvedSubscription {
    const s = byName.get(name);
    if (!s || s.topic !== topic) throw new Error(`subscription ${name} on ${topic} is not declared in the topology`);
    // The queue's policy is shared by every process: a consumer may not quietly run with another one.
    const clash =
      (so.deadLetterTopic !== undefined && so.deadLetterTopic !== s.deadLetterTopic) ||
      (so.maxDeliveryAttempts !== undefined && so.maxDeliveryAttempts !== s.maxDeliveryAttempts) ||
      (so.minBackoffMs !== undefined && so.minBackoffMs !== s.minBackoffMs) ||
      (so.maxBackoffMs !== undefined && so.maxBackoffMs !== s.maxBackoffMs);
    if (clash) throw new Error(`subscribe(${name}) options differ from the declared topology`);
    if (workerIds.has(s.queue)) throw new Error(`subscription ${name} is already consumed by this bus`);
    return s;
  }

  async function pendingJobs(): Promise<number> {
    if (consumed.size === 0) return 0;
    const { rows } = await db.executeSql(
      `SELECT count(*)::int AS n FROM ${schema}.job WHERE name = ANY($1::text[]) AND state < 'completed'`,
      [[...consumed]],
    );
    return rows[0].n as number;
  }

  return {
    async publish(topic, data, attributes = {}) {
      if (closed) throw new Error('bus is closed');
      const id = randomUUID();
      const payload = Buffer.from(JSON.stringify(data)).toString('base64');
      // Bounded like the Pub/Sub publisher: a caller that gets an error leaves its row for the sweeper.
      await withTimeout(
        fanOut(topic, id, { data: payload, attributes, publishTime: new Date().toISOString() }),
        opts.publishTimeoutMs ?? 30_000,
        `publish to ${topic} timed out`,
      );
      counters.published++;
      return id;
    },
    subscribe(topic, name, handler, so = {}) {
      if (closed) throw new Error('bus is closed');
      const s = checkDeclared(topic, name, so);
      workerIds.set(s.queue, []);
      const p = (async () => {
        await startWorkers(s.queue, so.concurrency ?? 1, async (jobs) => {
          for (const job of jobs) await deliver(s, handler, job);
        });
        if (s.deadLetterQueue) await startWorkers(s.deadLetterQueue, 1, (jobs) => relayDeadLetters(s, jobs));
      })().catch((err) => log.error({ err, subscription: name }, 'starting the subscription failed'));
      registrations.add(p);
      void p.finally(() => registrations.delete(p));
    },
    async idle() {
      for (;;) {
        await Promise.allSettled([...registrations]);
        if (closed) return;
        if (inFlight.size === 0 && (await pendingJobs()) === 0) return;
        await sleep(100);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...registrations]);
      const timeout = opts.closeTimeoutMs ?? 10_000;
      // Graceful: no new fetches, running deliveries finish; past the timeout pg-boss fails them back to retry.
      await boss
        .stop({ graceful: true, wait: true, close: false, timeout })
        .catch((err) => log.error({ err }, 'pg-boss stop failed'));
      // Publishes accepted before close still go in: the grouped inserts drain before the pool ends.
      const drained = async () => {
        while (insertJobs.busy()) await sleep(5);
        await Promise.allSettled([...queries]);
      };
      await withTimeout(drained(), 5000, 'queue queries still running').catch((err) =>
        log.warn({ err }, 'closing with queries in flight'),
      );
      await pool.end();
    },
    stats: () => ({ ...counters }),
  };
}
