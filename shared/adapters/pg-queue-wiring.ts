// HT Base on the Postgres job queue (QUEUE=postgres, one VPS): the one topology every process declares, the bus
// built from the shared settings, and the two cloud services the queue stands in for: Eventarc's object-finalized
// events (announced by the store that wrote the object) and Cloud Tasks' summary tasks.
import { announcingPuts } from './blob-stream.ts';
import type { Logger } from '../core/logger.ts';
import { QUEUE_TOPICS, TOPICS, type SummaryTask } from '../core/messages.ts';
import type { BlobStore, Publisher, TaskQueue } from '../core/ports.ts';
import { createPgQueueBus, type PgQueueBus, type PgQueueTopology } from './pg-queue.ts';

/** Subscription names, shared by the consumers (workers, summarize, the single process) and the topology. */
export const SUBSCRIPTIONS = {
  browser: 'capture-browser-push',
  browserDead: 'capture-browser-dead-letter',
  monolith: 'capture-monolith-push',
  monolithDead: 'capture-monolith-dead-letter',
  finalized: 'summarize-finalized',
  summaryTasks: 'summarize-tasks',
} as const;

/**
 * Who receives what. article-changed has no subscriber on a VPS (no Firestore replica), so it is declared empty
 * and dropped, as Pub/Sub drops messages of a topic without subscriptions.
 */
export const HTBASE_TOPOLOGY: PgQueueTopology = {
  [TOPICS.captureBrowser]: { [SUBSCRIPTIONS.browser]: { deadLetterTopic: TOPICS.captureBrowserDead } },
  [TOPICS.captureBrowserDead]: { [SUBSCRIPTIONS.browserDead]: {} },
  [TOPICS.captureMonolith]: { [SUBSCRIPTIONS.monolith]: { deadLetterTopic: TOPICS.captureMonolithDead } },
  [TOPICS.captureMonolithDead]: { [SUBSCRIPTIONS.monolithDead]: {} },
  [TOPICS.articleChanged]: {},
  [TOPICS.articleChangedDead]: {},
  [QUEUE_TOPICS.objectFinalized]: { [SUBSCRIPTIONS.finalized]: {} },
  // No dead-letter topic: the task handler records a failure (and falls back) on its own last attempt.
  [QUEUE_TOPICS.summaryTasks]: { [SUBSCRIPTIONS.summaryTasks]: {} },
};

/** The queue settings of shared/core/config.ts's BaseConfig. */
export interface QueueSettings {
  DATABASE_URL?: string;
  LEASE_SECONDS: number;
  QUEUE_MAX_DELIVERY_ATTEMPTS: number;
  QUEUE_MIN_BACKOFF_MS: number;
  QUEUE_MAX_BACKOFF_MS: number;
  QUEUE_ACK_DEADLINE_SECONDS?: number;
  QUEUE_POLL_SECONDS: number;
  QUEUE_MAINTENANCE_SECONDS: number;
}

/** The bus of one VPS process; it needs a PostgreSQL server (PGlite is one process's alone). */
export async function createHtbaseQueue(
  config: QueueSettings,
  logger: Logger,
  opts: { maxConnections?: number } = {},
): Promise<PgQueueBus> {
  if (!config.DATABASE_URL) throw new Error('QUEUE=postgres needs DATABASE_URL (a PostgreSQL server)');
  return createPgQueueBus({
    connectionString: config.DATABASE_URL,
    logger,
    topology: HTBASE_TOPOLOGY,
    maxDeliveryAttempts: config.QUEUE_MAX_DELIVERY_ATTEMPTS,
    minBackoffMs: config.QUEUE_MIN_BACKOFF_MS,
    maxBackoffMs: config.QUEUE_MAX_BACKOFF_MS,
    // The job's expiry is the worker's lease: a worker killed mid-capture loses its job to another after it.
    ackDeadlineSeconds: config.QUEUE_ACK_DEADLINE_SECONDS ?? config.LEASE_SECONDS,
    pollingIntervalSeconds: config.QUEUE_POLL_SECONDS,
    maintenanceIntervalSeconds: config.QUEUE_MAINTENANCE_SECONDS,
    maxConnections: opts.maxConnections ?? 4,
  });
}

/**
 * The store, announcing each object it finalized on `object-finalized` (Eventarc's role). A failed announcement
 * fails the put: the capture is then retried and announced again, instead of its summary being lost.
 */
export function announcingBlobStore(blobs: BlobStore, publisher: Publisher, bucket: string): BlobStore {
  return announcingPuts(blobs, bucket, (ev) => publisher.publish(QUEUE_TOPICS.objectFinalized, ev));
}

/**
 * Summary tasks on the queue (Cloud Tasks' role). Cloud Tasks collapses tasks of one name; here a duplicate runs,
 * and finds the summary of that text already stored (runTask is idempotent on the text's sha256).
 */
export function queueTaskQueue(publisher: Publisher): TaskQueue {
  return {
    async enqueue(task) {
      await publisher.publish(QUEUE_TOPICS.summaryTasks, task.payload as SummaryTask, { taskName: task.name });
      return 'created';
    },
  };
}
