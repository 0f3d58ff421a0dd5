// POST /archive: validate the URL (SSRF guard), write the article and its pending artifacts in one
// transaction (grouped with concurrent submissions), publish the capture jobs and announce the change. Deduplication and Idempotency-Key live in the repo.
import { randomUUID } from 'node:crypto';
import type { RequestHandler, Router } from 'express';
import { createArticleBatcher } from '../../../shared/db/article-batch.ts';
import { PermanentError, Problem } from '../../../shared/core/errors.ts';
import { checkHost, parseTargetUrl } from '../../../shared/net/ssrf.ts';
import { normalizeUrl } from '../../../shared/core/url.ts';
import { publishJobs } from '../../../shared/jobs/publish.ts';
import { announceChange } from '../../../shared/jobs/article-changed.ts';
import type { RouteContext } from '../deps.ts';
import { principalOf, route } from '../middleware.ts';
import { problem, type Operation } from '../openapi.ts';
import { badRequest, problemType } from '../problems.ts';
import { parseFormats, zodProblem } from '../requests.ts';
import { links } from '../serialize.ts';
import { IdempotencyKey, SubmitAnswer, SubmitBody, SubmitHeaders, type SubmitAnswerJson } from '../schemas.ts';

const location = { Location: { description: 'The archive: /archives/{id}', required: true } };

export const submitOperations: Operation[] = [
  {
    method: 'post',
    path: '/archive',
    summary: 'Archive a URL (formats default to all; force captures again despite a recent snapshot)',
    params: { header: SubmitHeaders },
    body: { schema: SubmitBody, required: true },
    responses: {
      202: { description: 'Accepted: a new snapshot, capture started', json: SubmitAnswer, headers: location },
      200: { description: 'Deduplicated, or an idempotent replay', json: SubmitAnswer, headers: location },
      400: problem('Bad input: malformed JSON, unknown field or format, blocked address, bad Idempotency-Key'),
      422: problem('The Idempotency-Key was used for another URL'),
    },
  },
];

/** Parses and guards the target URL. A name that does not resolve is accepted: the worker records it as dns_not_found. */
export async function targetUrl(ctx: RouteContext, raw: string): Promise<URL> {
  try {
    const url = parseTargetUrl(raw.trim());
    await checkHost(url.hostname, ctx.deps.guard);
    return url;
  } catch (err) {
    if (err instanceof PermanentError) {
      if (err.code !== 'dns_not_found') throw badRequest(err.code.replace(/_/g, '-'), err.message);
    } else {
      ctx.log.warn({ err }, 'resolver error at submission; accepting');
    }
    return parseTargetUrl(raw.trim());
  }
}

export function submitRoutes(app: Router, ctx: RouteContext, json: RequestHandler): void {
  const { deps, log } = ctx;
  // Group commit: submissions arriving together share one transaction (shared/db/article-batch.ts).
  const create = createArticleBatcher(deps.db);
  app.post(
    '/archive',
    json,
    route(async (req, res) => {
      const body = SubmitBody.safeParse(req.body);
      if (!body.success) throw zodProblem(body.error);
      const formats = parseFormats(body.data.formats);
      const url = await targetUrl(ctx, body.data.url);
      const idem = req.get('Idempotency-Key');
      if (idem !== undefined && !IdempotencyKey.safeParse(idem).success)
        throw badRequest('invalid-idempotency-key', 'Idempotency-Key must be 1 to 200 characters');
      const caller = principalOf(res);
      const result = await create({
        id: randomUUID(),
        ownerId: caller.userId,
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
        // Both publishes at once: article-changed only tells the replica to read the committed row, so it need not
        // wait for the capture jobs (each keeps its own failure policy; neither fails the answer).
        const [errors] = await Promise.all([
          publishJobs(deps.publisher, a.id, a.url, formats, 'submit'),
          announceChange(ctx.changes, { articleId: a.id, version: Number(a.version) }),
        ]);
        if (errors.length)
          log.error({ articleId: a.id, err: errors[0] }, 'capture publish failed; the sweeper will republish');
        log.info({ articleId: a.id, url: a.url, formats, userId: caller.userId }, 'archive requested');
      }
      const answer: SubmitAnswerJson = {
        id: a.id,
        url: a.url,
        status: a.status,
        deduplicated: result.kind === 'deduplicated',
        ...(result.kind === 'idempotent' ? { idempotentReplay: true as const } : {}),
        links: links(
          '',
          a,
          result.artifacts.map((x) => x.format),
        ),
      };
      res.status(result.kind === 'created' ? 202 : 200);
      res.setHeader('Location', `/archives/${a.id}`);
      res.json(answer);
    }),
  );
}
