// Request plumbing shared by the routes: admission (auth, then rate limiting per caller), JSON body parsing
// with the configured size limit, and the async handler wrapper that hands rejections to the error handler.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { Problem } from '../../shared/core/errors.ts';
import type { ApiDeps, Principal } from './deps.ts';
import { problemType } from './problems.ts';

type Handler = (req: Request, res: Response) => Promise<void>;
export const route =
  (h: Handler): RequestHandler =>
  (req, res, next) =>
    h(req, res).catch(next);

/** Auth, then rate limiting per principal (or client address when anonymous). */
async function admit(deps: ApiDeps, req: Request, res: Response): Promise<void> {
  let principal: Principal = { id: `ip:${req.ip}`, kind: 'anonymous' };
  if (deps.authenticate) {
    const p = await deps.authenticate(req);
    if (!p) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new Problem(
        401,
        problemType('unauthorized'),
        'Unauthorized',
        'a valid API key (Authorization: Bearer …) is required',
      );
    }
    principal = p;
  }
  res.locals.principal = principal;
  // Writes start captures and are limited tightly; reads (status polling) get their own, larger budget.
  const write = req.method !== 'GET' && req.method !== 'HEAD';
  const limit = write ? deps.config.RATE_LIMIT_PER_MINUTE : deps.config.READ_RATE_LIMIT_PER_MINUTE;
  if (deps.rateLimiter && limit > 0) {
    const r = await deps.rateLimiter.hit(`api:${write ? 'w' : 'r'}:${principal.id}`, limit, 60);
    if (!r.allowed) {
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(r.retryAfterSeconds))));
      throw new Problem(
        429,
        problemType('rate-limited'),
        'Too many requests',
        `the limit is ${limit} ${write ? 'writes' : 'reads'} per minute`,
      );
    }
  }
}

export function admission(deps: ApiDeps): RequestHandler {
  return (req, res, next) => {
    admit(deps, req, res).then(() => next(), next);
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
