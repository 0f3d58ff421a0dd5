// Functions Framework entry point of the API (`--target=api`): config (functions/api/config.ts), the shared
// dependencies (Postgres, Cloud Storage, Pub/Sub, Redis, Cloud Tasks for summaries), API keys, Google and Firebase ID tokens
// (functions/api/security.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { http } from '@google-cloud/functions-framework';
import { loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { buildCloudDeps, gcsSigner } from '../../shared/adapters/deps.ts';
import { createSummaryTaskQueue, hasSummaryTasks } from '../../shared/adapters/cloud-tasks.ts';
import { createSummaryRequester } from '../../shared/jobs/summary-request.ts';
import { queueTaskQueue } from '../../shared/adapters/pg-queue-wiring.ts';
import { createApp } from './app.ts';
import { apiSecurity, MULTIPART_PATHS } from './security.ts';
import { CloudApiConfig, firebaseWebSettings } from './config.ts';
import { limitBodies, refused } from './body-limit.ts';
import { createCookieStore } from '../../shared/cookies/store.ts';
import { vaultFromConfig } from '../../shared/cookies/vault.ts';
import { tooLarge } from './multipart.ts';
import { DEFAULT_IMPORT_MAX_BYTES, IMPORT_MULTIPART_PATHS } from './routes/imports.ts';
import { badRequest } from './problems.ts';
import { cachingResolver } from '../../shared/net/ssrf.ts';

/** Room for a multipart request's boundaries and small fields beside the file itself. */
const MULTIPART_FRAMING_BYTES = 1024 * 1024;

const config = loadConfig(CloudApiConfig, process.env);
const logger = createLogger({ component: 'api', level: config.LOG_LEVEL });
// Unsigned emulator tokens are accepted with this set: say so loudly, it must never reach production.
if (config.FIREBASE_AUTH_EMULATOR_HOST)
  logger.warn({ emulator: config.FIREBASE_AUTH_EMULATOR_HOST }, 'Firebase Auth emulator tokens are accepted');
const deps = await buildCloudDeps(config, logger, { signer: gcsSigner(config) });
// POST /archives/{id}/summary enqueues on the summaries queue (Cloud Tasks, or the Postgres job queue on a
// VPS); without either it answers 503.
const tasks = deps.bus
  ? queueTaskQueue(deps.bus)
  : hasSummaryTasks(config)
    ? createSummaryTaskQueue(config, deps.tasksClient(), logger)
    : undefined;
const summaries = tasks ? createSummaryRequester({ db: deps.db.db, blobs: deps.blobs, tasks, logger }) : undefined;

// Logged-in capture: the cookie key from Secret Manager (COOKIE_ENCRYPTION_KEY); unset, the cookie routes answer 503.
const vault = vaultFromConfig({ key: config.COOKIE_ENCRYPTION_KEY });
// A function instance ends with its process, and the key cache's LISTEN connection with it: nothing to close.
const { close: _close, ...security } = apiSecurity(config, deps.db.db, {
  mode: 'cloud',
  firebaseEmulator: !!config.FIREBASE_AUTH_EMULATOR_HOST,
  logger,
});
const app = createApp({
  cookies: vault ? createCookieStore(deps.db.db, vault) : undefined,
  db: deps.db.db,
  blobs: deps.blobs,
  publisher: deps.publisher,
  logger,
  // The submission check is advisory (a name that does not resolve is accepted, and the worker checks and pins
  // the address again at fetch time, so rebinding gains nothing): one lookup per name per 10 s is enough.
  guard: { allowPrivateNetworks: config.HTBASE_ALLOW_PRIVATE_NETWORKS, resolve: cachingResolver(10_000) },
  config,
  ...security,
  firebaseWeb: firebaseWebSettings(config),
  rateLimiter: deps.rateLimiter,
  summaries,
  health: async () => ({
    mode: deps.bus ? 'vps' : 'cloud',
    queue: config.QUEUE,
    redis: deps.redis ? deps.redis.status : 'none',
  }),
});
// The Functions Framework parses bodies itself (up to 1 GB) before the app's parser runs: refuse an oversized
// body from its headers, before a byte of it is read (body-limit.ts).
// A file upload is bounded by its route (UPLOAD_MAX_BYTES, 413 with the cap); its headers may announce the cap plus
// the multipart framing, and anything past that is refused here the same way, with the cap in the message.
const pathOf = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://x').pathname;
/** A route's own file cap (413 with it in the message), or undefined for the JSON routes. */
function fileCap(req: IncomingMessage): { what: string; max: number } | undefined {
  const path = pathOf(req);
  if (IMPORT_MULTIPART_PATHS.some((p) => p.test(path)))
    return { what: 'the import file', max: DEFAULT_IMPORT_MAX_BYTES };
  if (MULTIPART_PATHS.some((p) => p.test(path))) return { what: 'the upload', max: config.UPLOAD_MAX_BYTES };
  return undefined;
}
limitBodies(
  (req) => {
    const cap = fileCap(req);
    return cap ? cap.max + MULTIPART_FRAMING_BYTES : config.MAX_BODY_BYTES;
  },
  (req, limit) => {
    const cap = fileCap(req);
    return cap
      ? tooLarge(cap.what, cap.max)
      : badRequest('body-too-large', `the request body is larger than ${limit} bytes`);
  },
);
/** The whole API: what the Functions Framework serves as `--target=api`, and server.ts on a VPS. */
export function handleApi(req: IncomingMessage, res: ServerResponse): void {
  if (refused(req, res)) return;
  app(req, res);
}
http('api', handleApi);

/** The port server.ts listens on (PORT); the Functions Framework takes its own --port. */
export const listenPort = config.PORT;
