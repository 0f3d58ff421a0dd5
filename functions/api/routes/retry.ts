// POST /archives/{id}/retry: reset the failed or skipped artifacts (all, or those named) to pending and
// republish only them; a lost publish stays pending for the sweeper.
import type { RequestHandler, Router } from 'express';
import { resetForRetry } from '../../../shared/db/artifacts.ts';
import { publishJobs } from '../../../shared/jobs/publish.ts';
import { announceChange } from '../../../shared/jobs/article-changed.ts';
import type { RouteContext } from '../deps.ts';
import { principalOf, route } from '../middleware.ts';
import { problem, type Operation } from '../openapi.ts';
import { conflict } from '../problems.ts';
import { loadArticle, ownerScope, parseFormats, zodProblem } from '../requests.ts';
import { links } from '../serialize.ts';
import { ArchivePath, RetryAnswer, RetryBody, type RetryAnswerJson, OwnerQuery } from '../schemas.ts';

export const retryOperations: Operation[] = [
  {
    method: 'post',
    path: '/archives/{id}/retry',
    summary: 'Retry the failed or skipped artifacts (all of them, or the formats named)',
    params: { path: ArchivePath, query: OwnerQuery },
    body: { schema: RetryBody, required: false },
    responses: {
      202: { description: 'Retry started for the formats listed in retried', json: RetryAnswer },
      400: problem('Bad body: malformed JSON, unknown field or format'),
      404: problem('No such archive'),
      409: problem('Nothing to retry: no failed or skipped artifact'),
    },
  },
];

export function retryRoutes(app: Router, ctx: RouteContext, optionalJson: RequestHandler): void {
  const { deps, log } = ctx;
  app.post(
    '/archives/:id/retry',
    optionalJson,
    route(async (req, res) => {
      const a = await loadArticle(deps.db, req.params.id as string, await ownerScope(deps.db, req, principalOf(res)));
      const body = RetryBody.safeParse(req.body ?? {});
      if (!body.success) throw zodProblem(body.error);
      const only = body.data.formats ? parseFormats(body.data.formats) : null;
      const { formats, transition } = await resetForRetry(deps.db, a.id, only, deps.config.LEASE_SECONDS);
      if (formats.length === 0) throw conflict('nothing-to-retry', 'no failed or skipped artifact to retry');
      const errors = await publishJobs(deps.publisher, a.id, a.url, formats, 'retry');
      if (errors.length)
        log.error({ articleId: a.id, err: errors[0] }, 'retry publish failed; the sweeper will republish');
      if (transition) await announceChange(ctx.changes, { articleId: a.id, version: transition.version });
      const answer: RetryAnswerJson = {
        id: a.id,
        status: transition?.status ?? a.status,
        retried: formats,
        links: links('', a, formats),
      };
      res.status(202).json(answer);
    }),
  );
}
