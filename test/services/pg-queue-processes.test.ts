// The Postgres job queue bus across processes on a real PostgreSQL 15: three consumer processes
// (test/services/pg-queue-consumer.ts) share one subscription queue and handle each job exactly once, and a
// consumer killed with SIGKILL mid-job loses nothing: its job is redelivered to another once it expires.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { TOPICS } from '../../shared/core/messages.ts';
import { createPgQueueBus, type PgQueueBus } from '../../shared/adapters/pg-queue.ts';
import { CONSUMER_TIMINGS, CONSUMER_TOPOLOGY } from './pg-queue-consumer.ts';

const CONSUMER = fileURLToPath(new URL('./pg-queue-consumer.ts', import.meta.url));

interface Event {
  pid: number;
  ev: 'ready' | 'subscribed' | 'start' | 'done';
  id?: string;
  url?: string;
  attempt?: number;
  at: number;
}

let pgh: PostgresHandle;
const children: ChildProcess[] = [];
const buses: PgQueueBus[] = [];

before(async () => {
  pgh = await startPostgres();
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const b of buses) await b.close();
  await pgh?.stop();
});

/** The test's own bus: it installs the schema and queues first, then publishes (it consumes nothing). */
async function publisher(schema: string): Promise<PgQueueBus> {
  const b = await createPgQueueBus({
    connectionString: pgh.databaseUrl,
    schema,
    logger: silentLogger(),
    topology: CONSUMER_TOPOLOGY,
    ...CONSUMER_TIMINGS,
  });
  buses.push(b);
  return b;
}

/** Starts one consumer; every line it prints lands in `events` (shared by all consumers of a test). */
function consumer(schema: string, mode: 'normal' | 'hang' | 'paused', events: Event[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', CONSUMER, pgh.databaseUrl, schema, mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
    timeout: 120_000,
  });
  children.push(child);
  createInterface({ input: child.stdout! }).on('line', (line) =>
    events.push({ ...(JSON.parse(line) as Omit<Event, 'at'>), at: Date.now() }),
  );
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  return {
    child,
    send: (line: string) => child.stdin!.write(`${line}\n`),
    exited,
    async stop() {
      child.stdin!.write('stop\n');
      await exited;
    },
  };
}

async function waitFor(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const job = (n: number) => ({
  v: 1 as const,
  articleId: randomUUID(),
  url: `https://example.com/${n}`,
  formats: ['monolith' as const],
  reason: 'submit' as const,
  requestedAt: new Date().toISOString(),
});

const countBy = (events: Event[], ev: Event['ev']) => {
  const m = new Map<string, number>();
  for (const e of events) if (e.ev === ev) m.set(e.id!, (m.get(e.id!) ?? 0) + 1);
  return m;
};

test('three consumer processes share one queue: 30 jobs, each handled exactly once', async () => {
  const bus = await publisher('q_three');
  const events: Event[] = [];
  const procs = [0, 1, 2].map(() => consumer('q_three', 'normal', events));
  await waitFor('three ready consumers', () => events.filter((e) => e.ev === 'ready').length === 3);
  const ids = new Set<string>();
  for (let i = 0; i < 30; i++) ids.add(await bus.publish(TOPICS.captureMonolith, job(i)));
  const done = () => countBy(events, 'done');
  await waitFor('30 handled jobs', () => done().size === 30);
  await sleep(1500); // a duplicate delivery would show up within a few polls
  await Promise.all(procs.map((p) => p.stop()));
  assert.deepEqual(new Set(done().keys()), ids);
  for (const [id, n] of countBy(events, 'start')) assert.equal(n, 1, `job ${id} started ${n} times`);
  for (const [id, n] of done()) assert.equal(n, 1, `job ${id} handled ${n} times`);
  assert.ok(
    events.filter((e) => e.ev === 'start').every((e) => e.attempt === 1),
    'no job needed a second attempt',
  );
  const pids = new Set(events.filter((e) => e.ev === 'done').map((e) => e.pid));
  assert.equal(pids.size, 3, `jobs handled by ${pids.size} of 3 processes`);
  for (const p of procs) assert.equal(p.child.exitCode, 0);
});

test('a consumer killed with SIGKILL mid-job: the job is redelivered to another once it expires', async () => {
  const bus = await publisher('q_kill');
  const events: Event[] = [];
  // The victim consumes alone first, so that it surely holds a job; the others wait paused until then.
  const victim = consumer('q_kill', 'hang', events);
  const others = [consumer('q_kill', 'paused', events), consumer('q_kill', 'paused', events)];
  await waitFor('three ready consumers', () => events.filter((e) => e.ev === 'ready').length === 3);
  const ids = new Set<string>();
  for (let i = 0; i < 10; i++) ids.add(await bus.publish(TOPICS.captureMonolith, job(i)));
  const victimPid = victim.child.pid!;
  await waitFor('the victim to start a job', () => events.some((e) => e.ev === 'start' && e.pid === victimPid));
  const held = events.find((e) => e.ev === 'start' && e.pid === victimPid)!;
  for (const o of others) o.send('go');
  await waitFor('the others to start consuming', () => events.filter((e) => e.ev === 'subscribed').length === 3);
  victim.child.kill('SIGKILL');
  await victim.exited;
  const killedAt = Date.now();
  assert.ok(killedAt - held.at < CONSUMER_TIMINGS.ackDeadlineSeconds * 1000, 'killed before its job expired');

  const done = () => countBy(events, 'done');
  await waitFor('all 10 jobs handled', () => done().size === 10);
  await sleep(1500);
  await Promise.all(others.map((o) => o.stop()));
  assert.deepEqual(new Set(done().keys()), ids, 'nothing is lost');
  for (const [id, n] of done()) assert.equal(n, 1, `job ${id} handled ${n} times`);
  const heldDone = events.filter((e) => e.ev === 'done' && e.id === held.id);
  assert.equal(heldDone.length, 1);
  assert.notEqual(heldDone[0].pid, victimPid);
  assert.equal(heldDone[0].attempt, 2, 'the redelivery is the second attempt');
  const redelivered = events.find((e) => e.ev === 'start' && e.id === held.id && e.pid !== victimPid)!;
  assert.ok(
    redelivered.at - held.at >= CONSUMER_TIMINGS.ackDeadlineSeconds * 1000 - 50,
    `redelivered ${redelivered.at - held.at} ms after the first delivery, before it expired`,
  );
  assert.ok(!events.some((e) => e.pid === victimPid && e.ev === 'done'), 'the victim finished nothing');
  for (const [id, n] of countBy(events, 'start')) assert.equal(n, id === held.id ? 2 : 1, `job ${id} starts`);
});
