// HTTP errors as application/problem+json (RFC 9457) with stable types; 5xx bodies never echo internals.
import type { NextFunction, Request, Response } from 'express';
import { Problem } from '../../shared/core/errors.ts';
import type { Logger } from '../../shared/core/logger.ts';

export const problemType = (slug: string) => `urn:htbase:problem:${slug}`;

export const badRequest = (slug: string, detail: string, extra?: Record<string, unknown>) =>
  new Problem(400, problemType(slug), 'Bad request', detail, extra);
export const notFound = (detail = 'no such archive') => new Problem(404, problemType('not-found'), 'Not found', detail);
export const conflict = (slug: string, detail: string) => new Problem(409, problemType(slug), 'Conflict', detail);

export function sendProblem(res: Response, p: Problem): void {
  if (res.headersSent) return;
  res
    .status(p.status)
    .type('application/problem+json')
    .json({ type: p.type, title: p.title, status: p.status, detail: p.detail, ...p.extra });
}

/** Turns body-parser and route errors into problems; anything unexpected is logged and answered generically. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof Problem) return sendProblem(res, err);
    const e = err as { type?: string; status?: number; expose?: boolean; message?: string };
    // 400 rather than 413: the contract treats an oversized body as bad input like any other.
    if (e?.type === 'entity.too.large')
      return sendProblem(res, badRequest('body-too-large', 'the request body is too large'));
    if (e?.type === 'entity.parse.failed')
      return sendProblem(res, badRequest('malformed-json', 'the request body is not valid JSON'));
    if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
      return sendProblem(res, badRequest('bad-encoding', 'unsupported body encoding'));
    if (e?.status && e.status < 500 && e.expose)
      return sendProblem(res, new Problem(e.status, problemType('bad-request'), 'Bad request', e.message));
    logger.error({ err, method: req.method, path: req.path }, 'request failed');
    sendProblem(
      res,
      new Problem(500, problemType('internal'), 'Internal error', 'something went wrong on our side; try again'),
    );
  };
}
