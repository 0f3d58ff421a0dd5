// Request plumbing shared by the routes: admission (auth, then rate limiting per caller), JSON body parsing
// with the configured size limit, and the async handler wrapper that hands rejections to the error handler.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { Problem } from '../../shared/core/errors.ts';
import { AuthError } from '../../shared/auth/jwt.ts';
import type { ApiDeps, Principal } from './deps.ts';
import { problemType } from './problems.ts';

type Handler = (req: Request, res: Response) => Promise<void>;
export const route =
  (h: Handler): RequestHandler =>
  (req, res, next) =>
    h(req, res).catch(next);

const AUTH_PROBLEMS = {
  401: ['unauthorized', 'Unauthorized', 'a valid credential (Authorization: Bearer <API key or ID token>) is required'],
  403: ['forbidden', 'Forbidden', 'this account is not allowed on this server'],
  503: ['auth-unavailable', 'Unavailable', 'credentials cannot be checked right now; try again'],
} as const;

async function resolveCaller(deps: ApiDeps, req: Request, res: Response): Promise<Principal> {
  try {
    return await deps.authenticate(req.headers.authorization);
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    const [slug, title, detail] = AUTH_PROBLEMS[err.status];
    if (err.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    throw new Problem(err.status, problemType(slug), title, detail);
  }
}

/** The caller of a request that passed admission. */
export const principalOf = (res: Response): Principal => res.locals.principal as Principal;

/** Auth, the credential's scope, then rate limiting per user; every write is logged with its caller. */
async function admit(deps: ApiDeps, audit: ApiDeps['logger'], req: Request, res: Response): Promise<void> {
  const principal = await resolveCaller(deps, req, res);
  res.locals.principal = principal;
  // Writes start captures and are limited tightly; reads (status polling) get their own, larger budget.
  const write = req.method !== 'GET' && req.method !== 'HEAD';
  if (write && principal.scope !== 'write')
    throw new Problem(403, problemType('insufficient-scope'), 'Forbidden', 'this API key may only read');
  if (write) {
    res.on('finish', () =>
      audit.info(
        {
          userId: principal.userId,
          keyId: principal.keyId ?? null,
          kind: principal.kind,
          method: req.method,
          path: req.path,
          status: res.statusCode,
        },
        'write',
      ),
    );
  }
  const limit = write ? deps.config.RATE_LIMIT_PER_MINUTE : deps.config.READ_RATE_LIMIT_PER_MINUTE;
  // Per user, never per client address: two addresses of one person share a budget, and no header picks it.
  await withinLimit(deps, res, `api:${write ? 'w' : 'r'}:user:${principal.userId}`, limit, write ? 'writes' : 'reads');
}

/** Counts one hit of `key` against `limit` a minute (0: no limit); over it, a 429 with Retry-After. */
export async function withinLimit(
  deps: Pick<ApiDeps, 'rateLimiter'>,
  res: Response,
  key: string,
  limit: number,
  what: string,
): Promise<void> {
  if (!deps.rateLimiter || limit <= 0) return;
  const r = await deps.rateLimiter.hit(key, limit, 60);
  if (r.allowed) return;
  res.setHeader('Retry-After', String(Math.max(1, Math.ceil(r.retryAfterSeconds))));
  throw new Problem(429, problemType('rate-limited'), 'Too many requests', `the limit is ${limit} ${what} per minute`);
}

export function admission(deps: ApiDeps): RequestHandler {
  // One child logger for the app, not one per write (pino serializes a child's bindings when it is made).
  const audit = deps.logger.child({ component: 'api-audit' });
  return (req, res, next) => {
    admit(deps, audit, req, res).then(() => next(), next);
  };
}

/** `json` always parses (whatever the content type); `optionalJson` lets a bodiless POST through as `{}`. */
export function bodyParsers(deps: ApiDeps): { json: RequestHandler; optionalJson: RequestHandler } {
  const json = express.json({ limit: deps.config.MAX_BODY_BYTES, type: () => true, strict: true });
  const optionalJson = (req: Request, res: Response, next: NextFunction) => {
    if (!req.headers['content-length'] && !req.headers['transfer-encoding']) {
      req.body = {};
      return next();
    }
    json(req, res, next);
  };
  return { json, optionalJson };
}
