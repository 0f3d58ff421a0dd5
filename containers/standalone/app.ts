// Embedded mode: every deployable in one process with no cloud and no servers — PGlite, the local-disk
// store, the in-process bus (Pub/Sub push semantics), in-process CloudEvents and an in-process task queue.
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { EmbeddedConfig } from './config.ts';
import type { Logger } from '../../shared/core/logger.ts';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createLocalBlobStore, type LocalBlobStore } from '../../shared/adapters/local-blob-store.ts';
import { checkS3Store, s3StoreFor } from '../../shared/adapters/s3-config.ts';
import { finalizingBlobStore, type FinalizingBlobStore } from '../../shared/adapters/s3-events.ts';
import { createInProcessBus, type InProcessBus } from '../../shared/adapters/in-process-bus.ts';
import { createHtbaseQueue } from '../../shared/adapters/pg-queue-wiring.ts';
import { createCaptureWorker, type CaptureWorker } from '../../shared/capture/worker.ts';
import { createCookieStore } from '../../shared/cookies/store.ts';
import { vaultFromConfig } from '../../shared/cookies/vault.ts';
import { startEgressProxy, type EgressProxy } from '../../shared/net/egress-proxy.ts';
import { TOPICS, ArticleChangedV1, decodePush } from '../../shared/core/messages.ts';
import { startSweeper } from '../../shared/jobs/sweeper.ts';
import { importQueuerDeps, startImportQueuer } from '../../shared/imports/queuer.ts';
import { browserCaptureInProgress } from '../../shared/db/artifacts.ts';
import { cachingResolver, type GuardOptions } from '../../shared/net/ssrf.ts';
import type { HostLimiter, RateLimiter, Summarizer } from '../../shared/core/ports.ts';
import { createMemoryHostLimiter, createMemoryRateLimiter } from '../../shared/adapters/memory-coordination.ts';
import { createApp } from '../../functions/api/app.ts';
import { apiSecurity } from '../../functions/api/security.ts';
import { BrowserPool } from '../browser/browser-pool.ts';
import { sandboxOption } from '../browser/config.ts';
import { createBrowserEngine } from '../browser/engine.ts';
import { createMonolithEngine } from '../monolith/engine.ts';
import { findMonolith, monolithVersion } from '../monolith/monolith.ts';
import { createSummarizers } from '../../functions/summarize/config.ts';
import { createSummarizeService } from '../../functions/summarize/service.ts';
import { createInProcessTaskQueue } from '../../functions/summarize/in-process-queue.ts';

export interface Embedded {
  url: string;
  server: Server;
  db: DatabaseHandle;
  /** The data directory's store, or the S3 bucket (S3_BUCKET), which has no local paths. */
  blobs: FinalizingBlobStore & Partial<Pick<LocalBlobStore, 'pathOf' | 'root'>>;
  bus: InProcessBus;
  browserWorker: CaptureWorker;
  monolithWorker: CaptureWorker;
  pool: BrowserPool;
  proxy: EgressProxy;
  summarizer: Summarizer;
  monolith: { binary: string | null; version: string | null; reason: string | null };
  /** Waits until every queued message and summary task has been handled. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  config: EmbeddedConfig;
  logger: Logger;
  /** PATH to look for monolith on (from the edge; library code does not read the environment). */
  searchPath?: string;
  /** Test hooks: replace the summarizer, the guard's resolver, bus backoff. */
  summarizer?: Summarizer;
  resolve?: GuardOptions['resolve'];
  busBackoffMs?: { min: number; max: number };
  /** Skip listening (the CLI may use the app in process); default listens on HOST:PORT. */
  listen?: boolean;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1', '[::1]'];

/**
 * Why a single-process server must not start as configured, or null: beyond loopback it needs keys, or anyone
 * who reaches the port could read and archive. The message says how to make the first key.
 */
export function exposureRefusal(config: { HOST: string; API_KEYS_REQUIRED: boolean }): string | null {
  if (LOOPBACK.includes(config.HOST) || config.API_KEYS_REQUIRED) return null;
  return [
    `HT Base will not listen on ${config.HOST} without API keys: anyone who can reach the port could use it.`,
    'Create a user and a key first, then start with API_KEYS_REQUIRED=true:',
    '  npx htbase user create NAME --admin',
    '  npx htbase apikey create laptop --user NAME',
    '  API_KEYS_REQUIRED=true HOST=0.0.0.0 PUBLIC_URL=https://archive.example.org npm start',
  ].join('\n');
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<Embedded> {
  const { config, logger } = opts;
  const dataDir = resolve(config.HTBASE_DATA_DIR);
  const guard: GuardOptions = { allowPrivateNetworks: config.HTBASE_ALLOW_PRIVATE_NETWORKS, resolve: opts.resolve };
  const closers: Array<() => Promise<unknown>> = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch((err) => logger.error({ err }, 'shutdown step failed'));
  };

  try {
    const db = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir });
    closers.push(() => db.close());
    const s3 = config.S3_BUCKET ? { ...config, S3_BUCKET: config.S3_BUCKET } : null;
    // A wrong S3 endpoint, key or bucket stops the start with one sentence, before anything is accepted.
    if (s3) await checkS3Store(s3);
    const blobs = s3
      ? finalizingBlobStore(s3StoreFor(s3, logger), s3.S3_BUCKET)
      : createLocalBlobStore({ root: join(dataDir, 'blobs') });
    // QUEUE=postgres (the all-in-one image): jobs live in PostgreSQL and survive a restart of the container.
    const bus =
      config.QUEUE === 'postgres'
        ? await createHtbaseQueue(config, logger)
        : createInProcessBus({
            logger,
            maxDeliveryAttempts: config.MAX_DELIVERY_ATTEMPTS,
            minBackoffMs: opts.busBackoffMs?.min ?? 1000,
            maxBackoffMs: opts.busBackoffMs?.max ?? 60_000,
          });
    closers.push(() => bus.close());
    const proxy = await startEgressProxy({
      allowPrivateNetworks: guard.allowPrivateNetworks,
      resolve: guard.resolve,
      logger,
    });
    closers.push(() => proxy.close());
    const pool = new BrowserPool({
      logger,
      executablePath: config.CHROME_PATH,
      proxyServer: proxy.url,
      sandbox: sandboxOption(config.CHROMIUM_SANDBOX),
      warmContext: true, // issue 17: the next capture's context is opened between captures
    });
    closers.push(() => pool.close());
    const hostLimiter: HostLimiter = createMemoryHostLimiter({ maxPerHost: config.HOST_CONCURRENCY });
    const rateLimiter: RateLimiter = createMemoryRateLimiter();
    // Logged-in capture: the key from COOKIE_ENCRYPTION_KEY, else a 0600 key file made on the first cookie upload.
    const vault = vaultFromConfig({ key: config.COOKIE_ENCRYPTION_KEY, keyFile: join(dataDir, 'cookies.key') });
    const cookies = vault ? createCookieStore(db.db, vault) : undefined;

