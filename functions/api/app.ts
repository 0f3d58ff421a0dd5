// The HTTP API (functions/api): submit, status, search, download, retry, delete, health.
// createApp(deps) builds the Express app that the Functions Framework entry point and the embedded mode serve.
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../shared/db/types.ts';
import { createArticle, deleteArticle, findArticle, listArticles } from '../../shared/db/articles.ts';
import { findArtifact, listArtifacts, resetForRetry } from '../../shared/db/artifacts.ts';
import { findSummary } from '../../shared/db/summaries.ts';
import {
  FORMATS,
  FORMAT_FILES,
  extensionFor,
  isArtifactFormat,
  isFormat,
  type Format,
} from '../../shared/core/formats.ts';
import { PermanentError, Problem } from '../../shared/core/errors.ts';
import type { Logger } from '../../shared/core/logger.ts';
import { NotFoundError, type BlobStore, type Publisher, type RateLimiter } from '../../shared/core/ports.ts';
import { checkHost, parseTargetUrl, type GuardOptions } from '../../shared/net/ssrf.ts';
import { normalizeUrl } from '../../shared/core/url.ts';
import { publishJobs } from '../../shared/jobs/publish.ts';
import { announceChange } from '../../shared/jobs/article-changed.ts';
import { articleJson, articleListItem, links } from './serialize.ts';
import { badRequest, conflict, errorHandler, notFound, problemType, sendProblem } from './problems.ts';
import { openApiDocument } from './openapi.ts';

export interface Principal {
  id: string;
  kind: 'api-key' | 'google' | 'anonymous';
}

export interface ApiDeps {
  db: Kysely<Database>;
  blobs: BlobStore;
  publisher: Publisher;
  logger: Logger;
  guard: GuardOptions;
  config: {
    DEDUP_WINDOW_SECONDS: number;
    MAX_BODY_BYTES: number;
    RATE_LIMIT_PER_MINUTE: number;
    READ_RATE_LIMIT_PER_MINUTE: number;
    SIGNED_URL_TTL_SECONDS: number;
    LEASE_SECONDS: number;
  };
  /** Resolves the caller from the request; null means unauthenticated. Absent: no auth (embedded, loopback). */
  authenticate?: (req: Request) => Promise<Principal | null>;
  rateLimiter?: RateLimiter;
  /** Summary regeneration (functions/summarize); absent when summaries are not wired. */
  summaries?: {
    request(articleId: string, opts: { force: boolean }): Promise<'dispatched' | 'duplicate' | 'unchanged'>;
  };
  /** Extra readiness checks for /healthz. */
  health?: () => Promise<Record<string, unknown>>;
}

const SubmitBody = z
  .object({
    url: z
      .string({ error: 'url is required and must be a string' })
      .min(1, 'url is required')
      .max(8192, 'url is too long'),
    formats: z.array(z.string()).min(1, 'formats must not be empty').optional(),
    force: z.boolean().optional(),
  })
  .strict();

const RetryBody = z.object({ formats: z.array(z.string()).optional() }).strict();
const SummaryBody = z.object({ force: z.boolean().optional() }).strict();

