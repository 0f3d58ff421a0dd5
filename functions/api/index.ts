// Functions Framework entry point of the API (`--target=api`): Postgres, Cloud Storage, Pub/Sub and Redis
// from the environment; API keys and/or Google ID tokens. It refuses to start without an auth method.
import { http } from '@google-cloud/functions-framework';
import type { Request } from 'express';
import { ApiConfig, loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { buildCloudDeps, GcsSignerEnv, gcsSigner } from '../../shared/adapters/deps.ts';
import { verifyApiKey, looksLikeApiKey } from '../../shared/auth/api-keys.ts';
import { createGoogleIdTokenVerifier } from '../../shared/auth/google-id-token.ts';
import { bearerToken } from '../../shared/auth/jwt.ts';
import { createApp, type Principal } from './app.ts';
import { badRequest, sendProblem } from './problems.ts';

const config = loadConfig(ApiConfig.extend(GcsSignerEnv.shape), process.env);
const logger = createLogger({ component: 'api', level: config.LOG_LEVEL });
const allowed = (config.GOOGLE_ID_TOKEN_ALLOWED_EMAILS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const google = config.GOOGLE_ID_TOKEN_AUDIENCE
  ? createGoogleIdTokenVerifier({
      audience: config.GOOGLE_ID_TOKEN_AUDIENCE,
      allowedEmails: allowed.filter((a) => a.includes('@')),
      allowedDomains: allowed.filter((a) => !a.includes('@')),
    })
  : null;
if (!config.API_KEYS_REQUIRED && !google) {
  throw new Error('the cloud API needs an auth method: set API_KEYS_REQUIRED=true and/or GOOGLE_ID_TOKEN_AUDIENCE');
}
const deps = await buildCloudDeps(config, logger, { signer: gcsSigner(config) });

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
