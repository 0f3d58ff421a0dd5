// Child process for test/services/pg-queue-processes.test.ts: one consumer of the Postgres job queue bus, with
// its own pool. Prints JSON lines (ready, subscribed, start, done) on stdout; reads "go" (subscribe now, when
// started paused) and "stop" (close the bus, exit) on stdin. Mode `hang` never finishes its first job.
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../shared/core/logger.ts';
import { CaptureJobV1, TOPICS, decodePush } from '../../shared/core/messages.ts';
import type { PushBody } from '../../shared/adapters/in-process-bus.ts';
import { createPgQueueBus } from '../../shared/adapters/pg-queue.ts';

export const CONSUMER_SUBSCRIPTION = 'capture-monolith-push';
/** The topology every process of the test declares, the parent included. */
export const CONSUMER_TOPOLOGY = { [TOPICS.captureMonolith]: { [CONSUMER_SUBSCRIPTION]: {} } };
export const CONSUMER_TIMINGS = {
  ackDeadlineSeconds: 4,
  pollingIntervalSeconds: 0.5,
  maintenanceIntervalSeconds: 1,
  minBackoffMs: 1000,
};

const say = (line: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ pid: process.pid, ...line })}\n`);

async function main(): Promise<void> {
  const [databaseUrl, schema, mode] = process.argv.slice(2);
  const bus = await createPgQueueBus({
    connectionString: databaseUrl!,
    schema,
    logger: silentLogger(),
    topology: CONSUMER_TOPOLOGY,
    ...CONSUMER_TIMINGS,
    closeTimeoutMs: 2000,
  });
  let hung = false;
  const handler = async (body: PushBody) => {
    const { data, messageId } = decodePush(CaptureJobV1, body);
    const ev = { id: messageId, url: data.url, attempt: body.deliveryAttempt };
    say({ ev: 'start', ...ev });
    if (mode === 'hang' && !hung) {
      hung = true;
      await new Promise(() => undefined); // the process is killed while this job runs
    }
    await sleep(50);
    say({ ev: 'done', ...ev });
    return 204;
  };
  const subscribe = () => {
    bus.subscribe(TOPICS.captureMonolith, CONSUMER_SUBSCRIPTION, handler);
    say({ ev: 'subscribed' });
  };
  if (mode !== 'paused') subscribe();
  say({ ev: 'ready' });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === 'go') subscribe();
    if (line.trim() === 'stop') break;
  }
  await bus.close();
  process.exit(0);
}

// Run as a program only: the test imports the topology from here.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
