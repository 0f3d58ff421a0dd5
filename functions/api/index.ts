// Functions Framework entry point of the API (`--target=api`): config (functions/api/config.ts), the shared
// dependencies (Postgres, Cloud Storage, Pub/Sub, Redis, Cloud Tasks for summaries), API keys, Google and Firebase ID tokens
// (functions/api/security.ts).
import { http } from '@google-cloud/functions-framework';
import { loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { buildCloudDeps, gcsSigner } from '../../shared/adapters/deps.ts';
import { createSummaryTaskQueue, hasSummaryTasks } from '../../shared/adapters/cloud-tasks.ts';
import { createSummaryRequester } from '../../shared/jobs/summary-request.ts';
import { queueTaskQueue } from '../../shared/adapters/pg-queue-wiring.ts';
import { createApp } from './app.ts';
import { apiSecurity } from './security.ts';
import { CloudApiConfig } from './config.ts';
import { badRequest, sendProblem } from './problems.ts';

const config = loadConfig(CloudApiConfig, process.env);
const logger = createLogger({ component: 'api', level: config.LOG_LEVEL });
const deps = await buildCloudDeps(config, logger, { signer: gcsSigner(config) });
// POST /archives/{id}/summary enqueues on the summaries queue (Cloud Tasks, or the Postgres job queue on a
// VPS); without either it answers 503.
const tasks = deps.bus
  ? queueTaskQueue(deps.bus)
  : hasSummaryTasks(config)
    ? createSummaryTaskQueue(config, deps.tasksClient(), logger)
    : undefined;
const summaries = tasks ? createSummaryRequester({ db: deps.db.db, blobs: deps.blobs, tasks, logger }) : undefined;

const app = createApp({
  db: deps.db.db,
  blobs: deps.blobs,
  publisher: deps.publisher,
  logger,
  guard: { allowPrivateNetworks: config.HTBASE_ALLOW_PRIVATE_NETWORKS },
  config,
  ...apiSecurity(config, deps.db.db, { mode: 'cloud' }),
  rateLimiter: deps.rateLimiter,
  summaries,
  health: async () => ({
    mode: deps.bus ? 'vps' : 'cloud',
    queue: config.QUEUE,
    redis: deps.redis ? deps.redis.status : 'none',
  }),
});
// The Functions Framework parses bodies itself (up to its own 32 MB+ limit) before the app's parser runs,
// which then sees a parsed body and skips its MAX_BODY_BYTES check: enforce the limit on the saved raw body.
http('api', (req, res) => {
  const raw = (req as typeof req & { rawBody?: Buffer }).rawBody;
  if (raw && raw.length > config.MAX_BODY_BYTES) {
    sendProblem(res, badRequest('body-too-large', 'the request body is too large'));
    return;
  }
  app(req, res);
});