    const common = {
      db: db.db,
      blobs,
      publisher: bus,
      hostLimiter,
      logger,
      guard,
      leaseSeconds: config.LEASE_SECONDS,
      captureTimeoutMs: config.CAPTURE_TIMEOUT_MS,
      maxArtifactBytes: config.MAX_ARTIFACT_BYTES,
      cookies,
    };
    const browserWorker = createCaptureWorker({
      ...common,
      engine: createBrowserEngine({
        pool,
        guard,
        timeouts: { navigation: config.NAVIGATION_TIMEOUT_MS },
        limits: { maxBytesPerArtifact: config.MAX_ARTIFACT_BYTES, maxResourceBytes: config.MAX_RESOURCE_BYTES },
        consent: config.CONSENT_MODE,
        blockTrackers: config.BLOCK_TRACKERS,
        renderedDom: config.MONOLITH_MODE === 'rendered' ? { blobs } : undefined,
      }),
    });

    const monolithBinary = await findMonolith(config.MONOLITH_PATH, opts.searchPath ?? '');
    let monolith: Embedded['monolith'] = {
      binary: null,
      version: null,
      reason: 'no monolith binary on PATH (set MONOLITH_PATH)',
    };
    if (monolithBinary) {
      try {
        monolith = { binary: monolithBinary, version: await monolithVersion(monolithBinary), reason: null };
      } catch (err) {
        monolith = { binary: null, version: null, reason: (err as Error).message };
      }
    }
    // monolith's own proxy carries its per-asset cap (Chromium has the Fetch-domain one instead).
    const monolithProxy = await startEgressProxy({
      allowPrivateNetworks: guard.allowPrivateNetworks,
      resolve: guard.resolve,
      logger,
      maxResponseBytes: config.MONOLITH_MAX_ASSET_BYTES,
      maxTunnelBytes: config.MAX_ARTIFACT_BYTES,
    });
    closers.push(() => monolithProxy.close());
    const monolithWorker = createCaptureWorker({
      ...common,
      engine: createMonolithEngine({
        binary: monolith.binary,
        version: monolith.version,
        proxyUrl: monolithProxy.url,
        timeoutMs: config.CAPTURE_TIMEOUT_MS,
        maxBytes: config.MAX_ARTIFACT_BYTES,
        mode: config.MONOLITH_MODE,
        blobs,
        browserPending: (id) => browserCaptureInProgress(db.db, id),
      }),
    });

