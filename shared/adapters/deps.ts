// The one dependency builder of the cloud deployables (API, summarize, sync, sweep, workers): from the parsed
// config it makes Postgres, Cloud Storage, Pub/Sub, Redis, Cloud Tasks and Firestore clients; unset cloud
// settings fall back to the embedded adapters, so one code path serves both modes.
import { join, resolve } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { Storage } from '@google-cloud/storage';
import { PubSub } from '@google-cloud/pubsub';
import { CloudTasksClient } from '@google-cloud/tasks';
import { PassThroughClient } from 'google-auth-library';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { BaseConfig } from '../core/config.ts';
import { optStr } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { openDatabase, type DatabaseHandle } from '../db/connect.ts';
import { createFirestoreReplica } from './firestore.ts';
import { createGcsBlobStore } from './gcs.ts';
import { createLocalBlobStore } from './local-blob-store.ts';
import { checkS3Store, s3StoreFor, type S3Settings } from './s3-config.ts';
import { createPubSubPublisher } from './pubsub.ts';
import { connectRedis, createRedisHostLimiter, createRedisRateLimiter } from './redis.ts';
import { createMemoryHostLimiter, createMemoryRateLimiter } from './memory-coordination.ts';
import { createPgRateLimiter } from './pg-rate-limiter.ts';
import { announcingBlobStore, createHtbaseQueue } from './pg-queue-wiring.ts';
import type { PgQueueBus } from './pg-queue.ts';
import type { BlobStore, HostLimiter, Publisher, RateLimiter, ReplicaWriter } from '../core/ports.ts';

type Base = z.infer<typeof BaseConfig>;

/**
 * A service-account key to sign Cloud Storage v4 URLs locally (the API's 302 downloads). Unset in
 * production, where the client signs through IAM signBlob as the runtime account; set locally and in tests.
 */
export const GcsSignerEnv = z.object({
  GCS_SIGNER_EMAIL: optStr,
  /** PEM private key; literal `\n` sequences are accepted for single-line environments. */
  GCS_SIGNER_KEY: optStr,
});
export type GcsSignerEnv = z.infer<typeof GcsSignerEnv>;

/** The cross-field rule of GcsSignerEnv, for the superRefine of a schema that extends its shape. */
export function gcsSignerRule(env: GcsSignerEnv, ctx: z.RefinementCtx): void {
  if (!env.GCS_SIGNER_EMAIL !== !env.GCS_SIGNER_KEY) {
    ctx.addIssue({
      code: 'custom',
      path: [env.GCS_SIGNER_EMAIL ? 'GCS_SIGNER_KEY' : 'GCS_SIGNER_EMAIL'],
      message: 'GCS_SIGNER_EMAIL and GCS_SIGNER_KEY go together',
    });
  }
}

/** The signer option of the GCS blob store, or undefined (gcsSignerRule has refused half of one). */
export function gcsSigner(env: GcsSignerEnv): { clientEmail: string; privateKey: string } | undefined {
  if (!env.GCS_SIGNER_EMAIL || !env.GCS_SIGNER_KEY) return undefined;
  return { clientEmail: env.GCS_SIGNER_EMAIL, privateKey: env.GCS_SIGNER_KEY.replace(/\\n/g, '\n') };
}

/** The Firestore database the replica lives in; read by sync (and its reconcile CLI). */
export const FirestoreEnv = z.object({ FIRESTORE_DATABASE: z.string().default('(default)') });

/** What the builder reads beyond BaseConfig, when the deployable's schema has it. */
export type DepsConfig = Base & {
  /** host:port of a Cloud Tasks REST endpoint (the fake in tests); unset: the real service. */
  CLOUD_TASKS_API_ENDPOINT?: string;
  FIRESTORE_DATABASE?: string;
};

export interface CloudDepsOptions {
  dbPoolSize?: number;
  signer?: { clientEmail: string; privateKey: string };
  /** Connect Redis (REDIS_URL) for the rate and host limiters; false for deployables that limit nothing. */
  coordination?: boolean;
}

export interface CloudDeps {
  db: DatabaseHandle;
  blobs: BlobStore;
  publisher: Publisher;
  /** The Postgres job queue (QUEUE=postgres): the publisher, and what this process subscribes on. */
  bus: PgQueueBus | null;
  redis: Redis | null;
  rateLimiter: RateLimiter;
  hostLimiter(maxPerHost: number): HostLimiter;
  /** The Cloud Tasks client, made on first use (only the summary enqueuers need one). */
  tasksClient(): CloudTasksClient;
  /** The Firestore replica of the articles, made on first use (only sync writes it). */
  replica(): ReplicaWriter;
  close(): Promise<void>;
}

/** A Cloud Tasks client: REST without credentials against a local endpoint, the real service otherwise. */
function cloudTasksClient(config: DepsConfig): CloudTasksClient {
  const projectId = config.GOOGLE_CLOUD_PROJECT;
  if (!config.CLOUD_TASKS_API_ENDPOINT) return new CloudTasksClient({ projectId });
  const [host, port] = config.CLOUD_TASKS_API_ENDPOINT.split(':');
  return new CloudTasksClient({
    fallback: true,
    apiEndpoint: host,
    port: Number(port),
    protocol: 'http',
    authClient: new PassThroughClient(),
    projectId,
  } as unknown as ConstructorParameters<typeof CloudTasksClient>[0]);
}

