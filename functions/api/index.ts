// Functions Framework entry point of the API (`--target=api`): config (functions/api/config.ts), the shared
// dependencies (Postgres, Cloud Storage, Pub/Sub, Redis, Cloud Tasks for summaries), API keys and/or Google ID tokens.
import { http } from '@google-cloud/functions-framework';
import type { Request } from 'express';
import { loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { buildCloudDeps, gcsSigner } from '../../shared/adapters/deps.ts';
import { verifyApiKey, looksLikeApiKey } from '../../shared/auth/api-keys.ts';
import { createGoogleIdTokenVerifier } from '../../shared/auth/google-id-token.ts';
import { bearerToken } from '../../shared/auth/jwt.ts';
import { createCloudSummaries, hasSummaryTasks } from '../summarize/config.ts';
import { createApp, type Principal } from './app.ts';
import { CloudApiConfig, idTokenAllowList } from './config.ts';
import { badRequest, sendProblem } from './problems.ts';

const config = loadConfig(CloudApiConfig, process.env);
const logger = createLogger({ component: 'api', level: config.LOG_LEVEL });
const allowed = idTokenAllowList(config);
const google = config.GOOGLE_ID_TOKEN_AUDIENCE
  ? createGoogleIdTokenVerifier({
      audience: config.GOOGLE_ID_TOKEN_AUDIENCE,
      allowedEmails: allowed.emails,
      allowedDomains: allowed.domains,
    })
  : null;
const deps = await buildCloudDeps(config, logger, { signer: gcsSigner(config) });
// POST /archives/{id}/summary enqueues on the summaries queue; without its settings it answers 503.
const summaries = hasSummaryTasks(config) ? createCloudSummaries(config, deps, logger).service : undefined;

async function authenticate(req: Request): Promise<Principal | null> {
  let token: string;
  try {
    token = bearerToken(req.headers.authorization);
  } catch {
    return null;
  }
  if (looksLikeApiKey(token)) {
    const key = await verifyApiKey(deps.db.db, token);
    return key ? { id: `key:${key.id}`, kind: 'api-key' } : null;
  }
  if (google) {
    try {
      const who = await google.verify(req.headers.authorization);
      return { id: `google:${who.sub}`, kind: 'google' };
    } catch {
      return null;
    }
  }
  return null;
}

const app = createApp({
  db: deps.db.db,
  blobs: deps.blobs,
  publisher: deps.publisher,
  logger,
  guard: { allowPrivateNetworks: config.HTBASE_ALLOW_PRIVATE_NETWORKS },
  config,
  authenticate,
  rateLimiter: deps.rateLimiter,
  summaries,
  health: async () => ({ mode: 'cloud', redis: deps.redis ? deps.redis.status : 'none' }),
});
// The Functions Framework parses bodies itself (up to its own 32 MB+ limit) before the app's parser runs,
// which then sees a parsed body and skips its MAX_BODY_BYTES check: enforce the limit on the saved raw body.
http('api', (req, res) => {
  const raw = (req as Request & { rawBody?: Buffer }).rawBody;
  if (raw && raw.length > config.MAX_BODY_BYTES) {
    sendProblem(res, badRequest('body-too-large', 'the request body is too large'));
    return;
  }
  app(req, res);
});
