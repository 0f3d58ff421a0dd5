// Builds the Google Cloud adapters from configuration (Postgres, Cloud Storage, Pub/Sub, Redis); unset
// cloud settings fall back to the embedded adapters, so one code path serves both modes.
import { join, resolve } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { PubSub } from '@google-cloud/pubsub';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { BaseConfig } from '../core/config.ts';
import { optStr } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { openDatabase, type DatabaseHandle } from '../db/connect.ts';
import { createGcsBlobStore } from './gcs.ts';
import { createLocalBlobStore } from './local-blob-store.ts';
import { createPubSubPublisher } from './pubsub.ts';
import { connectRedis, createRedisHostLimiter, createRedisRateLimiter } from './redis.ts';
import { createMemoryHostLimiter, createMemoryRateLimiter } from './memory-coordination.ts';
import type { BlobStore, HostLimiter, Publisher, RateLimiter } from '../core/ports.ts';

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

/** The signer option of the GCS blob store, or undefined; throws when only half of it is configured. */
export function gcsSigner(env: GcsSignerEnv): { clientEmail: string; privateKey: string } | undefined {
  if (!env.GCS_SIGNER_EMAIL && !env.GCS_SIGNER_KEY) return undefined;
  if (!env.GCS_SIGNER_EMAIL || !env.GCS_SIGNER_KEY) throw new Error('GCS_SIGNER_EMAIL and GCS_SIGNER_KEY go together');
  return { clientEmail: env.GCS_SIGNER_EMAIL, privateKey: env.GCS_SIGNER_KEY.replace(/\\n/g, '\n') };
}

export interface CloudDeps {
  db: DatabaseHandle;
  blobs: BlobStore;
  publisher: Publisher;
  redis: Redis | null;
  rateLimiter: RateLimiter;
  hostLimiter(maxPerHost: number): HostLimiter;
  close(): Promise<void>;
}

export async function buildCloudDeps(
  config: Base,
  logger: Logger,
  opts: { dbPoolSize?: number; signer?: { clientEmail: string; privateKey: string } } = {},
): Promise<CloudDeps> {
  const closers: Array<() => Promise<unknown>> = [];
  const db = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: resolve(config.HTBASE_DATA_DIR),
    maxConnections: opts.dbPoolSize ?? 5,
  });
  closers.push(() => db.close());
  const blobs: BlobStore = config.ARTIFACTS_BUCKET
    ? createGcsBlobStore({
        storage: new Storage({
          projectId: config.GOOGLE_CLOUD_PROJECT,
          ...(config.STORAGE_API_ENDPOINT ? { apiEndpoint: config.STORAGE_API_ENDPOINT } : {}),
        }),
        bucket: config.ARTIFACTS_BUCKET,
        signer: opts.signer,
        logger,
      })
    : createLocalBlobStore({ root: join(resolve(config.HTBASE_DATA_DIR), 'blobs') });
  const pubsub = new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT });
  const publisher = createPubSubPublisher({ pubsub, logger });
  closers.push(async () => {
    await publisher.close();
    await pubsub.close();
  });
  const redis = config.REDIS_URL ? connectRedis(config.REDIS_URL) : null;
  if (redis) closers.push(() => redis.quit());
  return {
    db,
    blobs,
    publisher,
    redis,
    rateLimiter: redis ? createRedisRateLimiter(redis) : createMemoryRateLimiter(),
    hostLimiter: (maxPerHost) =>
      redis ? createRedisHostLimiter(redis, { maxPerHost, logger }) : createMemoryHostLimiter({ maxPerHost }),
    async close() {
      for (const c of closers.reverse()) await c().catch((err) => logger.warn({ err }, 'close failed'));
    },
  };
}