/** Memoizes a client factory and registers its cleanup the first time it runs. */
function lazy<T>(make: () => T, closers: Array<() => Promise<unknown>>, close: (t: T) => Promise<unknown>): () => T {
  let made: { value: T } | undefined;
  return () => {
    if (!made) {
      made = { value: make() };
      const value = made.value;
      closers.push(() => close(value));
    }
    return made.value;
  };
}

/** The artifact store the configuration names: the Cloud Storage or S3 bucket, or the data directory on disk. */
export function blobStoreFor(
  config: Pick<DepsConfig, 'ARTIFACTS_BUCKET' | 'GOOGLE_CLOUD_PROJECT' | 'STORAGE_API_ENDPOINT' | 'HTBASE_DATA_DIR'> &
    Partial<S3Settings>,
  logger: Logger,
  signer?: CloudDepsOptions['signer'],
): BlobStore {
  if (config.S3_BUCKET) {
    // loadConfig refuses both; a hand-built config must not silently pick one either.
    if (config.ARTIFACTS_BUCKET) throw new Error('set ARTIFACTS_BUCKET or S3_BUCKET, not both');
    return s3StoreFor(
      { S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: false, ...config, S3_BUCKET: config.S3_BUCKET },
      logger,
    );
  }
  if (!config.ARTIFACTS_BUCKET) return createLocalBlobStore({ root: join(resolve(config.HTBASE_DATA_DIR), 'blobs') });
  return createGcsBlobStore({
    storage: new Storage({
      projectId: config.GOOGLE_CLOUD_PROJECT,
      ...(config.STORAGE_API_ENDPOINT ? { apiEndpoint: config.STORAGE_API_ENDPOINT } : {}),
    }),
    bucket: config.ARTIFACTS_BUCKET,
    signer,
    logger,
  });
}

export async function buildCloudDeps(
  config: DepsConfig,
  logger: Logger,
  opts: CloudDepsOptions = {},
): Promise<CloudDeps> {
  const closers: Array<() => Promise<unknown>> = [];
  // A wrong S3 endpoint, key or bucket stops the start here, in one sentence, not at the first capture.
  if (config.S3_BUCKET) await checkS3Store({ ...config, S3_BUCKET: config.S3_BUCKET });
  const db = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: resolve(config.HTBASE_DATA_DIR),
    // DB_POOL_SIZE (set by infra from the tier's max_connections) wins over the deployable's own default.
    maxConnections: config.DB_POOL_SIZE ?? opts.dbPoolSize ?? 5,
  });
  closers.push(() => db.close());
  let blobs = blobStoreFor(config, logger, opts.signer);
  let publisher: Publisher;
  let bus: PgQueueBus | null = null;
  if (config.QUEUE === 'postgres') {
    // One VPS: the job queue on the same database carries the messages, and the store announces its objects.
    const queue = await createHtbaseQueue(config, logger).catch(async (err) => {
      await db.close();
      throw err;
    });
    closers.push(() => queue.close());
    bus = queue;
    publisher = queue;
    blobs = announcingBlobStore(blobs, queue, config.S3_BUCKET ?? config.ARTIFACTS_BUCKET ?? 'local');
  } else {
    const pubsub = new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT });
    const pubsubPublisher = createPubSubPublisher({ pubsub, logger, topicPrefix: config.PUBSUB_TOPIC_PREFIX });
    closers.push(async () => {
      await pubsubPublisher.close();
      await pubsub.close();
    });
    publisher = pubsubPublisher;
  }
  const redis = config.REDIS_URL && opts.coordination !== false ? connectRedis(config.REDIS_URL) : null;
  if (redis) closers.push(() => redis.quit());
  const firestore = lazy(
    () =>
      new Firestore({
        projectId: config.GOOGLE_CLOUD_PROJECT,
        ...(config.FIRESTORE_DATABASE ? { databaseId: config.FIRESTORE_DATABASE } : {}),
      }),
    closers,
    (f) => f.terminate(),
  );
  const replica = lazy(
    () => createFirestoreReplica({ firestore: firestore(), logger }),
    [],
    async () => undefined,
  );
  return {
    db,
    blobs,
    publisher,
    bus,
    redis,
    // Without Redis the database that is already there holds the counts, exact across instances (issue 18).
    rateLimiter: redis
      ? createRedisRateLimiter(redis)
      : config.DATABASE_URL
        ? createPgRateLimiter(db.db, { logger })
        : createMemoryRateLimiter(),
    hostLimiter: (maxPerHost) =>
      redis ? createRedisHostLimiter(redis, { maxPerHost, logger }) : createMemoryHostLimiter({ maxPerHost }),
    tasksClient: lazy(
      () => cloudTasksClient(config),
      closers,
      (c) => c.close(),
    ),
    replica,
    async close() {
      for (const c of closers.reverse()) await c().catch((err) => logger.warn({ err }, 'close failed'));
    },
  };
}
