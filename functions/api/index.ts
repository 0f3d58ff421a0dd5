// Functions Framework entry point of the API (`--target=api`): config (functions/api/config.ts), the shared
// dependencies (Postgres, Cloud Storage, Pub/Sub, Redis, Cloud Tasks for summaries), API keys, Google and Firebase ID tokens
// (functions/api/security.ts).
import { http } from '@google-cloud/functions-framework';
import { loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { buildCloudDeps, gcsSigner } from '../../shared/adapters/deps.ts';
import { createSummaryTaskQueue, hasSummaryTasks } from '../../shared/adapters/cloud-tasks.ts';
import { createSummaryRequester } from '../../shared/jobs/summary-request.ts';
import { createApp } from './app.ts';
import { apiSecurity } from './security.ts';
import { CloudApiConfig, firebaseWebSettings } from './config.ts';
import { limitBodies, refused } from './body-limit.ts';

const config = loadConfig(CloudApiConfig, process.env);
const logger = createLogger({ component: 'api', level: config.LOG_LEVEL });
// Unsigned emulator tokens are accepted with this set: say so loudly, it must never reach production.
if (config.FIREBASE_AUTH_EMULATOR_HOST)
  logger.warn({ emulator: config.FIREBASE_AUTH_EMULATOR_HOST }, 'Firebase Auth emulator tokens are accepted');
const deps = await buildCloudDeps(config, logger, { signer: gcsSigner(config) });
// POST /archives/{id}/summary enqueues on the summaries queue; without its settings it answers 503.
const summaries = hasSummaryTasks(config)
  ? createSummaryRequester({
      db: deps.db.db,
      blobs: deps.blobs,
      tasks: createSummaryTaskQueue(config, deps.tasksClient(), logger),
      logger,
    })
  : undefined;

const app = createApp({
  db: deps.db.db,
  blobs: deps.blobs,
  publisher: deps.publisher,
  logger,
  guard: { allowPrivateNetworks: config.HTBASE_ALLOW_PRIVATE_NETWORKS },
  config,
  ...apiSecurity(config, deps.db.db, { mode: 'cloud', firebaseEmulator: !!config.FIREBASE_AUTH_EMULATOR_HOST }),
  firebaseWeb: firebaseWebSettings(config),
  rateLimiter: deps.rateLimiter,
  summaries,
  health: async () => ({ mode: 'cloud', redis: deps.redis ? deps.redis.status : 'none' }),
});
// The Functions Framework parses bodies itself (up to 1 GB) before the app's parser runs: refuse an oversized
// body from its headers, before a byte of it is read (body-limit.ts).
limitBodies(() => config.MAX_BODY_BYTES);
http('api', (req, res) => {
  if (refused(req, res)) return;
  app(req, res);
});
