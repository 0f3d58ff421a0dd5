// Start-up of a capture worker container (Cloud Run): given the config its index.ts parsed, the cloud adapters,
// the egress proxy, the engine, the push server on $PORT, and SIGTERM handling.
import type { WorkerConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { buildCloudDeps } from '../adapters/deps.ts';
import { startEgressProxy, type EgressProxyOptions } from '../net/egress-proxy.ts';
import { createCaptureWorker, type CaptureEngine, type CaptureWorker } from './worker.ts';
import { createCookieStore } from '../cookies/store.ts';
import { vaultFromConfig } from '../cookies/vault.ts';
import { createPushServer, trapShutdown } from './push-server.ts';
import { pushVerifierFromConfig } from '../auth/oidc.ts';
import type { BlobStore } from '../core/ports.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../db/types.ts';
import type { Logger } from '../core/logger.ts';
import { TOPICS } from '../core/messages.ts';
import { SUBSCRIPTIONS } from '../adapters/pg-queue-wiring.ts';
import type { PgQueueBus } from '../adapters/pg-queue.ts';

export interface EngineSetup {
  engine: CaptureEngine;
  health?: () => Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * Runs a worker until SIGTERM. `config` is the engine's own schema (containers/<engine>/config.ts), parsed by
 * its entry point: each image reads only its settings, and this loop only the common ones.
 */
export async function runWorker<C extends WorkerConfig>(
  name: 'browser' | 'monolith',
  config: C,
  makeEngine: (ctx: {
    config: C;
    logger: Logger;
    proxyUrl: string;
    blobs: BlobStore;
    db: Kysely<Database>;
  }) => Promise<EngineSetup>,
  /** Byte caps of this worker's egress proxy (monolith's per-asset cap). */
  egress: Pick<EgressProxyOptions, 'maxResponseBytes' | 'maxTunnelBytes'> = {},
): Promise<void> {
  const logger = createLogger({ component: `worker-${name}`, level: config.LOG_LEVEL });
  const verifier = pushVerifierFromConfig(
    {
      verify: config.PUBSUB_VERIFY_OIDC,
      audience: config.PUBSUB_AUDIENCE,
      serviceAccount: config.PUBSUB_INVOKER_SA,
      jwksUrl: config.OIDC_JWKS_URL,
      names: { verify: 'PUBSUB_VERIFY_OIDC', audience: 'PUBSUB_AUDIENCE', serviceAccount: 'PUBSUB_INVOKER_SA' },
      offReason: 'only for the emulator',
    },
    logger,
  );
  const deps = await buildCloudDeps(config, logger, { dbPoolSize: 4 });
  const proxy = await startEgressProxy({
    allowPrivateNetworks: config.HTBASE_ALLOW_PRIVATE_NETWORKS,
    logger,
    ...egress,
  });
  const setup = await makeEngine({
    config,
    logger,
    proxyUrl: proxy.url,
    blobs: deps.blobs,
    db: deps.db.db,
  });
  // Logged-in capture in the cloud: COOKIE_ENCRYPTION_KEY from Secret Manager; without it captures are anonymous.
  const vault = vaultFromConfig({ key: config.COOKIE_ENCRYPTION_KEY });
  const worker = createCaptureWorker({
    cookies: vault ? createCookieStore(deps.db.db, vault) : undefined,
    db: deps.db.db,
    blobs: deps.blobs,
    publisher: deps.publisher,
    hostLimiter: deps.hostLimiter(config.HOST_CONCURRENCY),
    engine: setup.engine,
    logger,
    guard: { allowPrivateNetworks: config.HTBASE_ALLOW_PRIVATE_NETWORKS },
    leaseSeconds: config.LEASE_SECONDS,
    captureTimeoutMs: config.CAPTURE_TIMEOUT_MS,
    maxArtifactBytes: config.MAX_ARTIFACT_BYTES,
  });
  if (deps.bus) consumeQueue(name, deps.bus, worker, config.QUEUE_CONCURRENCY);
  const push = createPushServer({ worker, logger, verifier, health: setup.health });
  await new Promise<void>((res, rej) => {
    push.server.once('error', rej);
    push.server.listen(config.PORT, config.HOST, () => res());
  });
  logger.info({ port: config.PORT, engine: name, verifyOidc: !!verifier, queue: config.QUEUE }, 'worker listening');
  let busClosed: Promise<void> | undefined;
  trapShutdown(push, worker, {
    graceMs: config.SHUTDOWN_GRACE_MS,
    logger,
    // The queue stops fetching at once; the job in flight finishes (or is aborted and redelivered).
    onDraining: () => void (busClosed = deps.bus?.close()),
    onClosed: async () => {
      await busClosed;
      await setup.close();
      await proxy.close();
      await deps.close();
    },
  });
}

/**
 * QUEUE=postgres: the worker pulls its topic and its dead-letter topic from the Postgres job queue, with the same
 * handlers the push server runs (2xx acknowledges, anything else is retried, then dead-lettered).
 */
function consumeQueue(name: 'browser' | 'monolith', bus: PgQueueBus, worker: CaptureWorker, concurrency: number) {
  const [topic, dead, sub, deadSub] =
    name === 'browser'
      ? [TOPICS.captureBrowser, TOPICS.captureBrowserDead, SUBSCRIPTIONS.browser, SUBSCRIPTIONS.browserDead]
      : [TOPICS.captureMonolith, TOPICS.captureMonolithDead, SUBSCRIPTIONS.monolith, SUBSCRIPTIONS.monolithDead];
  bus.subscribe(topic, sub, async (body) => (await worker.handlePush(body)).status, {
    deadLetterTopic: dead,
    concurrency,
  });
  bus.subscribe(dead, deadSub, async (body) => (await worker.handleDeadLetter(body)).status);
}