    const push = (handler: (b: unknown) => Promise<{ status: number }>) => async (body: unknown) =>
      (await handler(body)).status;
    bus.subscribe(TOPICS.captureBrowser, 'capture-browser-push', push(browserWorker.handlePush), {
      deadLetterTopic: TOPICS.captureBrowserDead,
      concurrency: 2, // one Chromium peaks at 2 captures at once (npm run bench:concurrency, README)
    });
    bus.subscribe(TOPICS.captureBrowserDead, 'capture-browser-dead-letter', push(browserWorker.handleDeadLetter));
    bus.subscribe(TOPICS.captureMonolith, 'capture-monolith-push', push(monolithWorker.handlePush), {
      deadLetterTopic: TOPICS.captureMonolithDead,
      concurrency: 2,
    });
    bus.subscribe(TOPICS.captureMonolithDead, 'capture-monolith-dead-letter', push(monolithWorker.handleDeadLetter));
    // No Firestore when embedded: article-changed has no replica to feed, but it is validated like in the cloud.
    // The Postgres queue declares the topic without subscribers (HTBASE_TOPOLOGY), so nothing piles up.
    if (config.QUEUE !== 'postgres')
      bus.subscribe(TOPICS.articleChanged, 'article-changed-log', async (body) => {
        const ev = decodePush(ArticleChangedV1, body).data;
        logger.debug({ articleId: ev.articleId, version: ev.version }, 'article changed');
        return 204;
      });

    // Summaries: finalized readable.json -> named task -> in-process queue (rate limited) -> summarizer.
    const chosen = createSummarizers(config, logger);
    const summarizer = opts.summarizer ?? chosen.summarizer;
    let runTask: (payload: unknown, finalAttempt: boolean) => Promise<unknown> = async () => undefined;
    const tasks = createInProcessTaskQueue({
      handler: async (payload, info) => {
        await runTask(payload, info.attempt >= info.maxAttempts);
      },
      ratePerSecond: config.SUMMARY_RATE_PER_SECOND,
      maxConcurrent: config.SUMMARY_MAX_CONCURRENT,
      maxAttempts: 5,
      logger,
    });
    closers.push(async () => tasks.close());
    const summaries = createSummarizeService({
      db: db.db,
      blobs,
      tasks,
      summarizer,
      fallback: opts.summarizer ? undefined : chosen.fallback,
      publisher: bus,
      logger,
    });
    runTask = (payload, finalAttempt) =>
      summaries.runTask(payload as Parameters<typeof summaries.runTask>[0], { finalAttempt });
    const unsubscribe = blobs.onFinalize((ev) => {
      summaries
        .onObjectFinalized(ev)
        .catch((err) => logger.error({ err, object: ev.name }, 'object-finalized handler failed'));
    });
    closers.push(async () => unsubscribe());

    const sweeper = startSweeper(
      {
        db: db.db,
        publisher: bus,
        logger,
        leaseSeconds: config.LEASE_SECONDS,
        maxAttempts: config.MAX_DELIVERY_ATTEMPTS + 2,
      },
      config.SWEEP_INTERVAL_SECONDS * 1000,
    );
    closers.push(() => sweeper.stop());
    // Imports drain from their table at a bounded rate; a restart resumes from the rows (shared/imports).
    const importQueuer = startImportQueuer(importQueuerDeps(config, { db: db.db, publisher: bus, logger, guard }));
    closers.push(() => importQueuer.stop());

    const { close: closeSecurity, ...security } = apiSecurity(config, db.db, { mode: 'single-process', logger });
    closers.push(closeSecurity);
    const app = createApp({
      db: db.db,
      blobs,
      publisher: bus,
      logger,
      // The submission check is advisory, as in the cloud API (functions/api/index.ts): the worker checks and pins
      // the address again at fetch time, so one lookup per name per 10 s is enough here.
      guard: { ...guard, resolve: cachingResolver(10_000, guard.resolve) },
      config,
      rateLimiter,
      summaries,
      cookies,
      ...security,
      health: async () => ({
        mode: 'embedded',
        monolith: monolith.binary ? monolith.version : 'unavailable',
        summarizer: summarizer.provider,
      }),
    });
    const server = createServer(app);
    server.requestTimeout = 60_000;
    // Longer than clients' idle keep-alive (undici: 4 s), so the server never closes a socket a client is reusing.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    if (opts.listen !== false) {
      await new Promise<void>((res, rej) => {
        server.once('error', rej);
        server.listen(config.PORT, config.HOST, () => res());
      });
    }
    closers.push(
      () =>
        new Promise<void>((res) => {
          server.close(() => res());
          server.closeAllConnections();
        }),
    );
    const addr = server.address() as AddressInfo | null;
    const url = addr ? `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}` : '';

    return {
      url,
      server,
      db,
      blobs,
      bus,
      browserWorker,
      monolithWorker,
      pool,
      proxy,
      summarizer,
      monolith,
      async idle() {
        for (let i = 0; i < 3; i++) {
          await bus.idle();
          await tasks.drain();
        }
        await bus.idle();
      },
      async close() {
        browserWorker.abortAll('shutting down');
        monolithWorker.abortAll('shutting down');
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