const ListQuery = z.object({
  q: z.string().max(500).optional(),
  url: z.string().max(8192).optional(),
  status: z.enum(['pending', 'running', 'complete', 'partial', 'failed']).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseFormats(raw: string[] | undefined): Format[] {
  if (!raw) return [...FORMATS];
  const unknown = raw.filter((f) => !isFormat(f));
  if (unknown.length)
    throw badRequest(
      'unknown-format',
      `unknown format ${unknown.map((u) => JSON.stringify(u)).join(', ')}; known: ${FORMATS.join(', ')}`,
    );
  return [...new Set(raw as Format[])];
}

function zodProblem(err: z.ZodError, slug = 'invalid-request'): Problem {
  const issue = err.issues[0]!;
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  return badRequest(slug, `${where}${issue.message}`);
}

function encodeCursor(a: { created_at: Date | string; id: string }): string {
  return Buffer.from(JSON.stringify([new Date(a.created_at).toISOString(), a.id])).toString('base64url');
}
function decodeCursor(c: string): { createdAt: Date; id: string } {
  try {
    const [t, id] = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(t);
    if (Number.isNaN(createdAt.getTime()) || !UUID.test(id)) throw new Error('bad');
    return { createdAt, id };
  } catch {
    throw badRequest('invalid-cursor', 'the cursor is not one this API returned');
  }
}

type Handler = (req: Request, res: Response) => Promise<void>;
const route = (h: Handler) => (req: Request, res: Response, next: NextFunction) => h(req, res).catch(next);

export function createApp(deps: ApiDeps): express.Express {
  const { db, logger } = deps;
  const log = logger.child({ component: 'api' });
  const changes = { publisher: deps.publisher, logger: log };
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.set('query parser', 'simple');

  app.get(
    '/healthz',
    route(async (_req, res) => {
      await sql`select 1`.execute(db);
      res.json({ status: 'ok', ...(await deps.health?.()) });
    }),
  );
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });

  // Auth, then rate limiting per principal (or client address when anonymous).
  async function admit(req: Request, res: Response): Promise<void> {
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
  app.use((req, res, next) => {
    admit(req, res).then(() => next(), next);
  });

  const json = express.json({ limit: deps.config.MAX_BODY_BYTES, type: () => true, strict: true });
  const optionalJson = (req: Request, res: Response, next: NextFunction) => {
    if (!req.headers['content-length'] && !req.headers['transfer-encoding']) {
      req.body = {};
      return next();
    }
    json(req, res, next);
  };

  app.post(
    '/archive',
    json,
    route(async (req, res) => {
      const body = SubmitBody.safeParse(req.body);
      if (!body.success) throw zodProblem(body.error);
      const formats = parseFormats(body.data.formats);
      let url: URL;
      try {
        url = parseTargetUrl(body.data.url.trim());
        await checkHost(url.hostname, deps.guard);
      } catch (err) {
        if (err instanceof PermanentError) {
          // A name that does not resolve is accepted: the worker records it as a permanent dns_not_found failure.
          if (err.code !== 'dns_not_found') throw badRequest(err.code.replace(/_/g, '-'), err.message);
          url = parseTargetUrl(body.data.url.trim());
        } else {
          log.warn({ err }, 'resolver error at submission; accepting');
          url = parseTargetUrl(body.data.url.trim());
        }
      }
      const idem = req.get('Idempotency-Key');
      if (idem !== undefined && (idem.length === 0 || idem.length > 200))
        throw badRequest('invalid-idempotency-key', 'Idempotency-Key must be 1 to 200 characters');
      const result = await createArticle(db, {
        id: randomUUID(),
        url: url.href,
        normalizedUrl: normalizeUrl(url),
        formats,
        idempotencyKey: idem ?? null,
        dedupWindowSeconds: deps.config.DEDUP_WINDOW_SECONDS,
        force: body.data.force ?? false,
        leaseSeconds: deps.config.LEASE_SECONDS,
      });
      if (result.kind === 'idempotency_conflict')
        throw new Problem(
          422,
          problemType('idempotency-key-reused'),
          'Unprocessable',
          'this Idempotency-Key was used for another URL',
        );
      const a = result.article;
      if (result.kind === 'created') {
        const errors = await publishJobs(deps.publisher, a.id, a.url, formats, 'submit');
        if (errors.length)
          log.error({ articleId: a.id, err: errors[0] }, 'capture publish failed; the sweeper will republish');
        await announceChange(changes, { articleId: a.id, version: Number(a.version) });
        log.info({ articleId: a.id, url: a.url, formats }, 'archive requested');
      }
      res.status(result.kind === 'created' ? 202 : 200);
      res.setHeader('Location', `/archives/${a.id}`);
      res.json({
        id: a.id,
        url: a.url,
        status: a.status,
        deduplicated: result.kind === 'deduplicated',
        ...(result.kind === 'idempotent' ? { idempotentReplay: true } : {}),
        links: links(
          '',
          a,
          result.artifacts.map((x) => x.format),
        ),
      });
    }),
  );

  async function loadArticle(id: string) {
    if (!UUID.test(id)) throw notFound();
    const a = await findArticle(db, id);
    if (!a) throw notFound();
    return a;
  }

  app.get(
    '/archives',
    route(async (req, res) => {
      const q = ListQuery.safeParse(req.query);
      if (!q.success) throw zodProblem(q.error);
      let urlFilter: string | undefined;
      if (q.data.url) {
        try {
          urlFilter = normalizeUrl(parseTargetUrl(q.data.url));
        } catch {
          throw badRequest('invalid-url', 'url must be an absolute http(s) URL');
        }
      }
      const rows = await listArticles(db, {
        q: q.data.q?.trim() || undefined,
        url: urlFilter,
        status: q.data.status,
        cursor: q.data.cursor ? decodeCursor(q.data.cursor) : undefined,
        limit: q.data.limit + 1,
      });
      const page = rows.slice(0, q.data.limit);
      res.json({
        items: page.map((a) => articleListItem('', a)),
        nextCursor: rows.length > q.data.limit ? encodeCursor(page[page.length - 1]!) : null,
      });
    }),
  );

  app.get(
    '/archives/:id',
    route(async (req, res) => {
      const a = await loadArticle(req.params.id as string);
      const [artifacts, summary] = await Promise.all([listArtifacts(db, a.id), findSummary(db, a.id)]);
      res.setHeader('ETag', `"v${a.version}"`);
      res.json(articleJson('', a, artifacts, summary));
    }),
  );

  app.get(
    '/archives/:id/artifacts/:format',
    route(async (req, res) => {
      const a = await loadArticle(req.params.id as string);
      const format = req.params.format as string;
      if (!isArtifactFormat(format)) throw badRequest('unknown-format', `unknown format ${JSON.stringify(format)}`);
      const art = await findArtifact(db, a.id, format);
      if (!art) throw notFound(`this archive has no ${format} artifact`);
      if (art.status !== 'succeeded' || !art.storage_key) {
        throw new Problem(
          409,
          problemType('artifact-not-ready'),
          'Artifact not available',
          `the ${format} artifact is ${art.status}`,
          {
            artifactStatus: art.status,
            errorCode: art.error_code,
          },
        );
      }
      const filename = `${a.id}-${FORMAT_FILES[format].file}${format === 'original' ? extensionFor(art.content_type) : ''}`;
      if (deps.blobs.signedUrl) {
        const url = await deps.blobs.signedUrl(art.storage_key, {
          expiresInSeconds: deps.config.SIGNED_URL_TTL_SECONDS,
          downloadName: filename,
        });
        res.redirect(302, url);
        return;
      }
      let stream;
      try {
        stream = await deps.blobs.get(art.storage_key);
      } catch (err) {
        if (err instanceof NotFoundError)
          throw new Problem(410, problemType('artifact-gone'), 'Gone', 'the artifact bytes are missing from storage');
        throw err;
      }
      res.setHeader('Content-Type', art.content_type ?? FORMAT_FILES[format].contentType);
      if (art.size_bytes !== null) res.setHeader('Content-Length', String(art.size_bytes));
      if (art.sha256) res.setHeader('ETag', `"${art.sha256}"`);
      res.setHeader('Content-Disposition', `inline; filename="${filename}"`);
      // Archived HTML is untrusted third-party markup: never let it run against our origin.
      res.setHeader(
        'Content-Security-Policy',
        "sandbox; default-src 'none'; img-src data: blob:; style-src 'unsafe-inline' data:; font-src data:; media-src data: blob:",
      );
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (req.method === 'HEAD') {
        stream.destroy();
        res.end();
        return;
      }
      await pipeline(stream, res);
    }),
  );

  app.post(
    '/archives/:id/retry',
    optionalJson,
    route(async (req, res) => {
      const a = await loadArticle(req.params.id as string);
      const body = RetryBody.safeParse(req.body ?? {});
      if (!body.success) throw zodProblem(body.error);
      const only = body.data.formats ? parseFormats(body.data.formats) : null;
      const { formats, transition } = await resetForRetry(db, a.id, only, deps.config.LEASE_SECONDS);
      if (formats.length === 0) throw conflict('nothing-to-retry', 'no failed or skipped artifact to retry');
      const errors = await publishJobs(deps.publisher, a.id, a.url, formats, 'retry');
      if (errors.length)
        log.error({ articleId: a.id, err: errors[0] }, 'retry publish failed; the sweeper will republish');
      if (transition) await announceChange(changes, { articleId: a.id, version: transition.version });
      res
        .status(202)
        .json({ id: a.id, status: transition?.status ?? a.status, retried: formats, links: links('', a, formats) });
    }),
  );

  app.post(
    '/archives/:id/summary',
    optionalJson,
    route(async (req, res) => {
      const a = await loadArticle(req.params.id as string);
      const body = SummaryBody.safeParse(req.body ?? {});
      if (!body.success) throw zodProblem(body.error);
      if (!deps.summaries)
        throw new Problem(503, problemType('summaries-unavailable'), 'Unavailable', 'summaries are not configured');
      let outcome;
      try {
        outcome = await deps.summaries.request(a.id, { force: body.data.force ?? false });
      } catch (err) {
        if (err instanceof PermanentError && err.code === 'not_found') throw notFound();
        if (err instanceof PermanentError && err.code === 'readable_missing')
          throw conflict('no-readable-text', 'the archive has no readable text to summarize yet');
        throw err;
      }
      res.status(outcome === 'dispatched' ? 202 : 200).json({ id: a.id, summary: outcome });
    }),
  );

  app.delete(
    '/archives/:id',
    route(async (req, res) => {
      const a = await loadArticle(req.params.id as string);
      await deleteArticle(db, a.id);
      await deps.blobs.deletePrefix(`articles/${a.id}/`);
      await announceChange(changes, { articleId: a.id, version: Number(a.version) + 1, deleted: true });
      log.info({ articleId: a.id }, 'archive deleted');
      res.status(204).end();
    }),
  );

  app.use((req, res) =>
    sendProblem(res, new Problem(404, problemType('not-found'), 'Not found', `no route ${req.method} ${req.path}`)),
  );
  app.use(errorHandler(log));
  return app;
}

export type { Format };
